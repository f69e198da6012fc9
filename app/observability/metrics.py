"""Prometheus metrics. Counters are process-local, or added up across worker processes when
PROMETHEUS_MULTIPROC_DIR is set (``dispute-service serve --workers N`` sets it)."""

import asyncio
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

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

log = logging.getLogger(__name__)

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
TRANSACTION_CONFLICTS = Counter(
    "transaction_conflicts_total",
    "Requests whose transaction met a conflict (deadlock, serialization_failure, "
    "running_clock, order_created), by what followed: retried (run again) or gave_up "
    "(answered 409 busy).",
    ["conflict", "outcome"],
)
WEBHOOK_ATTEMPTS = Counter(
    "webhook_attempts_total",
    "Webhook delivery attempts by outcome (delivered, retrying, gave_up).",
    ["outcome"],
)


# A scrape waits this long for the database's gauges; past it they are left out and
# database_up says 0, so a scrape still answers, with every counter, while the database is
# away (Prometheus gives up on a scrape after 10 s by default).
GAUGE_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class _Counts:
    open_cases: dict[str, int]
    due: dict[str, int]


class DatabaseGauges:
    """Reads the gauges that live in the database, at most one read in flight per process.

    A read that outlasts its scrape is not cancelled (cancelling a connection attempt half
    way is how pools leak): the next scrape joins it instead of starting another, so an
    outage never piles up one waiting connection per scrape.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reading: asyncio.Task[_Counts] | None = None

    async def read(self) -> _Counts | None:
        """The counts, or None when the database did not give them in time."""
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._query(), name="metrics gauges")
            # A read that ends after its scrape gave up is still looked at, and logged once.
            self._reading.add_done_callback(_note_failure)
        reading = self._reading
        await asyncio.wait({reading}, timeout=GAUGE_WAIT_SECONDS)
        if not reading.done() or reading.cancelled() or reading.exception() is not None:
            return None
        return reading.result()

    def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()

    async def _query(self) -> _Counts:
        async with self._engine.connect() as connection:
            open_rows = await connection.execute(
                text("SELECT case_type, count(*) FROM cases WHERE resolved_at IS NULL GROUP BY 1")
            )
            due_rows = await connection.execute(
                text(
                    "SELECT kind, count(*) FROM deadlines"
                    " WHERE settled_at IS NULL AND due_at <= now() GROUP BY 1"
                )
            )
            return _Counts(
                open_cases={str(k): int(v) for k, v in open_rows.all()},
                due={str(k): int(v) for k, v in due_rows.all()},
            )


def _note_failure(task: "asyncio.Task[_Counts]") -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("metrics: the database gauges could not be read: %s", type(exc).__name__)


class _Snapshot(Collector):
    """Gauges read at scrape time: the database's are true across every instance and host."""

    def __init__(self, counts: _Counts | None, pool: dict[str, int]) -> None:
        self.counts, self.pool = counts, pool

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "database_up",
            "1 when this scrape read open_cases and deadlines_due from the database; 0 when "
            "the database did not answer in time (they are then absent).",
        )
        up.add_metric([], 0 if self.counts is None else 1)
        yield up
        if self.counts is not None:
            cases = GaugeMetricFamily(
                "open_cases", "Cases not yet resolved, by type.", labels=["case_type"]
            )
            for case_type, count in sorted(self.counts.open_cases.items()):
                cases.add_metric([case_type], count)
            yield cases
            due = GaugeMetricFamily(
                "deadlines_due", "Unsettled deadlines already due, by kind.", labels=["kind"]
            )
            for kind, count in sorted(self.counts.due.items()):
                due.add_metric([kind], count)
            yield due
        pool = GaugeMetricFamily(
            "db_pool_connections", "This process's connection pool.", labels=["state"]
        )
        for state, count in sorted(self.pool.items()):
            pool.add_metric([state], count)
        yield pool


async def render(engine: AsyncEngine, gauges: DatabaseGauges) -> bytes:
    counts = await gauges.read()
    pool = engine.pool
    usage = {
        "in_use": int(pool.checkedout()),  # type: ignore[attr-defined]
        "size": int(pool.size()),  # type: ignore[attr-defined]
    }
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Every worker's counters, from the files each keeps in that folder.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    snapshot = CollectorRegistry()
    snapshot.register(_Snapshot(counts, usage))
    return body + generate_latest(snapshot)
