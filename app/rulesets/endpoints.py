from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import Engine, Principal, require
from app.api.roles import Right
from app.api.transaction import TransactionRoute
from app.rulesets import service as rulesets
from app.rulesets.schemas import RulesetOut

router = APIRouter(
    prefix="/v1/rulesets",
    tags=["rulesets"],
    route_class=TransactionRoute,
)


@router.get(
    "",
    response_model=RulesetOut,
    summary="The active ruleset: its version, rule tables and policy values",
    description="Exactly what this service decides by: every table with its rules (in firing "
    "order, with their conditions, actions and descriptions), codes and notification texts, "
    "and every policy value in force with its unit, default and source.",
)
async def get_ruleset(
    engine: Engine,
    _: Annotated[Principal, Depends(require(Right.READ))],
) -> RulesetOut:
    return rulesets.describe(engine)
