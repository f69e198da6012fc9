"""Prometheus metrics. Counters are process-local, or shared across worker processes when
PROMETHEUS_MULTIPROC_DIR is set (``dispute-service serve --workers N`` sets it)."""

import os
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by route template, method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DECISIONS = Counter(
    "decisions_total",
    "Committed decisions by case type, stage and outcome.",
    ["case_type", "stage", "outcome"],
)
RULE_SECONDS = Histogram(
    "rule_evaluation_seconds",
    "Time to evaluate one rule table.",
    ["table"],
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05),
)
ESCALATIONS = Counter("escalations_total", "Committed escalations by target.", ["to"])
DEADLINES_MISSED = Counter(
    "deadlines_missed_total", "Deadlines that passed unmet (breaches), by kind.", ["kind"]
)
WEBHOOK_ATTEMPTS = Counter(
    "webhook_attempts_total",
    "Webhook delivery attempts by outcome (delivered, retrying, gave_up).",
    ["outcome"],
)


class _Snapshot(Collector):
    """Gauges read from the database at scrape time: true across every instance and host."""

    def __init__(self, open_cases: dict[str, int], due: dict[str, int], pool: dict[str, int]):
        self.open_cases, self.due, self.pool = open_cases, due, pool

    def collect(self) -> Iterator[Metric]:
        cases = GaugeMetricFamily(
            "open_cases", "Cases not yet resolved, by type.", labels=["case_type"]
        )
        for case_type, count in sorted(self.open_cases.items()):
            cases.add_metric([case_type], count)
        yield cases
        due = GaugeMetricFamily(
            "deadlines_due", "Unsettled deadlines already due, by kind.", labels=["kind"]
        )
        for kind, count in sorted(self.due.items()):
            due.add_metric([kind], count)
        yield due
        pool = GaugeMetricFamily(
            "db_pool_connections", "This process's connection pool.", labels=["state"]
        )
        for state, count in sorted(self.pool.items()):
            pool.add_metric([state], count)
        yield pool


async def render(engine: AsyncEngine) -> bytes:
    async with engine.connect() as connection:
        open_rows = await connection.execute(
            text("SELECT case_type, count(*) FROM cases WHERE resolved_at IS NULL GROUP BY 1")
        )
        due_rows = await connection.execute(
            text(
                "SELECT kind, count(*) FROM deadlines"
                " WHERE settled_at IS NULL AND due_at <= now() GROUP BY 1"
            )
        )
        open_cases = {str(k): int(v) for k, v in open_rows.all()}
        due = {str(k): int(v) for k, v in due_rows.all()}
    pool = engine.pool
    usage = {
        "in_use": int(pool.checkedout()),  # type: ignore[attr-defined]
        "size": int(pool.size()),  # type: ignore[attr-defined]
    }
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    snapshot = CollectorRegistry()
    snapshot.register(_Snapshot(open_cases, due, usage))
    return body + generate_latest(snapshot)
