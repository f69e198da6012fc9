"""A case's life every case type shares: opening with its clocks, resolving, breaching; and
reading cases as clients see them.

Every case type opens through :func:`open_case` and resolves through :func:`resolve`, so the
service-level clocks of 002_88f20d6ee5b80bb7.txt (acknowledge within first_response_hours,
resolve within resolution_hours) hold for every case alike, and reports can count them.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import new_id
from app.models import Case, CaseFeedback, Deadline, Decision
from app.repositories import cases, clock, deadlines, decisions, feedback, fresh, vendors
from app.rules_engine.engine import RulesEngine
from app.rules_engine.policy import Policy
from app.schemas.cases import CaseOut, DeadlineOut, FeedbackOut
from app.schemas.decisions import DecisionOut
from app.services import effects, events
from app.services.errors import NotFound

# The kind of deadline a payout dispute gives the vendor to answer.
VENDOR_RESPONSE = "vendor_response"
# The kind of deadline every case has to be resolved by (policy resolution_hours).
RESOLUTION = "resolution"
# Cases a customer raised, or that concern the customer's money: the customer is told at once
# that the case is being handled. A fail reason is the vendor's, and the customer is not told.
CUSTOMER_FACING = frozenset({"payout_dispute", "payment_discrepancy", "pickup_complaint"})
# Who hears of a case that breached its resolution clock.
BREACH_ESCALATION = "ops_manager"


async def get(session: AsyncSession, case_id: str, *, for_update: bool = False) -> Case:
    case = await cases.get(session, case_id, for_update=for_update)
    if case is None:
        raise NotFound(f"No case {case_id}.")
    return case


async def open_case(
    session: AsyncSession,
    case: Case,
    policy: Policy,
    *,
    rules_acknowledge: bool = False,
    **opened: Any,
) -> datetime:
    """Stores a new case and starts what every case has: the ``case.opened`` event (with
    ``opened`` as its data), the resolution deadline, and, for a customer-facing case, the
    customer's acknowledgement through the outbox, recorded as ``acknowledged_at``.
    ``rules_acknowledge``: the case type's rule table sends its own worded acknowledgement
    in this transaction (pickup complaints), so none is sent here; its time is still recorded.

    Returns the opening time (the transaction's database time), which the case type's own
    clocks count from.
    """
    now = await clock.now(session)
    customer_facing = case.case_type in CUSTOMER_FACING
    if customer_facing:
        # Sent in the transaction that opens the case: acknowledged when it is logged, far
        # inside first_response_hours.
        case.acknowledged_at = now
    await cases.add(session, case)
    await events.emit(session, "case.opened", case=case, case_type=case.case_type, **opened)
    due = now + timedelta(hours=policy.resolution_hours)
    await deadlines.add(
        session, Deadline(id=new_id("dl"), case_id=case.id, kind=RESOLUTION, due_at=due)
    )
    if customer_facing and not rules_acknowledge:
        await events.emit(
            session,
            "notification.requested",
            case=case,
            audience="customer",
            template=f"{case.case_type}_acknowledged",
            # The seed asks the acknowledgement to give an estimated time of resolution.
            resolution_due_at=due.isoformat(),
        )
    return now


async def resolve(
    session: AsyncSession, case: Case, outcome: str | None, now: datetime | None = None
) -> None:
    """The case is resolved with ``outcome`` (shown on its ticket); a resolution in time
    settles the resolution clock as met.

    A late one leaves the clock to the watcher, which records the breach: a breach is
    recorded in one place, however the case ended.
    """
    now = now or await clock.now(session)
    case.status = "resolved"
    case.resolved_at = now
    case.ticket = {**case.ticket, "status": outcome}
    await events.emit(session, "case.resolved", case=case, outcome=outcome)
    # None when a watcher has claimed it at this moment; it then sees the case resolved.
    deadline = await deadlines.running(session, case.id, RESOLUTION)
    if deadline is not None and now <= deadline.due_at:
        deadline.settle("met", now)


async def resolve_by_hand(
    session: AsyncSession, case: Case, actor: str, note: str, *, template: str
) -> None:
    """A person finished the case (ops carried out a discrepancy's resolution, CX followed up
    a complaint): the note goes on the ticket, the case is resolved and the customer told."""
    case.notes = [*case.notes, {"text": note, "by": actor}]
    await resolve(session, case, "resolved")
    # 002: "Once the issue is resolved, notify the customer immediately and inform them of
    # the actions taken".
    await events.emit(
        session,
        "notification.requested",
        case=case,
        audience="customer",
        template=template,
        resolution=case.outcome,
    )


async def resolution_missed(
    session: AsyncSession, _: RulesEngine, deadline: Deadline, watcher: str
) -> bool:
    """Fires a claimed resolution deadline. Returns whether the case breached it.

    An unresolved case is escalated to the ops manager, once: a case already there (an
    unreachable vendor's dispute) is not escalated again.
    """
    unlocked = await get(session, deadline.case_id)
    if unlocked.vendor_id is not None:
        # Vendor before case, as every decision locks them: the watcher fires its batch in
        # vendor order, and a case locked first could wait in a cycle with a request.
        await vendors.lock(session, unlocked.vendor_id)
    case = await get(session, deadline.case_id, for_update=True)
    if case.resolved_at is not None and case.resolved_at <= deadline.due_at:
        # Resolved in time while this watcher held the clock.
        deadline.settle("met", case.resolved_at)
        return False
    deadline.settle("missed", await clock.now(session))
    escalated = case.resolved_at is None and await effects.escalate(
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
        by=watcher,
    )
    return True


async def find(
    session: AsyncSession,
    *,
    case_type: str | None,
    status: str | None,
    vendor_id: str | None,
    order_id: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[CaseOut]:
    """Cases matching every given filter, newest first, from before ``after``."""
    query = cases.listing(
        case_type=case_type,
        status=status,
        vendor_id=vendor_id,
        order_id=order_id,
        after=after,
        limit=limit,
    )
    return await view_many(session, await cases.page(session, query))


async def view(session: AsyncSession, case: Case) -> CaseOut:
    return (await view_many(session, [case]))[0]


async def view_many(session: AsyncSession, rows: Sequence[Case]) -> list[CaseOut]:
    """The cases with their deadlines, every decision and feedback: three queries for any
    number, and none for cases this transaction opened, which hold only what it added."""
    await session.flush()  # the server's defaults (times) of what this transaction added
    history: dict[str, list[Decision]] = defaultdict(list)
    clocks: dict[str, list[Deadline]] = defaultdict(list)
    given: dict[str, CaseFeedback] = {}
    older = []
    for case in rows:
        opened = fresh.of(session, case.id)
        if opened is None:
            older.append(case.id)
            continue
        # In the order the queries below give.
        history[case.id] = sorted(opened.decisions, key=lambda d: (d.decided_at, d.id))
        clocks[case.id] = sorted(opened.deadlines, key=lambda d: (d.due_at, d.id))
    if older:
        given = {f.case_id: f for f in await feedback.for_cases(session, older)}
        for decision in await decisions.for_cases(session, older):
            history[decision.case_id].append(decision)
        for deadline in await cases.deadlines_of(session, older):
            clocks[deadline.case_id].append(deadline)
    return [_out(case, history[case.id], clocks[case.id], given.get(case.id)) for case in rows]


def _out(
    case: Case, history: list[Decision], clocks: list[Deadline], given: CaseFeedback | None
) -> CaseOut:
    decided = [DecisionOut.model_validate(d) for d in history]

    def due(kind: str) -> datetime | None:
        # The latest clock of the kind: the one that runs, or ran last.
        return max((d.due_at for d in clocks if d.kind == kind), default=None)

    return CaseOut(
        id=case.id,
        case_type=case.case_type,
        order_id=case.order_id,
        vendor_id=case.vendor_id,
        status=case.status,
        ticket=case.ticket,
        details=case.details,
        deadlines=[DeadlineOut.model_validate(d) for d in clocks],
        vendor_response_due_at=due(VENDOR_RESPONSE),
        resolution_due_at=due(RESOLUTION),
        escalations=case.escalations,
        notes=case.notes,
        decision=next((d for d in decided if d.id == case.current_decision_id), None),
        history=decided,
        feedback=FeedbackOut.model_validate(given) if given else None,
        created_at=case.created_at,
        updated_at=case.updated_at,
        acknowledged_at=case.acknowledged_at,
        resolved_at=case.resolved_at,
    )
