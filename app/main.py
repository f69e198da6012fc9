"""The application: routers, error handling, and what each process sets up once."""

import asyncio
import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from app.api import openapi, problems
from app.api.context import RequestContext
from app.api.deps import KeyUse, KnownKeys
from app.api.limits import BodyLimits, RateLimiter
from app.api.operations import operation_id
from app.api.routers import health, metrics, problem_types
from app.cases import endpoints as cases
from app.cases import feedback_endpoints as feedback
from app.cases.registry import build_rules
from app.db.engine import make_engine, make_sessionmaker, make_snapshot_sessionmaker
from app.decisions import endpoints as decisions
from app.events import endpoints as events
from app.fail_reasons import endpoints as fail_reasons
from app.observability import tracing
from app.observability.logs import configure_logging
from app.observability.metrics import DatabaseGauges
from app.orders import endpoints as orders
from app.payment_discrepancies import endpoints as payment_discrepancies
from app.payment_discrepancies import records_endpoints as payment_records
from app.payout_disputes import endpoints as payout_disputes
from app.payouts import endpoints as payouts
from app.pickup_complaints import endpoints as pickup_complaints
from app.reports import endpoints as reports
from app.rulesets import endpoints as rulesets
from app.settings import Settings, get_settings
from app.vendors import endpoints as vendors
from app.watcher import (
    DeadlineWatcher,
    IdempotencySweeper,
    KeyUseRecorder,
    PeriodicTask,
    ReportRoller,
    WebhookSender,
)
from app.webhooks import endpoints as webhook_endpoints

DESCRIPTION = """Decides payout disputes, pickup complaints, vendors' fail reasons and payment
discrepancies by the operations team's rule tables, and records every decision with its
reasons. Money is integer paise; errors are application/problem+json."""


def create_app(settings: Settings | None = None, database_url: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    traces = tracing.tracing(settings.otel_exporter_otlp_endpoint)
    retention = timedelta(hours=settings.idempotency_retention_hours)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Rules are validated before the first request: a bad table stops the start-up.
        app.state.rules_engine = build_rules(settings.rules_dir, os.environ)
        app.state.db_engine = make_engine(settings, database_url)
        if traces is not None:
            traces.instrument(app.state.db_engine)
        app.state.sessionmaker = make_sessionmaker(app.state.db_engine)
        app.state.snapshot_sessionmaker = make_snapshot_sessionmaker(app.state.db_engine)
        app.state.metrics_gauges = DatabaseGauges(app.state.db_engine)
        app.state.watcher = DeadlineWatcher(
            app.state.sessionmaker, app.state.rules_engine, settings.watch_interval_seconds
        )
        app.state.key_use_recorder = KeyUseRecorder(
            app.state.sessionmaker, app.state.key_use, settings.api_key_last_used_seconds
        )
        background: list[PeriodicTask] = [
            app.state.watcher,
            app.state.key_use_recorder,
            IdempotencySweeper(app.state.sessionmaker, retention),
        ]
        if settings.report_roll_interval_seconds:
            background.append(
                ReportRoller(
                    app.state.sessionmaker,
                    app.state.rules_engine.policy,
                    settings.report_roll_interval_seconds,
                )
            )
        if settings.webhook_poll_interval_seconds:
            background.append(WebhookSender(app.state.sessionmaker, settings))
        # What start-up made (routes, schemas, mappers, rulesets: some 170,000 objects) lives
        # as long as the process. Frozen, it is left out of the collector's full passes, which
        # otherwise walk it all (about 100 ms here) while every request in flight waits. Done
        # before the background tasks start, so that nothing of their work is frozen with it.
        gc.collect()
        gc.freeze()
        for task in background:
            task.start()
        try:
            yield
        finally:
            await asyncio.gather(*(task.stop() for task in background))
            app.state.metrics_gauges.close()
            await app.state.db_engine.dispose()
            if traces is not None:
                traces.shutdown()

    app = FastAPI(
        title="Dispute decision service",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # FastAPI's own description and Swagger UI, open to a browser (which cannot send a
        # key); PUBLIC_API_DOCS=false takes both away.
        openapi_url="/openapi.json" if settings.public_api_docs else None,
        docs_url="/docs" if settings.public_api_docs else None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        telemetry=tracing.OFF if traces is None else traces.fastapi_config(),
    )
    app.state.known_keys = KnownKeys(settings.api_key_cache_seconds)
    app.state.key_use = KeyUse()
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.idempotency_retention = retention
    app.state.problem_type_base = settings.problem_type_base
    problems.install(app)
    app.add_middleware(
        BodyLimits,
        max_bytes=settings.max_body_bytes,
        larger={payment_records.router.prefix: settings.max_batch_body_bytes},
        timeout_seconds=settings.body_timeout_seconds,
    )
    app.add_middleware(RequestContext)  # added last: outermost, so it sees every answer
    for module in (
        health,
        problem_types,
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
        webhook_endpoints,
        rulesets,
        reports,
    ):
        app.include_router(module.router)
    app.include_router(payouts.wallet_refunds)
    openapi.install(app)
    return app
