from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import Principal, require
from app.api.roles import Right
from app.api.transaction import TransactionRoute
from app.observability.metrics import render

router = APIRouter(tags=["operations"], route_class=TransactionRoute)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Text format"}},
)
async def get_metrics(
    request: Request,
    # Its database gauges are optional (app.observability.metrics): a scrape answers, with
    # the counters, while the database is away.
    _: Annotated[Principal, Depends(require(Right.WATCH, needs_no_database=True))],
) -> Response:
    state = request.app.state
    return Response(await render(state.db_engine, state.metrics_gauges), media_type=CONTENT_TYPE)
