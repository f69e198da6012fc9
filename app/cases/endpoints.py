from datetime import datetime
from enum import Enum, StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.api.deps import Engine, Principal, Session, require
from app.api.pagination import Filter, Page, Paging, time_key
from app.api.roles import Right
from app.api.schemas import FilterTime, NameFilter, PublicId
from app.api.transaction import TransactionRoute
from app.cases import overrides, working
from app.cases import views as cases
from app.cases.case_type import Status
from app.cases.lifecycle import WORK
from app.cases.registry import CaseTypeName
from app.cases.schemas import AssignIn, CaseOut, NoteIn, OverrideIn
from app.cases.tickets import TEAMS
from app.rules_engine.model import ESCALATION_TARGETS

router = APIRouter(prefix="/v1/cases", tags=["cases"], route_class=TransactionRoute)

Reader = Annotated[Principal, Depends(require(Right.READ))]


Team = Enum("Team", {name: name for name in TEAMS}, type=StrEnum)  # type: ignore[misc]
Target = Enum("Target", {name: name for name in ESCALATION_TARGETS}, type=StrEnum)  # type: ignore[misc]


class Sort(StrEnum):
    CREATED_AT = "created_at"
    DUE_AT = "due_at"


@router.get(
    "",
    response_model=Page[CaseOut],
    summary="Cases of every type, newest first, or soonest deadline first",
    description="Every given filter must match. Newest first by creation time (then id); "
    "with `sort=due_at`, the cases with a running clock (the vendor's answer, the "
    "resolution), soonest deadline first: a team's queue. A vendor key lists only its own "
    "vendor's cases. An unknown value of a filter is a 422 that lists the known ones.",
)
async def list_cases(
    session: Session,
    principal: Reader,
    paging: Paging,
    case_type: Annotated[CaseTypeName | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    vendor_id: Annotated[Filter, Query(examples=["V-1001"])] = None,
    order_id: Annotated[Filter, Query(examples=["ORD-20931"])] = None,
    assignee: Annotated[
        NameFilter | None, Query(description="A person's name, as assigned.")
    ] = None,
    assignee_team: Annotated[Team | None, Query(description="The team it is with.")] = None,
    escalated_to: Annotated[
        Target | None, Query(description="The team it was last escalated to.")
    ] = None,
    due_before: Annotated[
        FilterTime | None, Query(description="Its soonest running clock is due before this.")
    ] = None,
    sort: Annotated[Sort, Query(description="created_at (newest first) or due_at.")] = (
        Sort.CREATED_AT
    ),
) -> Page[CaseOut]:
    by_due = sort == Sort.DUE_AT
    items = await cases.find(
        session,
        case_type=case_type,
        status=status,
        vendor_id=principal.vendor_scope(vendor_id),
        order_id=order_id,
        assignee=assignee,
        assignee_team=assignee_team,
        escalated_to=escalated_to,
        due_before=due_before,
        by_due=by_due,
        after=paging.after_time_key(Sort.DUE_AT if by_due else None),
        limit=paging.fetch,
    )
    if by_due:
        return paging.page(items, key=lambda c: time_key(_due(c), c.id, Sort.DUE_AT))
    return paging.page(items, key=lambda c: time_key(c.created_at, c.id))


def _due(case: CaseOut) -> datetime:
    """The soonest running work clock of a listed case (sort=due_at lists only those)."""
    running = [d.due_at for d in case.deadlines if d.settled_at is None and d.kind in WORK]
    return min(running)


@router.get(
    "/{case_id}",
    response_model=CaseOut,
    summary="A case, its ticket, its current decision and every earlier one",
)
async def get_case(case_id: PublicId, session: Session, principal: Reader) -> CaseOut:
    case = await cases.get(session, case_id)
    principal.ensure_vendor(case.vendor_id)
    return await cases.view(session, case)


@router.post(
    "/{case_id}/override",
    response_model=CaseOut,
    summary="Ops replaces the case's decision; the rules' decision stays on record",
    description="The new decision is final, decided_by {kind: ops_override, actor, reason}, and "
    "supersedes the current one. If that one was final, each ledger entry it made is reversed "
    "by a new `reversal` entry (opposite amount, settles_entry_id = the entry) and the vendor's "
    "standing is put back where that entry moved it; then the override's actions are applied. "
    "If the current decision was only a proposal, nothing is reversed and the case is resolved "
    "as by a verdict. Money already paid out (a released payout or wallet refund) cannot be "
    "reversed: 409.",
)
async def post_override(
    case_id: PublicId,
    body: OverrideIn,
    session: Session,
    engine: Engine,
    principal: Annotated[Principal, Depends(require(Right.OVERRIDE))],
) -> CaseOut:
    case = await overrides.override(session, engine, principal.acting, case_id, body)
    return await cases.view(session, case)


@router.post(
    "/{case_id}/notes",
    status_code=201,
    response_model=CaseOut,
    summary="A note on the case, with attachments, in its author's name",
    description="Shown on the case as `notes`, oldest first, each with its author's name and "
    "key. Notes are kept: one is never edited or removed.",
)
async def post_note(
    case_id: PublicId,
    body: NoteIn,
    session: Session,
    principal: Annotated[Principal, Depends(require(Right.WRITE_NOTES))],
) -> CaseOut:
    case = await working.add_note(session, principal.acting, case_id, body)
    return await cases.view(session, case)


@router.post(
    "/{case_id}/assign",
    response_model=CaseOut,
    summary="Give the case to a person, or take it back (assignee null)",
)
async def post_assign(
    case_id: PublicId,
    body: AssignIn,
    session: Session,
    principal: Annotated[Principal, Depends(require(Right.ASSIGN))],
) -> CaseOut:
    case = await working.assign(session, principal.acting, case_id, body.assignee)
    return await cases.view(session, case)
