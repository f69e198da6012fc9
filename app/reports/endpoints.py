from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.api.deps import Engine, Principal, Session, require
from app.api.roles import Right
from app.api.schemas import Timestamp
from app.api.transaction import WritingReadRoute
from app.reports import csv_export, service
from app.reports.periods import BucketKind
from app.reports.schemas import Summary

router = APIRouter(
    prefix="/v1/reports",
    tags=["reports"],
    # A report rolls up the finished spans it reads (app.reports.rollup).
    route_class=WritingReadRoute,
)

Reader = Annotated[Principal, Depends(require(Right.WATCH))]
Since = Annotated[
    Timestamp | None,
    Query(
        description="Cases, orders and feedback from this time; default: four weeks before until."
    ),
]
Until = Annotated[
    Timestamp | None, Query(description="Up to, not including, this time; default: now.")
]
Buckets = Annotated[
    BucketKind,
    Query(
        alias="bucket",
        description="week: weeks from Monday 00:00 UTC; month: calendar months, UTC.",
    ),
]
CSV = "text/csv; charset=utf-8"


@router.get(
    "/summary",
    response_model=Summary,
    summary="Volumes, clocks, time to logging, dispute rate, satisfaction and root causes of a "
    "period and of each week or month of it, each beside its target",
)
async def get_summary(
    session: Session,
    engine: Engine,
    _: Reader,
    since: Since = None,
    until: Until = None,
    bucket: Buckets = "week",
) -> Summary:
    return await service.summary(session, engine.policy, since, until, bucket)


@router.get(
    "/summary.csv",
    response_class=Response,
    summary="The same report for a spreadsheet: one row per figure (section, name, value, target)",
    responses={200: {"content": {CSV: {}}, "description": "CSV with a header row"}},
)
async def get_summary_csv(
    session: Session,
    engine: Engine,
    _: Reader,
    since: Since = None,
    until: Until = None,
    bucket: Buckets = "week",
) -> Response:
    report = await service.summary(session, engine.policy, since, until, bucket)
    return Response(
        csv_export.to_csv(report),
        media_type=CSV,
        headers={"Content-Disposition": 'attachment; filename="summary.csv"'},
    )
