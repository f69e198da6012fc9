"""The statements that keep the rollup (app.models.report): its lock and watermark, which
spans are rolled and changed, and rolling spans from their cases and orders."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports import tallies
from app.reports.measures import (
    CLOCK_COLUMNS,
    CLOCK_SUMS,
    DISPUTE_TYPES,
    DISPUTED,
    DURATIONS,
    ClockRules,
    histogram_bucket,
)
from app.reports.periods import Span, Split

# Serialises the rolls. Any constant would do; it only has to be the same in every instance
# (and unlike payment_records' reconciliation lock).
ROLLUP_LOCK = 0x7265706F7274  # "report"

# The oldest start of a transaction still running here: any row not yet committed was
# written by a transaction that started no earlier (updated_at and created_at are now(), its
# start). Read before the rolls take their snapshots, it is a safe watermark for the next.
# PostgreSQL hides the start of other roles' sessions (without pg_read_all_stats) but not
# that they hold a transaction open: those are counted apart.
_ACTIVITY = text(
    """
    SELECT least(now(), min(xact_start)) AS since,
           count(*) FILTER (WHERE xact_start IS NULL
                            AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL))
               AS unseen
    FROM pg_stat_activity
    WHERE datname = current_database() AND usesysid IS NOT NULL
    """
)

_WATERMARK = text("SELECT watermark FROM report_refresh")

_SET_WATERMARK = text(
    """
    INSERT INTO report_refresh (id, watermark) VALUES (true, :watermark)
    ON CONFLICT (id) DO UPDATE SET watermark = excluded.watermark
    """
)

_BASES = text(
    "SELECT span, basis FROM report_spans WHERE span >= :rolled_from AND span < :rolled_to"
)

_ALL_SPANS = text("SELECT span FROM report_spans")

# A case counts in the span it opened in, and for the dispute rate in its order's span.
_CHANGED_SPANS = text(
    """
    WITH changed AS (
        SELECT created_at AS at FROM cases WHERE updated_at >= :watermark
        UNION
        SELECT o.created_at
        FROM cases c JOIN orders o ON o.id = c.order_id
        WHERE c.updated_at >= :watermark AND c.case_type = ANY(:dispute_types)
    )
    SELECT DISTINCT s.span
    FROM changed JOIN report_spans s ON changed.at >= s.span AND changed.at < s.span_end
    """
)

_SPANS = "unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[])) AS w(span, span_end)"

_CASES_BY_SPAN = text(
    f"""
    SELECT w.span, (SELECT count(*) FROM cases
                    WHERE created_at >= w.span AND created_at < w.span_end) AS cases
    FROM {_SPANS}
    """
)

_DROP = [
    text(f"DELETE FROM {table} WHERE span = ANY(CAST(:spans AS timestamptz[]))")
    for table in ("report_spans", "report_span_clocks", "report_durations")
]

_ROLL_SPANS = text(
    f"""
    INSERT INTO report_spans (span, span_end, basis, orders, disputed_orders)
    SELECT w.span, w.span_end, :basis, o.orders, o.disputed
    FROM {_SPANS}
    CROSS JOIN LATERAL (
        SELECT count(*) AS orders, count(*) FILTER (WHERE {DISPUTED}) AS disputed
        FROM orders WHERE created_at >= w.span AND created_at < w.span_end
    ) o
    """
)

_ROLL_CLOCKS = text(
    f"""
    INSERT INTO report_span_clocks (span, case_type, {", ".join(CLOCK_SUMS)})
    SELECT w.span, case_type, {CLOCK_COLUMNS}
    FROM {_SPANS}
    JOIN cases c ON c.created_at >= w.span AND c.created_at < w.span_end
    GROUP BY w.span, case_type
    """
)

_ROLL_DURATIONS = text(
    f"""
    INSERT INTO report_durations (span, kind, bucket, n, seconds)
    SELECT w.span, d.kind, {histogram_bucket("d.s")}, count(*), array_agg(d.s ORDER BY d.s)
    FROM {_SPANS}
    JOIN cases c ON c.created_at >= w.span AND c.created_at < w.span_end
    {DURATIONS}
    WHERE d.s IS NOT NULL
    GROUP BY 1, 2, 3
    """
)


async def activity(session: AsyncSession) -> tuple[datetime, int]:
    """The start of the oldest transaction running on this database that this role may see
    (this one included), and how many others hold a transaction open unseen."""
    row = (await session.execute(_ACTIVITY)).one()
    return row.since, row.unseen


async def lock(session: AsyncSession) -> None:
    """Waits for any other transaction rolling spans; held until this transaction ends."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ROLLUP_LOCK})


async def try_lock(session: AsyncSession) -> bool:
    """As lock, but False at once when another transaction is rolling."""
    locked: bool = (
        await session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ROLLUP_LOCK})
    ).scalar_one()
    return locked


async def watermark(session: AsyncSession) -> datetime | None:
    mark: datetime | None = (await session.execute(_WATERMARK)).scalar_one_or_none()
    return mark


async def set_watermark(session: AsyncSession, mark: datetime) -> None:
    await session.execute(_SET_WATERMARK, {"watermark": mark})


async def bases(session: AsyncSession, split: Split) -> dict[datetime, str]:
    """The rolled spans of the split's middle that exist, and the rules each was rolled by."""
    rows = await session.execute(_BASES, split.params())
    return {row.span: row.basis for row in rows}


async def all_spans(session: AsyncSession) -> list[datetime]:
    """The start of every rolled span."""
    return [row.span for row in await session.execute(_ALL_SPANS)]


async def changed_spans(session: AsyncSession, since: datetime | None) -> list[datetime]:
    """Rolled spans with a case updated (or opened) from ``since`` on; all without one."""
    if since is None:
        return await all_spans(session)
    params = {"watermark": since, "dispute_types": list(DISPUTE_TYPES)}
    return [row.span for row in await session.execute(_CHANGED_SPANS, params)]


def _spans(spans: Sequence[Span]) -> dict[str, list[datetime]]:
    return {"starts": [s.start for s in spans], "ends": [s.end for s in spans]}


async def cases_by_span(session: AsyncSession, spans: Sequence[Span]) -> dict[datetime, int]:
    rows = await session.execute(_CASES_BY_SPAN, _spans(spans))
    return {row.span: row.cases for row in rows}


async def roll(
    session: AsyncSession,
    spans: Sequence[Span],
    dropped: Sequence[datetime],
    rules: ClockRules,
    now: datetime,
) -> None:
    """(Re)rolls ``spans`` from their cases and orders, and takes ``dropped`` out."""
    recomputed = sorted({*(span.start for span in spans), *dropped})
    if not recomputed:
        return
    for statement in _DROP:
        await session.execute(statement, {"spans": recomputed})
    if spans:
        params = {**_spans(spans), **rules.params(now)}
        await session.execute(_ROLL_SPANS, {**params, "basis": rules.basis})
        await session.execute(_ROLL_CLOCKS, params)
        await session.execute(_ROLL_DURATIONS, _spans(spans))
    await tallies.roll(session, spans, recomputed)
