"""A case's life, the same for every case type: it opens with its clocks, each decision
moves it, it is resolved (by a decision, or by a person carrying one out), and a clock it
misses is recorded as a breach.

    opened -> waiting (for the vendor, ops's verdict, CX) -> decided
           -> awaiting_approval while a payout waits for finance -> resolved
    or     -> escalated (to a manager) -> the manager's decision -> resolved

A case is never left in a state its decision in force contradicts: after every decision
:func:`after_decision` sets the status, the ticket's status and the clocks from it. The
service-level clocks (acknowledge within first_response_hours, resolve within
resolution_hours) hold for every case alike, so reports can count them.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import customers
from app.cases import deadline_repository as deadlines
from app.cases import repository as cases
from app.cases.case_type import CaseType, Stage, Status
from app.cases.escalations import escalate
from app.cases.locks import Locked
from app.cases.tickets import set_ticket
from app.db import clock
from app.decisions import repository as decision_rows
from app.events import service as events
from app.ids import new_id
from app.models import Case, Deadline, Decision
from app.observability import metrics
from app.observability.context import on_commit
from app.rules_engine.engine import RulesEngine

VENDOR_RESPONSE = "vendor_response"
RESOLUTION = "resolution"
# The clocks of the work on a case (what sort=due_at orders by); the database keeps each
# case's soonest running one in cases.due_at (migration 0013).
WORK = (VENDOR_RESPONSE, RESOLUTION)
# Who hears of a case that breached its resolution clock.
BREACH_ESCALATION = "ops_manager"


async def open_case(
    session: AsyncSession,
    engine: RulesEngine,
    case: Case,
    case_type: CaseType,
    **opened: Any,
) -> datetime:
    """Stores a new case and starts what every case has: the ``case.opened`` event (with
    ``opened`` as its data) and the resolution deadline; a customer-facing case is also
    acknowledged to the customer and its updates scheduled (app.cases.customers).

    Returns the opening time (the transaction's database time), which the case type's own
    clocks count from.
    """
    now = await clock.now(session)
    await cases.add(session, case)
    await events.emit(session, "case.opened", case=case, case_type=case.case_type, **opened)
    due = now + timedelta(hours=engine.policy.resolution_hours)
    await deadlines.add(
        session, Deadline(id=new_id("dl"), case_id=case.id, kind=RESOLUTION, due_at=due)
    )
    await customers.acknowledge(session, engine, case, case_type, now, due)
    return now


def pending_payouts(decision: Decision) -> list[dict[str, Any]]:
    return [
        action
        for action in decision.actions
        if action["type"] == "platform_payout" and action.get("requires_approval")
    ]


async def after_decision(
    session: AsyncSession,
    engine: RulesEngine,
    locked: Locked,
    case_type: CaseType,
    decision: Decision,
) -> None:
    """Moves the case to where its new decision leaves it, and its clocks with it."""
    case = locked.case
    status = case_type.status_after(decision)
    if status == Status.RESOLVED and pending_payouts(decision):
        status = Status.AWAITING_APPROVAL
    if decision.stage == Stage.PROPOSED or status in (
        Status.OPEN,
        Status.PENDING_RESOLUTION,
        Status.PENDING_REVIEW,
    ):
        ticket_status = status.value
    elif status == Status.AWAITING_APPROVAL:
        ticket_status = status.value
    else:
        ticket_status = str(decision.outcome)
    if decision.ticket:
        set_ticket(case, **decision.ticket)
    if decision.stage != Stage.PROPOSED:
        case.outcome = decision.outcome
    if case.status == Status.AWAITING_VENDOR and status != Status.AWAITING_VENDOR:
        # Nothing more is awaited of the vendor; an answer in time settled it as met.
        await settle_running(session, case, VENDOR_RESPONSE, "cancelled")
    if status == Status.RESOLVED:
        await resolve(session, engine, case, case_type, ticket_status, decision=decision)
        await case_type.on_resolved(session, locked, decision)
        return
    if case.resolved_at is not None:
        # A decision reopened it (an override whose payout now waits for finance, say): it
        # is no longer resolved, and the customer hears from us again until it is.
        case.resolved_at = None
        await events.emit(session, "case.reopened", case=case, status=status.value)
        await customers.reopened(session, engine, case, case_type)
    case.status = status.value
    set_ticket(case, status=ticket_status)


async def settle_running(session: AsyncSession, case: Case, kind: str, outcome: str) -> None:
    deadline = await deadlines.running(session, case.id, kind)
    if deadline is not None:
        deadline.settle(outcome, await clock.now(session))


async def resolve(
    session: AsyncSession,
    engine: RulesEngine,
    case: Case,
    case_type: CaseType,
    ticket_status: str | None,
    *,
    decision: Decision | None = None,
) -> None:
    """The case is resolved (the ticket shows ``ticket_status``), the customer of a
    customer-facing case is told how (``decision``: the one in force, fetched when not
    given), and no clock of it runs on: a resolution in time settles the resolution clock
    as met, a late one records the breach (without an escalation: the case is over), and any
    other clock is cancelled."""
    now = await clock.now(session)
    case.status = Status.RESOLVED.value
    case.resolved_at = now
    set_ticket(case, status=ticket_status)
    await events.emit(session, "case.resolved", case=case, outcome=case.outcome)
    # A clock a watcher has claimed at this moment is not returned; it sees the case
    # resolved when it fires and settles it the same way.
    for deadline in await deadlines.all_running(session, case.id):
        if deadline.kind != RESOLUTION:
            deadline.settle("cancelled", now)
        elif now <= deadline.due_at:
            deadline.settle("met", now)
        else:
            # Counted here; a breach the watcher finds is counted by the watcher.
            on_commit(metrics.DEADLINES_MISSED.labels(RESOLUTION).inc)
            await breach(session, case, deadline, now, by="resolution")
    if decision is None and case.current_decision_id is not None:
        decision = await decision_rows.get(session, case.current_decision_id)
    await customers.tell_outcome(session, engine, case, case_type, decision)


async def resolve_by_hand(
    session: AsyncSession,
    engine: RulesEngine,
    locked: Locked,
    case_type: CaseType,
    actor: str,
    name: str | None,
    note: str,
) -> None:
    """A person finished the case (ops carried out a discrepancy's resolution, CX followed up
    a complaint): the note goes on the ticket, the case is resolved and the customer told."""
    case = locked.case
    case.notes = [*case.notes, {"text": note, "by": actor, "name": name}]
    await resolve(session, engine, case, case_type, Status.RESOLVED.value)


async def resolution_missed(
    session: AsyncSession, locked: Locked, deadline: Deadline, watcher: str
) -> bool:
    """Fires a claimed resolution deadline. Returns whether the case breached it.

    An unresolved case is escalated to the ops manager, once: a case already there (an
    unreachable vendor's dispute) is not escalated again.
    """
    case = locked.case
    if case.resolved_at is not None and case.resolved_at <= deadline.due_at:
        # Resolved in time while this watcher held the clock.
        deadline.settle("met", case.resolved_at)
        return False
    await breach(session, case, deadline, await clock.now(session), by=watcher)
    return True


async def breach(
    session: AsyncSession, case: Case, deadline: Deadline, now: datetime, *, by: str
) -> None:
    """The case missed its resolution clock: recorded once, and an unresolved case goes to
    the ops manager (once: a case already there is not sent again)."""
    deadline.settle("missed", now)
    escalated = case.status != Status.RESOLVED and await escalate(
        session, case, BREACH_ESCALATION, reason="resolution_breached"
    )
    await events.emit(
        session,
        "case.breached",
        case=case,
        kind=RESOLUTION,
        due_at=deadline.due_at.isoformat(),
        resolved_at=case.resolved_at.isoformat() if case.resolved_at else None,
        escalated_to=BREACH_ESCALATION if escalated else None,
        by=by,
    )
