"""Reading cases as clients see them: a case with its ticket, clocks, decisions, feedback.

How a case lives (opens, is decided, resolved, breached) is app.cases.lifecycle; which case
types exist, app.cases.registry.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import case_rows
from app.cases import repository as cases
from app.cases.lifecycle import RESOLUTION, VENDOR_RESPONSE
from app.cases.registry import CASE_TYPES
from app.cases.schemas import CaseOut, DeadlineOut, FeedbackOut, TicketOut
from app.cases.tickets import ticket_of
from app.db import written
from app.decisions.schemas import DecisionOut
from app.errors import NotFound
from app.models import Case, CaseFeedback, Deadline, Decision

# Cases a customer raised, or that concern the customer's money.
CUSTOMER_FACING = frozenset(name for name, kind in CASE_TYPES.items() if kind.customer_facing)


async def get(session: AsyncSession, case_id: str, *, for_update: bool = False) -> Case:
    case = await cases.get(session, case_id, for_update=for_update)
    if case is None:
        raise NotFound(f"No case {case_id}.")
    return case


async def find(session: AsyncSession, **filters: Any) -> list[CaseOut]:
    """Cases matching every given filter (app.cases.repository.listing), in its order."""
    return await view_many(session, await cases.page(session, cases.listing(**filters)))


async def view(session: AsyncSession, case: Case) -> CaseOut:
    return (await view_many(session, [case]))[0]


async def view_many(session: AsyncSession, rows: Sequence[Case]) -> list[CaseOut]:
    """The cases with their deadlines, every decision and feedback, read from the database
    (what this transaction wrote included): one statement for any number of cases.

    Two kinds of case are answered from the session instead, with what this transaction
    wrote of them (flushed first, so it carries the server's defaults): a case it opened,
    whose every decision and clock was added here and on which nobody can have given
    feedback yet, and a case whose rows it has read already (app.cases.case_rows: a decision
    of a case that exists reads them with its running clocks). Only a customer-facing case
    takes feedback (app.cases.feedback), so no other's is read or shown.
    """
    await session.flush()  # what this transaction added, with the server's defaults (times)
    opened = {row.id for row in written.rows(session) if isinstance(row, Case)}
    # Cases this transaction read the rows of (app.cases.case_rows): answered as opened ones.
    read = {case.id: known for case in rows if (known := case_rows.known(session, case.id))}
    ids = [case.id for case in rows if case.id not in opened and case.id not in read]
    history: dict[str, list[Any]] = defaultdict(list)
    clocks: dict[str, list[Any]] = defaultdict(list)
    given: dict[str, Any] = {}
    if ids:
        unread = set(ids)
        asked = [c.id for c in rows if c.id in unread and c.case_type in CUSTOMER_FACING]
        found = await cases.answer_rows(session, ids, asked)
        given = {f.case_id: f for f in found.feedback}
        for decision in found.decisions:
            history[decision.case_id].append(decision)
        for deadline in found.deadlines:
            clocks[deadline.case_id].append(deadline)
    for case in rows:
        if (known := read.get(case.id)) and case.id not in opened:
            history[case.id].extend(known.decisions)
            clocks[case.id].extend(known.deadlines)
            if known.feedback is not None and case.case_type in CUSTOMER_FACING:
                given[case.id] = known.feedback
    if len(ids) < len(rows):
        _from_session(session, {c.id for c in rows} - set(ids), history, clocks, given)
    return [_out(case, history[case.id], clocks[case.id], given.get(case.id)) for case in rows]


def _from_session(
    session: AsyncSession,
    cases: set[str],
    history: dict[str, list[Any]],
    clocks: dict[str, list[Any]],
    given: dict[str, Any],
) -> None:
    """Adds to what the session read of ``cases`` what this transaction wrote of them, in
    the order the queries give."""
    for row in written.rows(session):
        if isinstance(row, Decision) and row.case_id in cases:
            history[row.case_id].append(row)
        elif isinstance(row, Deadline) and row.case_id in cases:
            clocks[row.case_id].append(row)
        elif isinstance(row, CaseFeedback) and row.case_id in cases:
            given[row.case_id] = row
    for case_id in cases:
        # A row this transaction added before it read the case's rows is in both: shown once.
        history[case_id] = sorted(
            {id(d): d for d in history[case_id]}.values(), key=lambda d: (d.decided_at, d.id)
        )
        clocks[case_id] = sorted(
            {id(d): d for d in clocks[case_id]}.values(), key=lambda d: (d.due_at, d.id)
        )


def _out(case: Case, history: list[Any], clocks: list[Any], given: Any) -> CaseOut:
    """The answer; decisions, clocks and feedback are rows of the session or plain copies."""
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
        ticket=TicketOut.model_validate(ticket_of(case)),
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
