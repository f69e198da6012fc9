"""What a summary reads: each figure per bucket of the report, from the rolled spans of the
split's middle and the rows of its two live ends, one statement each.

A bucket is found by ``width_bucket`` against the buckets' starts (app.reports.periods): a
rolled span lies in one week and one month, so it falls wholly in one bucket, and a live case
falls in the bucket of its ``created_at``. Buckets are numbered from 1; the whole period is
bucket 0 where a figure cannot be added up from its buckets (a percentile).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports.measures import (
    CLOCK_COLUMNS,
    CLOCK_SUMS,
    DISPUTE_TYPES,
    DISPUTED,
    DURATIONS,
    PERCENTILES,
    ClockRules,
    histogram_bucket,
    live,
)
from app.reports.periods import Period, Split

WHOLE_PERIOD = 0


@dataclass(frozen=True)
class Clocks:
    """One bucket's cases of one type and their clocks (sums of microseconds for means)."""

    bucket: int
    case_type: str
    cases: int
    acknowledged_in_time: int
    acknowledgement_due: int
    resolved_in_time: int
    resolution_due: int
    resolved: int
    resolution_us: int
    logged: int
    logged_in_time: int
    logging_us: int


@dataclass(frozen=True)
class Orders:
    orders: int
    disputed: int


@dataclass(frozen=True)
class Feedback:
    responses: int
    satisfied: int
    communication_responses: int
    communication_satisfied: int


_BOUNDS = "CAST(:bounds AS timestamptz[])"
_SUMS = ", ".join(f"sum({name})::bigint AS {name}" for name in CLOCK_SUMS)
_NAMES = ", ".join(CLOCK_SUMS)

_CLOCKS = text(
    f"""
    SELECT b AS bucket, case_type, {_SUMS}
    FROM (
        SELECT width_bucket(span, {_BOUNDS}) AS b, case_type, {_NAMES}
        FROM report_span_clocks WHERE span >= :rolled_from AND span < :rolled_to
        UNION ALL
        SELECT width_bucket(created_at, {_BOUNDS}), case_type, {CLOCK_COLUMNS}
        FROM {live("cases")}
        GROUP BY 1, 2
    ) x
    GROUP BY b, case_type
    """
)

_ORDERS = text(
    f"""
    SELECT b, sum(orders)::bigint AS orders, sum(disputed)::bigint AS disputed
    FROM (
        SELECT width_bucket(span, {_BOUNDS}) AS b, orders, disputed_orders AS disputed
        FROM report_spans WHERE span >= :rolled_from AND span < :rolled_to
        UNION ALL
        SELECT width_bucket(created_at, {_BOUNDS}), count(*), count(*) FILTER (WHERE {DISPUTED})
        FROM {live("orders")}
        GROUP BY 1
    ) x
    GROUP BY b
    """
)

# By when the feedback was given, not when its case opened: never rolled.
_FEEDBACK = text(
    f"""
    SELECT width_bucket(created_at, {_BOUNDS}) AS b, count(*) AS responses,
           count(*) FILTER (WHERE score >= :satisfied) AS satisfied,
           count(communication_score) AS communication_responses,
           count(*) FILTER (WHERE communication_score >= :satisfied) AS communication_satisfied
    FROM case_feedback
    WHERE created_at >= :since AND created_at < :until
    GROUP BY 1
    """
)

_HISTOGRAM = histogram_bucket("s")

