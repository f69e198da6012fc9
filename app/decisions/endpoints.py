from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.api.deps import Engine, Principal, Session, require
from app.api.pagination import Filter, Page, Paging, time_key
from app.api.roles import Right
from app.api.schemas import FilterTime, PublicId
from app.api.transaction import TransactionRoute
from app.cases.registry import CaseTypeName, known_outcomes
from app.decisions import service as decisions
from app.decisions import simulations
from app.decisions.schemas import DecisionOut
from app.decisions.simulation_schemas import SimulationIn, SimulationOut
from app.errors import InvalidRequest

router = APIRouter(
    prefix="/v1/decisions",
    tags=["decisions"],
    route_class=TransactionRoute,
)


@router.get(
    "",
    response_model=Page[DecisionOut],
    summary="Decisions for internal services, newest first",
    description="Newest first by decision time (then id), superseded decisions included. "
    "Every given filter must match; `since` is inclusive, `until` exclusive, both RFC 3339 "
    "(a time without an offset is read as UTC). An unknown `case_type` or `outcome` is a "
    "422 that lists the known ones.",
)
async def list_decisions(
    session: Session,
    engine: Engine,
    _: Annotated[Principal, Depends(require(Right.WATCH))],
    paging: Paging,
    order_id: Annotated[Filter, Query(examples=["ORD-20931"])] = None,
    vendor_id: Annotated[Filter, Query(examples=["V-1001"])] = None,
    case_type: Annotated[CaseTypeName | None, Query(examples=["fail_reason"])] = None,
    outcome: Annotated[Filter, Query(examples=["failed_vendor_fault"])] = None,
    since: Annotated[FilterTime | None, Query(examples=["2026-11-01T00:00:00Z"])] = None,
    until: Annotated[FilterTime | None, Query(examples=["2026-12-01T00:00:00Z"])] = None,
) -> Page[DecisionOut]:
    if outcome is not None and outcome not in (known := known_outcomes(engine)):
        raise InvalidRequest(
            f"Unknown outcome '{outcome}'; known: {', '.join(known)}.", "outcome", "query"
        )
    rows = await decisions.find(
        session,
        order_id=order_id,
        vendor_id=vendor_id,
        case_type=case_type.value if case_type else None,
        outcome=outcome,
        since=since,
        until=until,
        after=paging.after_time_key(),
        limit=paging.fetch,
    )
    items = [DecisionOut.model_validate(row) for row in rows]
    return paging.page(items, key=lambda d: time_key(d.decided_at, d.id))


@router.post(
    "/simulate",
    response_model=SimulationOut,
    summary="What the rules would decide for a case body; nothing is stored",
    description="The body is the body of the case type's endpoint plus `case_type` (and "
    "`order_id` for a fail reason), with optional `facts` to use instead of the computed "
    "ones. The facts come from the database as for a real case (the vendor's history "
    "included), but no case, decision, ledger entry or event is written.",
)
async def post_simulation(
    body: SimulationIn,
    session: Session,
    engine: Engine,
    _: Annotated[Principal, Depends(require(Right.SIMULATE))],
) -> SimulationOut:
    return await simulations.simulate(session, engine, body)


@router.get("/{decision_id}", response_model=DecisionOut, summary="A whole decision record")
async def get_decision(
    decision_id: PublicId,
    session: Session,
    principal: Annotated[Principal, Depends(require(Right.READ))],
) -> DecisionOut:
    decision = await decisions.get(session, decision_id)
    principal.ensure_vendor(decision.vendor_id)
    return DecisionOut.model_validate(decision)
