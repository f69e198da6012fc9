"""The application: routers, error handling, and what each process sets up once."""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import problems
from app.api.context import RequestContext
from app.api.deps import KnownKeys
from app.api.limits import BodyLimits
from app.api.routers import (
    api_description,
    cases,
    decisions,
    events,
    fail_reasons,
    feedback,
    health,
    metrics,
    orders,
    payment_discrepancies,
    payment_records,
    payout_disputes,
    payouts,
    pickup_complaints,
    rulesets,
    vendors,
)
from app.db.engine import make_engine, make_sessionmaker, make_snapshot_sessionmaker
from app.observability.logs import configure_logging
from app.reports import endpoints as reports
from app.rules_engine.engine import build_engine
from app.settings import Settings, get_settings
from app.watcher import DeadlineWatcher, PeriodicTask, ReportRoller

DESCRIPTION = """Decides payout disputes, pickup complaints, vendors' fail reasons and payment
discrepancies by the operations team's rule tables, and records every decision with its
reasons. Money is integer paise; errors are application/problem+json."""


def create_app(settings: Settings | None = None, database_url: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Rules are validated before the first request: a bad table stops the start-up.
        app.state.rules_engine = build_engine(settings.rules_dir, os.environ)
        app.state.db_engine = make_engine(settings, database_url)
        app.state.sessionmaker = make_sessionmaker(app.state.db_engine)
        app.state.snapshot_sessionmaker = make_snapshot_sessionmaker(app.state.db_engine)
        app.state.watcher = DeadlineWatcher(
            app.state.sessionmaker, app.state.rules_engine, settings.watch_interval_seconds
        )
        background: list[PeriodicTask] = [app.state.watcher]
        if settings.report_roll_interval_seconds:
            background.append(
                ReportRoller(
                    app.state.sessionmaker,
                    app.state.rules_engine.policy,
                    settings.report_roll_interval_seconds,
                )
            )
        for task in background:
            task.start()
        try:
            yield
        finally:
            await asyncio.gather(*(task.stop() for task in background))
            await app.state.db_engine.dispose()

    app = FastAPI(
        title="Dispute decision service",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served with a key by app.api.routers.api_description instead.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.known_keys = KnownKeys(settings.api_key_cache_seconds)
    problems.install(app)
    app.add_middleware(
        BodyLimits,
        max_bytes=settings.max_body_bytes,
        larger={payment_records.router.prefix: settings.max_batch_body_bytes},
    )
    app.add_middleware(RequestContext)  # added last: outermost, so it sees every answer
    for module in (
        health,
        metrics,
        orders,
        vendors,
        fail_reasons,
        payout_disputes,
        payouts,
        pickup_complaints,
        payment_records,
        payment_discrepancies,
        cases,
        feedback,
        decisions,
        events,
        rulesets,
        reports,
        api_description,
    ):
        app.include_router(module.router)
    return app