# percentile_cont's own arithmetic (orderedsetaggs.c), for each kind of duration and each
# bucket (and the whole period): the values at 0-based positions floor and ceil of p * (n - 1)
# in sorted order, lo + (p * (n - 1) - floor(...)) * (hi - lo). The histogram buckets are
# numbered in the order of their values, so a position's histogram bucket is the one whose
# running total passes it, and its value is found among that histogram bucket's values alone.
_PERCENTILES = text(
    f"""
    WITH live AS MATERIALIZED (
        SELECT d.kind, g.b, d.s, {_HISTOGRAM} AS h
        FROM {live("cases")}
        {DURATIONS}
        -- Every value counts in its bucket and in the whole period.
        CROSS JOIN LATERAL (
            VALUES (width_bucket(created_at, {_BOUNDS})), ({WHOLE_PERIOD})
        ) AS g(b)
        WHERE d.s IS NOT NULL
    ),
    rolled AS MATERIALIZED (
        SELECT kind, g.b, bucket AS h, n, span
        FROM report_durations
        CROSS JOIN LATERAL (VALUES (width_bucket(span, {_BOUNDS})), ({WHOLE_PERIOD})) AS g(b)
        WHERE span >= :rolled_from AND span < :rolled_to
    ),
    histogram AS (
        SELECT kind, b, h, sum(n)::bigint AS n
        FROM (
            SELECT kind, b, h, n FROM rolled
            UNION ALL
            SELECT kind, b, h, count(*) FROM live GROUP BY 1, 2, 3
        ) x
        GROUP BY kind, b, h
    ),
    placed AS (
        SELECT kind, b, h, n,
               (sum(n) OVER (PARTITION BY kind, b ORDER BY h) - n)::bigint AS below
        FROM histogram
    ),
    positions AS (
        SELECT kind, b, ord, x, floor(x)::bigint AS lo, ceil(x)::bigint AS hi
        FROM (
            SELECT kind, b, t.ord, t.p * CAST(total - 1 AS float8) AS x
            FROM (SELECT kind, b, sum(n)::bigint AS total FROM histogram GROUP BY kind, b) n,
                 unnest(CAST(:percentiles AS float8[])) WITH ORDINALITY AS t(p, ord)
        ) targets
    ),
    wanted AS (
        SELECT DISTINCT pl.kind, pl.b, pl.h, pl.below
        FROM placed pl
        JOIN (SELECT kind, b, lo AS pos FROM positions
              UNION SELECT kind, b, hi FROM positions) k
          ON k.kind = pl.kind AND k.b = pl.b AND k.pos >= pl.below AND k.pos < pl.below + pl.n
    ),
    candidates AS (
        SELECT w.kind, w.b, w.h, w.below, v.s
        FROM wanted w
        JOIN rolled r USING (kind, b, h)
        JOIN report_durations d ON d.span = r.span AND d.kind = r.kind AND d.bucket = r.h
        CROSS JOIN LATERAL unnest(d.seconds) AS v(s)
        UNION ALL
        SELECT w.kind, w.b, w.h, w.below, l.s
        FROM wanted w
        JOIN live l USING (kind, b, h)
    ),
    ranked AS (
        SELECT kind, b, below + row_number() OVER (PARTITION BY kind, b, h ORDER BY s) - 1
                   AS pos, s
        FROM candidates
    )
    SELECT p.kind, p.b, p.ord,
           CASE WHEN p.hi > p.lo THEN lo.s + ((p.x - floor(p.x)) * (hi.s - lo.s))
                ELSE lo.s END AS value
    FROM positions p
    JOIN ranked lo ON lo.kind = p.kind AND lo.b = p.b AND lo.pos = p.lo
    JOIN ranked hi ON hi.kind = p.kind AND hi.b = p.b AND hi.pos = p.hi
    """
)


def _params(split: Split, bounds: Sequence[datetime]) -> dict[str, Any]:
    return {**split.params(), "bounds": list(bounds)}


async def clocks(
    session: AsyncSession,
    split: Split,
    bounds: Sequence[datetime],
    rules: ClockRules,
    now: datetime,
) -> list[Clocks]:
    """Each bucket's clocks by case type, for the types with cases in it."""
    rows = await session.execute(_CLOCKS, {**_params(split, bounds), **rules.params(now)})
    return [Clocks(**row._asdict()) for row in rows]


async def orders(
    session: AsyncSession, split: Split, bounds: Sequence[datetime]
) -> dict[int, Orders]:
    """Orders created in each bucket, and of them those with a payment dispute (at any time
    up to now)."""
    params = {**_params(split, bounds), "dispute_types": list(DISPUTE_TYPES)}
    rows = await session.execute(_ORDERS, params)
    return {row.b: Orders(orders=row.orders, disputed=row.disputed) for row in rows}


async def feedback(
    session: AsyncSession, period: Period, bounds: Sequence[datetime], satisfied: int
) -> dict[int, Feedback]:
    """Feedback given in each bucket, and of it the scores of at least ``satisfied``."""
    params = {"since": period.since, "until": period.until, "bounds": list(bounds)}
    rows = await session.execute(_FEEDBACK, {**params, "satisfied": satisfied})
    return {
        row.b: Feedback(
            responses=row.responses,
            satisfied=row.satisfied,
            communication_responses=row.communication_responses,
            communication_satisfied=row.communication_satisfied,
        )
        for row in rows
    }


Percentiles = dict[tuple[str, int], tuple[float | None, float | None]]


async def percentiles(
    session: AsyncSession, split: Split, bounds: Sequence[datetime]
) -> Percentiles:
    """(kind, bucket) -> (median, 90th percentile) in seconds, for each kind of duration
    (resolution, logging) and bucket that has one; bucket 0 is the whole period."""
    params = {**_params(split, bounds), "percentiles": list(PERCENTILES)}
    found: dict[tuple[str, int], dict[int, float]] = defaultdict(dict)
    for row in await session.execute(_PERCENTILES, params):
        found[row.kind, row.b][row.ord] = row.value
    return {key: (values.get(1), values.get(2)) for key, values in found.items()}


async def use_memory_for_sorts(session: AsyncSession) -> None:
    """Rolling a few spans groups and sorts a few hundred thousand rows: in memory, in this
    transaction only, rather than spilled to disk under the default 4 MB. And no JIT: these
    statements' estimated costs start it, and compiling takes longer than it saves."""
    await session.execute(text("SET LOCAL work_mem = '128MB'"))
    await session.execute(text("SET LOCAL jit = off"))
