"""Keeping the customer informed of a customer-facing case (docs/cases.md).

The customer hears three things, each a ``notification.requested`` event in the transaction
that makes it true, with the words of the case type's rule table (its ``customer:`` texts):

- the acknowledgement, when the case opens, with the time it should be resolved by;
- an update every ``customer_update_hours`` while the case stays open: a clock of kind
  ``customer_update`` that the deadline watcher fires and starts again, so no update
  depends on a process staying up;
- the outcome, when the case is resolved, saying what was done: what the platform paid,
  what the vendor was found to have paid, why a deduction stands. It is sent at resolution,
  not at the decision: a payout waiting for finance is not promised before it is approved.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import deadline_repository as deadlines
from app.cases.case_type import CaseType
from app.cases.locks import Locked
from app.db import clock
from app.effects import repository as ledger
from app.events import service as events
from app.ids import new_id
from app.models import Case, Deadline, Decision
from app.rules_engine.engine import RulesEngine
from app.rules_engine.model import CustomerTexts
from app.rules_engine.templates import render_template

CUSTOMER_UPDATE = "customer_update"
AUDIENCE = "customer"
# Customers read times in India's time, which has no daylight saving.
IST = timezone(timedelta(hours=5, minutes=30), "IST")


def texts(engine: RulesEngine, case_type: CaseType) -> CustomerTexts | None:
    """The customer's texts of a case type; None when its customers hear nothing."""
    if not case_type.customer_facing:
        return None
    return engine.tables[case_type.table].customer


def shown_time(moment: datetime) -> str:
    """2026-12-03T08:30Z -> "3 Dec 2026, 14:00 IST": how the customer reads a time."""
    local = moment.astimezone(IST)
    return f"{local.day} {local:%b %Y, %H:%M} IST"


def _about(case: Case, resolution_due: datetime | None) -> dict[str, Any]:
    lead = case.details.get("lead_id")
    return {
        "order_id": case.order_id or (lead if isinstance(lead, str) else ""),
        "resolution_due": shown_time(resolution_due) if resolution_due else "",
    }


async def _tell(session: AsyncSession, case: Case, template: str, text: str, **data: Any) -> None:
    await events.emit(
        session,
        "notification.requested",
        case=case,
        audience=AUDIENCE,
        template=template,
        text=text,
        **data,
    )


async def acknowledge(
    session: AsyncSession,
    engine: RulesEngine,
    case: Case,
    case_type: CaseType,
    now: datetime,
    resolution_due: datetime,
) -> None:
    """A new customer-facing case: acknowledged at once, and its first update scheduled."""
    told = texts(engine, case_type)
    if told is None:
        return
    # Sent in the transaction that opens the case: acknowledged when it is logged, far
    # inside first_response_hours.
    case.acknowledged_at = now
    await _tell(
        session,
        case,
        f"{case.case_type}_acknowledged",
        render_template(told.acknowledged, _about(case, resolution_due)),
        resolution_due_at=resolution_due.isoformat(),
    )
    await _schedule_update(session, engine, case, now)


async def _schedule_update(
    session: AsyncSession, engine: RulesEngine, case: Case, after: datetime
) -> None:
    due = after + timedelta(hours=engine.policy.customer_update_hours)
    await deadlines.add(
        session, Deadline(id=new_id("dl"), case_id=case.id, kind=CUSTOMER_UPDATE, due_at=due)
    )


async def reopened(
    session: AsyncSession, engine: RulesEngine, case: Case, case_type: CaseType
) -> None:
    """A resolved case is open again: its updates start again."""
    if texts(engine, case_type) is not None:
        await _schedule_update(session, engine, case, await clock.now(session))


async def update_due(
    session: AsyncSession, engine: RulesEngine, locked: Locked, deadline: Deadline, _: str
) -> bool:
    """Fires a claimed update clock: the customer hears the case is still being worked on,
    and the next update is scheduled. Never a miss: sent late is still sent."""
    from app.cases.registry import case_type_of  # the registry imports every case type

    case = locked.case
    now = await clock.now(session)
    told = texts(engine, case_type_of(case.case_type))
    if case.resolved_at is not None or told is None:
        # Resolved while this watcher held the clock: the outcome was the last word.
        deadline.settle("cancelled", now)
        return False
    deadline.settle("met", now)
    resolution = await deadlines.running(session, case.id, "resolution")
    await _tell(
        session,
        case,
        f"{case.case_type}_update",
        render_template(told.update, _about(case, resolution.due_at if resolution else None)),
        status=case.status,
    )
    await _schedule_update(session, engine, case, now)
    return False


async def tell_outcome(
    session: AsyncSession,
    engine: RulesEngine,
    case: Case,
    case_type: CaseType,
    decision: Decision | None,
) -> None:
    """The case is resolved: the customer hears how, in the text of the outcome in force,
    filled from what its decision saw and what it paid."""
    told = texts(engine, case_type)
    if told is None or case.outcome is None:
        return
    text = told.resolved.get(case.outcome)
    if text is None:
        return  # an outcome the table does not end cases with: nothing to tell
    facts: Mapping[str, Any] = decision.facts if decision is not None else {}
    await _tell(
        session,
        case,
        f"{case.case_type}_resolved",
        render_template(
            text,
            {
                **facts,
                **_about(case, None),
                "platform_paid": await _platform_paid(session, decision),
            },
        ),
        outcome=case.outcome,
    )


async def _platform_paid(session: AsyncSession, decision: Decision | None) -> int:
    if decision is None:
        return 0
    if not any(action["type"] == "platform_payout" for action in decision.actions):
        return 0  # nothing to read: the decision made no payout entry (a round trip saved)
    return sum(
        made.entry.amount or 0
        for made in await ledger.made_by(session, decision.id)
        if made.entry.kind == "platform_payout" and made.settlement in (None, "payout_approved")
    )
