"""The summary report's queries: aggregates over the cases and orders of a period.

A period is read in two parts (a ``Split``): the whole weeks in its middle that are rolled
(app.models.report: each week's figures, kept), and the cases of its two ends, read live.
Weeks start on Monday 00:00 UTC; ``date_bin`` finds them by arithmetic, where ``date_trunc``
with a time zone looks the zone up row by row, and a week's end is its start plus 168 hours
(``+ interval '7 days'`` would follow the session's time zone across a DST change).

Every figure stays exact: counts are sums of counts; a list's counts come from running totals
(report_tallies); the whole period's percentiles are picked from the sorted resolution times
of the one or two buckets they fall in, and interpolated as ``percentile_cont`` does.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

# A Monday: weeks are counted from it.
MONDAY = datetime(2001, 1, 1, tzinfo=UTC)
WEEK = timedelta(weeks=1)
_MONDAY = "timestamptz '2001-01-01 00:00+00'"
_WEEK = "interval '168 hours'"
PERCENTILES = (0.5, 0.9)
# Rolled resolution times are kept in buckets this wide: a year's percentile adds up each
# week's bucket sizes (a few hundred a week), then sorts the values of the one or two buckets
# it lies in, not the year's.
BUCKET_SECONDS = 900
# Bump when what a rolled week holds changes: every week is rolled again on its next read.
ROLLUP_VERSION = 1
# Serialises the rolls, which only reports do. Any constant would do; it only has to be the
# same in every instance (and unlike payment_records' reconciliation lock).
_ROLLUP_LOCK = 0x7265706F7274  # "report"


def week_of(moment: datetime) -> datetime:
    """The start of the week ``moment`` is in, as ``date_bin`` gives it."""
    return MONDAY + (moment - MONDAY) // WEEK * WEEK


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime


@dataclass(frozen=True)
class Split:
    """A period as read: the rolled weeks in [rolled_from, rolled_to), and the cases of
    [since, rolled_from) and [rolled_to, until) live. With no rolled weeks the two bounds
    are equal and the live parts cover the period."""

    since: datetime
    rolled_from: datetime
    rolled_to: datetime
    until: datetime

    @property
    def rolled_weeks(self) -> list[datetime]:
        count = (self.rolled_to - self.rolled_from) // WEEK
        return [self.rolled_from + n * WEEK for n in range(count)]

    def params(self) -> dict[str, datetime]:
        return {
            "since": self.since,
            "rolled_from": self.rolled_from,
            "rolled_to": self.rolled_to,
            "until": self.until,
        }


@dataclass(frozen=True)
class ClockRules:
    """What the clocks are measured against: the policy's hours and who is owed a reply."""

    customer_facing: tuple[str, ...]
    first_response: timedelta
    resolution: timedelta

    @property
    def basis(self) -> str:
        """What a rolled week's clock counts depend on, besides its cases."""
        return (
            f"v{ROLLUP_VERSION};first_response={self.first_response.total_seconds():g}s;"
            f"resolution={self.resolution.total_seconds():g}s;"
            f"customer_facing={','.join(self.customer_facing)}"
        )

    def params(self, now: datetime) -> dict[str, object]:
        return {
            "customer_facing": list(self.customer_facing),
            "first_response": self.first_response,
            "resolution": self.resolution,
            "acknowledgement_closed": now - self.first_response,
            "resolution_closed": now - self.resolution,
            "percentiles": list(PERCENTILES),
        }


@dataclass(frozen=True)
class Clocks:
    """One week's cases (week None: the whole period) and their clocks."""

    week: datetime | None
    cases: int
    payout_disputes: int
    acknowledged_in_time: int
    acknowledgement_due: int
    resolved_in_time: int
    resolution_due: int
    resolved: int
    median_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class Count:
    """A row of one of the grouped lists; the keys a list does not group by are None."""

    case_type: str | None
    outcome: str | None
    reason: str | None
    vendor_id: str | None
    cases: int
    payout_disputes: int


# The acknowledgement is owed for customer-facing cases only. "Due" counts the cases whose
# clock has run out by now (opened before the ``*_closed`` bound), or that met it: a case
# opened minutes ago and not resolved yet has not failed its 48 hours, and would wrongly
# lower the share. The bounds are parameters so that no row computes them. A rolled week has
# ended before both bounds, so its counts no longer move with now.
_CLOCK_COLUMNS = """
    count(*) AS cases,
    count(*) FILTER (WHERE case_type = 'payout_dispute') AS payout_disputes,
    count(*) FILTER (WHERE case_type = ANY(:customer_facing)
                     AND acknowledged_at <= created_at + :first_response)
        AS acknowledged_in_time,
    count(*) FILTER (WHERE case_type = ANY(:customer_facing)
                     AND (acknowledged_at <= created_at + :first_response
                          OR created_at <= :acknowledgement_closed))
        AS acknowledgement_due,
    count(*) FILTER (WHERE resolved_at <= created_at + :resolution) AS resolved_in_time,
    count(*) FILTER (WHERE resolved_at <= created_at + :resolution
                     OR created_at <= :resolution_closed) AS resolution_due,
    count(resolved_at) AS resolved,
    -- Unresolved cases give NULL, which percentile_cont leaves out.
    percentile_cont(CAST(:percentiles AS float8[])) WITHIN GROUP (
        ORDER BY date_part('epoch', resolved_at - created_at)) AS resolution_seconds
"""


# The rows of a split's two live parts: two range scans (an OR of the ranges would scan the
# whole index).
def _live(table: str) -> str:
    return f"""(
        SELECT * FROM {table} WHERE created_at >= :since AND created_at < :rolled_from
        UNION ALL
        SELECT * FROM {table} WHERE created_at >= :rolled_to AND created_at < :until
    ) AS {table}"""


_LIVE_CASES = _live("cases")
_LIVE_ORDERS_ROWS = _live("orders")
# Which list a row grouped by _LIST_SETS counts for, and its key (the four columns, those the
# list does not group by NULL): grouping() has a bit for each of outcome, reason and
# vendor_id (most significant first) that the row's grouping set leaves out.
_LISTS = """
    CASE grouping(outcome, reason, vendor_id)
        WHEN 3 THEN 'outcome' WHEN 5 THEN 'reason' WHEN 6 THEN 'vendor' ELSE 'root_cause'
    END COLLATE "C" AS list,
    CAST(ARRAY[case_type, outcome, reason, vendor_id] AS text) COLLATE "C" AS key
"""
# A list leaves out the groups without its keys (no reason, no vendor); the outcome list
# keeps the undecided.
_LIST_KEYS_PRESENT = """
    CASE grouping(outcome, reason, vendor_id)
        WHEN 5 THEN reason IS NOT NULL
        WHEN 6 THEN vendor_id IS NOT NULL
        WHEN 4 THEN reason IS NOT NULL AND vendor_id IS NOT NULL
        ELSE true
    END
"""
_LIST_SETS = """
    (case_type, outcome), (case_type, reason), (case_type, vendor_id),
    (case_type, reason, vendor_id)
"""

_LIVE_CLOCKS = text(
    f"""
    SELECT date_bin('7 days', created_at, {_MONDAY}) AS week, {_CLOCK_COLUMNS}
    FROM {_LIVE_CASES}
    GROUP BY 1
    """
)

_ROLLED_WEEKS = text(
    """
    SELECT * FROM report_weeks WHERE week >= :rolled_from AND week < :rolled_to ORDER BY week
    """
)

# percentile_cont's own arithmetic (orderedsetaggs.c): the values at 0-based positions
# floor and ceil of p * (n - 1) in sorted order, lo + (p * (n - 1) - floor(...)) * (hi - lo).
# The buckets are numbered in the order of their values, so a position's bucket is the one
# whose running total passes it, and its value is found among that bucket's values alone.
_PERCENTILES = text(
    f"""
    WITH live AS MATERIALIZED (
        SELECT date_part('epoch', resolved_at - created_at) AS s
        FROM {_LIVE_CASES}
        WHERE resolved_at IS NOT NULL
    ),
    buckets AS (
        SELECT bucket, sum(n)::bigint AS n
        FROM (
            SELECT bucket, cardinality(seconds) AS n
            FROM report_durations
            WHERE week >= :rolled_from AND week < :rolled_to
            UNION ALL
            SELECT floor(s / {BUCKET_SECONDS})::int, count(*) FROM live GROUP BY 1
        ) b
        GROUP BY bucket
    ),
    placed AS (
        SELECT bucket, n, (sum(n) OVER (ORDER BY bucket) - n)::bigint AS below FROM buckets
    ),
    targets AS (
        SELECT t.ord, t.p * CAST(total.n - 1 AS float8) AS x
        FROM (SELECT sum(n)::bigint AS n FROM buckets) total,
             unnest(CAST(:percentiles AS float8[])) WITH ORDINALITY AS t(p, ord)
        WHERE total.n > 0
    ),
    positions AS (
        SELECT ord, x, floor(x)::bigint AS lo, ceil(x)::bigint AS hi FROM targets
    ),
    wanted AS (
        SELECT DISTINCT pl.bucket, pl.below
        FROM placed pl
        JOIN (SELECT lo AS pos FROM positions UNION SELECT hi FROM positions) k
          ON k.pos >= pl.below AND k.pos < pl.below + pl.n
    ),
    candidates AS (
        SELECT w.bucket, w.below, v.s
        FROM wanted w
        JOIN report_durations d
          ON d.bucket = w.bucket AND d.week >= :rolled_from AND d.week < :rolled_to
        CROSS JOIN LATERAL unnest(d.seconds) AS v(s)
        UNION ALL
        SELECT w.bucket, w.below, l.s
        FROM wanted w JOIN live l ON floor(l.s / {BUCKET_SECONDS})::int = w.bucket
    ),
    ranked AS (
        SELECT below + row_number() OVER (PARTITION BY bucket ORDER BY s) - 1 AS pos, s
        FROM candidates
    )
    SELECT array_agg(
               CASE WHEN p.hi > p.lo THEN lo.s + ((p.x - floor(p.x)) * (hi.s - lo.s))
                    ELSE lo.s END
               ORDER BY p.ord) AS resolution_seconds
    FROM positions p
    JOIN ranked lo ON lo.pos = p.lo
    JOIN ranked hi ON hi.pos = p.hi
    """
)

# A list's count over the rolled weeks is the running total at the last rolled week less the
# one before the first: width_bucket finds, by binary search, the last week at or before.
# Keys are split into their parts only for the rows shown (and, for the long root-cause
# list, every group tied with its last), in the database's own collation for the ties.
_COUNTS = text(
    f"""
    WITH live AS MATERIALIZED (
        SELECT {_LISTS}, count(*) AS n
        FROM {_LIVE_CASES}
        GROUP BY GROUPING SETS ({_LIST_SETS})
        HAVING {_LIST_KEYS_PRESENT}
    ),
    rolled AS MATERIALIZED (
        SELECT list, key, n
        FROM (
            SELECT list, key,
                   coalesce(cum[width_bucket(CAST(:rolled_to AS timestamptz) - {_WEEK}, weeks)],
                            base)
                   - coalesce(cum[width_bucket(CAST(:rolled_from AS timestamptz) - {_WEEK},
                                               weeks)], base) AS n
            FROM report_tallies
            WHERE CAST(:rolled_from AS timestamptz) < :rolled_to
        ) t
        WHERE n > 0
    ),
    -- A root cause's count is its rolled count plus at most the largest live one, so a cause
    -- whose rolled count falls short of the top-th rolled count by more than that cannot
    -- reach the top (nor tie with it): only the others' two counts need adding. Cut off, a
    -- cause counts its live cases alone, which keeps it below the top all the same.
    bar AS (
        SELECT coalesce((SELECT n FROM rolled WHERE list = 'root_cause'
                         ORDER BY n DESC OFFSET :top - 1 LIMIT 1), 0)
               - coalesce((SELECT max(n) FROM live WHERE list = 'root_cause'), 0) AS n
    ),
    g AS MATERIALIZED (
        SELECT list, key, sum(n)::bigint AS n
        FROM (
            SELECT * FROM rolled WHERE list <> 'root_cause' OR n >= (SELECT n FROM bar)
            UNION ALL
            SELECT * FROM live
        ) x
        GROUP BY list, key
    ),
    causes AS (
        SELECT key, n FROM g WHERE list = 'root_cause'
    ),
    shown AS (
        SELECT list, CAST(key AS text[]) AS k, n
        FROM g
        WHERE list IN ('outcome', 'vendor', 'reason')
        UNION ALL
        SELECT 'root_cause', CAST(key AS text[]), n
        FROM causes
        WHERE n >= (SELECT min(n) FROM (SELECT n FROM causes ORDER BY n DESC LIMIT :top) t)
    ),
    parts AS (
        SELECT list, n, k[1] COLLATE "default" AS case_type, k[2] COLLATE "default" AS outcome,
               k[3] COLLATE "default" AS reason, k[4] COLLATE "default" AS vendor_id
        FROM shown
    )
    SELECT 'outcome' AS list, case_type, outcome, NULL AS reason, NULL AS vendor_id,
           n AS cases, 0::bigint AS payout_disputes
    FROM parts WHERE list = 'outcome'
    UNION ALL (
        SELECT 'vendor', NULL, NULL, NULL, vendor_id, sum(n)::bigint,
               coalesce(sum(n) FILTER (WHERE case_type = 'payout_dispute'), 0)::bigint
        FROM parts WHERE list = 'vendor'
        GROUP BY vendor_id
        ORDER BY 6 DESC, 5 LIMIT :top)
    UNION ALL (
        SELECT 'reason', case_type, NULL, reason, NULL, n, 0
        FROM parts WHERE list = 'reason'
        ORDER BY 6 DESC, 2, 4 LIMIT :top)
    UNION ALL (
        SELECT 'root_cause', case_type, NULL, reason, vendor_id, n, 0
        FROM parts WHERE list = 'root_cause'
        ORDER BY 6 DESC, 2, 4, 5 LIMIT :top)
    """
)

_LIVE_ORDERS = text(
    f"""
    SELECT date_bin('7 days', created_at, {_MONDAY}) AS week, count(*) AS orders
    FROM {_LIVE_ORDERS_ROWS}
    GROUP BY 1
    """
)

_FEEDBACK = text(
    """
    SELECT count(*) AS responses, count(*) FILTER (WHERE score >= :satisfied) AS satisfied
    FROM case_feedback
    WHERE created_at >= :since AND created_at < :until
    """
)

# --- The rollup's upkeep ------------------------------------------------------------------

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
    """
    SELECT week, basis FROM report_weeks WHERE week >= :rolled_from AND week < :rolled_to
    """
)

_CHANGED_WEEKS = text(
    f"""
    SELECT week FROM report_weeks
    WHERE week IN (SELECT date_bin('7 days', created_at, {_MONDAY})
                   FROM cases WHERE updated_at >= :watermark)
    """
)

_ALL_WEEKS = text("SELECT week FROM report_weeks")

_CASES_BY_WEEK = text(
    f"""
    SELECT w.week, (SELECT count(*) FROM cases
                    WHERE created_at >= w.week AND created_at < w.week + {_WEEK}) AS cases
    FROM unnest(CAST(:weeks AS timestamptz[])) AS w(week)
    """
)

_ROLL_WEEKS = text(
    f"""
    INSERT INTO report_weeks (week, basis, cases, payout_disputes, acknowledged_in_time,
                              acknowledgement_due, resolved_in_time, resolution_due, resolved,
                              median_seconds, p90_seconds, orders)
    SELECT w.week, :basis, k.cases, k.payout_disputes, k.acknowledged_in_time,
           k.acknowledgement_due, k.resolved_in_time, k.resolution_due, k.resolved,
           k.resolution_seconds[1], k.resolution_seconds[2], o.orders
    FROM unnest(CAST(:weeks AS timestamptz[])) AS w(week)
    CROSS JOIN LATERAL (
        SELECT {_CLOCK_COLUMNS}
        FROM cases WHERE created_at >= w.week AND created_at < w.week + {_WEEK}
    ) k
    CROSS JOIN LATERAL (
        SELECT count(*) AS orders
        FROM orders WHERE created_at >= w.week AND created_at < w.week + {_WEEK}
    ) o
    ON CONFLICT (week) DO UPDATE SET
        basis = excluded.basis, cases = excluded.cases,
        payout_disputes = excluded.payout_disputes,
        acknowledged_in_time = excluded.acknowledged_in_time,
        acknowledgement_due = excluded.acknowledgement_due,
        resolved_in_time = excluded.resolved_in_time,
        resolution_due = excluded.resolution_due, resolved = excluded.resolved,
        median_seconds = excluded.median_seconds, p90_seconds = excluded.p90_seconds,
        orders = excluded.orders
    """
)

_DROP_WEEKS = text("DELETE FROM report_weeks WHERE week = ANY(CAST(:weeks AS timestamptz[]))")

_DROP_DURATIONS = text(
    "DELETE FROM report_durations WHERE week = ANY(CAST(:weeks AS timestamptz[]))"
)

_ROLL_DURATIONS = text(
    f"""
    INSERT INTO report_durations (week, bucket, seconds)
    SELECT w.week, floor(d.s / {BUCKET_SECONDS})::int, array_agg(d.s ORDER BY d.s)
    FROM unnest(CAST(:weeks AS timestamptz[])) AS w(week)
    JOIN cases c
      ON c.created_at >= w.week AND c.created_at < w.week + {_WEEK}
     AND c.resolved_at IS NOT NULL
    CROSS JOIN LATERAL (SELECT date_part('epoch', c.resolved_at - c.created_at) AS s) d
    GROUP BY 1, 2
    """
)

# Rolls the weeks :recomputed into the running totals: those in :weeks from their cases,
# the others (weeks dropped from the rollup) to nothing. Only the groups whose count in one
# of those weeks changed are rewritten. Of each, the span from the first to the last of those
# weeks is recounted, and of the totals on either side of it only the shorter side is moved
# (by the change) and the longer kept as it is, the base with it: adding the newest week
# rewrites only that week's totals, and adding older weeks before the rolled ones (a longer
# period asked for the first time) only those and the base.
_ROLL_TALLIES = text(
    f"""
    WITH fresh AS (
        SELECT list, key, week, n
        FROM (
            SELECT {_LISTS}, w.week, count(*)::int AS n
            FROM unnest(CAST(:weeks AS timestamptz[])) AS w(week)
            JOIN cases c ON c.created_at >= w.week AND c.created_at < w.week + {_WEEK}
            GROUP BY GROUPING SETS ((w.week, case_type, outcome), (w.week, case_type, reason),
                                    (w.week, case_type, vendor_id),
                                    (w.week, case_type, reason, vendor_id))
            HAVING {_LIST_KEYS_PRESENT}
        ) f
    ),
    stored AS (
        SELECT t.list, t.key, r.week, t.cum[p.i] - coalesce(t.cum[p.i - 1], t.base) AS n
        FROM report_tallies t
        CROSS JOIN unnest(CAST(:recomputed AS timestamptz[])) AS r(week)
        CROSS JOIN LATERAL (SELECT array_position(t.weeks, r.week) AS i) p
        WHERE t.weeks && CAST(:recomputed AS timestamptz[]) AND p.i IS NOT NULL
    ),
    changed AS (
        SELECT list, key
        FROM fresh FULL JOIN stored USING (list, key, week)
        WHERE fresh.n IS DISTINCT FROM stored.n
        GROUP BY list, key
    ),
    cut AS (
        -- Entries 1..lo come before the span, lo + 1..hi are in it, hi + 1..m after it.
        SELECT c.list, c.key, coalesce(t.weeks, '{{}}') AS weeks,
               coalesce(t.cum, '{{}}') AS cum, coalesce(t.base, 0) AS base,
               coalesce(width_bucket(CAST(:first AS timestamptz) - {_WEEK}, t.weeks), 0) AS lo,
               coalesce(width_bucket(CAST(:last AS timestamptz), t.weeks), 0) AS hi,
               coalesce(cardinality(t.weeks), 0) AS m
        FROM changed c
        LEFT JOIN report_tallies t USING (list, key)
    ),
    sides AS (
        SELECT list, key, weeks, cum, base, lo, hi, m,
               coalesce(cum[lo], base) AS before, coalesce(cum[hi], base) AS after,
               m - hi <= lo AS keep_before
        FROM cut
    ),
    span AS (
        -- Each total less the one before it (the base before the first) is a week's count.
        SELECT s.list, s.key, e.week, e.total - e.previous AS n
        FROM sides s
        CROSS JOIN LATERAL unnest(s.weeks[s.lo + 1:s.hi], s.cum[s.lo + 1:s.hi],
                                  (s.base || s.cum)[s.lo + 1:s.hi]) AS e(week, total, previous)
        WHERE e.week <> ALL(CAST(:recomputed AS timestamptz[]))
        UNION ALL
        SELECT f.list, f.key, f.week, f.n FROM fresh f JOIN changed USING (list, key)
    ),
    running AS (
        SELECT p.list, p.key, p.week, p.n,
               (CASE WHEN s.keep_before THEN s.before ELSE s.after - sum(p.n) OVER whole END
                + sum(p.n) OVER (whole ORDER BY p.week))::int AS total
        FROM span p
        JOIN sides s USING (list, key)
        WINDOW whole AS (PARTITION BY p.list, p.key)
    ),
    spans AS (
        SELECT list, key, array_agg(week ORDER BY week) AS weeks,
               array_agg(total ORDER BY week) AS cum, sum(n)::int AS n
        FROM running
        GROUP BY list, key
    ),
    moved AS (
        -- What the totals before and after the span move by: one of the two is 0.
        SELECT s.list, s.key, s.weeks, s.cum, s.base, s.lo, s.hi, s.m,
               coalesce(p.weeks, '{{}}') AS span_weeks, coalesce(p.cum, '{{}}') AS span_cum,
               CASE WHEN s.keep_before THEN 0
                    ELSE s.after - coalesce(p.n, 0) - s.before END AS by_before,
               CASE WHEN s.keep_before THEN s.before + coalesce(p.n, 0) - s.after
                    ELSE 0 END AS by_after
        FROM sides s
        LEFT JOIN spans p USING (list, key)
    ),
    rebuilt AS (
        SELECT list, key, base + by_before AS base,
               weeks[1:lo] || span_weeks || weeks[hi + 1:m] AS weeks,
               CASE WHEN by_before = 0 OR lo = 0 THEN cum[1:lo]
                    ELSE ARRAY(SELECT x + by_before FROM unnest(cum[1:lo]) WITH ORDINALITY
                               AS u(x, i) ORDER BY i) END
               || span_cum
               || CASE WHEN by_after = 0 OR hi = m THEN cum[hi + 1:m]
                       ELSE ARRAY(SELECT x + by_after FROM unnest(cum[hi + 1:m]) WITH ORDINALITY
                                  AS u(x, i) ORDER BY i) END AS cum
        FROM moved
    ),
    emptied AS (
        DELETE FROM report_tallies t
        USING rebuilt r
        WHERE t.list = r.list AND t.key = r.key AND cardinality(r.weeks) = 0
    )
    INSERT INTO report_tallies (list, key, base, weeks, cum)
    SELECT list, key, base, weeks, cum FROM rebuilt WHERE cardinality(weeks) > 0
    ON CONFLICT (list, key) DO UPDATE
        SET base = excluded.base, weeks = excluded.weeks, cum = excluded.cum
    """
)


async def use_memory_for_sorts(session: AsyncSession) -> None:
    """Rolling a few weeks groups and sorts a few hundred thousand rows: in memory, in this
    transaction only, rather than spilled to disk under the default 4 MB. And no JIT: these
    statements' estimated costs start it, and compiling takes longer than it saves."""
    await session.execute(text("SET LOCAL work_mem = '128MB'"))
    await session.execute(text("SET LOCAL jit = off"))


def _clocks(row: Row[Any], median: float | None, p90: float | None) -> Clocks:
    return Clocks(
        week=row.week,
        cases=row.cases,
        payout_disputes=row.payout_disputes,
        acknowledged_in_time=row.acknowledged_in_time,
        acknowledgement_due=row.acknowledgement_due,
        resolved_in_time=row.resolved_in_time,
        resolution_due=row.resolution_due,
        resolved=row.resolved,
        median_seconds=median,
        p90_seconds=p90,
    )


async def live_clocks(
    session: AsyncSession, split: Split, rules: ClockRules, now: datetime
) -> list[Clocks]:
    """The live parts' weeks that have cases."""
    rows = await session.execute(_LIVE_CLOCKS, {**split.params(), **rules.params(now)})
    return [_clocks(row, *(row.resolution_seconds or (None, None))) for row in rows]


async def rolled_weeks(session: AsyncSession, split: Split) -> list[tuple[Clocks, int]]:
    """The rolled weeks' clocks and orders, in order."""
    rows = await session.execute(_ROLLED_WEEKS, split.params())
    return [(_clocks(row, row.median_seconds, row.p90_seconds), row.orders) for row in rows]


async def percentiles(session: AsyncSession, split: Split) -> tuple[float | None, float | None]:
    """The period's median and 90th percentile resolution time, in seconds."""
    params = {**split.params(), "percentiles": list(PERCENTILES)}
    values = (await session.execute(_PERCENTILES, params)).scalar_one()
    median, p90 = values or (None, None)
    return median, p90


async def counts(session: AsyncSession, split: Split, top: int) -> dict[str, list[Count]]:
    """Lists by name: outcome (every type and outcome), and the top ``top`` of vendor,
    reason and root_cause (reason and vendor), largest first."""
    rows = await session.execute(_COUNTS, {**split.params(), "top": top})
    lists: dict[str, list[Count]] = {"outcome": [], "vendor": [], "reason": [], "root_cause": []}
    for row in rows:
        lists[row.list].append(
            Count(
                case_type=row.case_type,
                outcome=row.outcome,
                reason=row.reason,
                vendor_id=row.vendor_id,
                cases=row.cases,
                payout_disputes=row.payout_disputes,
            )
        )
    # By type, then outcome; the undecided last.
    lists["outcome"].sort(key=lambda c: (c.case_type or "", c.outcome is None, c.outcome or ""))
    return lists


async def live_orders(session: AsyncSession, split: Split) -> dict[datetime | None, int]:
    """Orders created in the live parts, by week (never None: the caller adds the total)."""
    rows = await session.execute(_LIVE_ORDERS, split.params())
    return {row.week: row.orders for row in rows}


async def feedback(session: AsyncSession, period: Period, satisfied: int) -> tuple[int, int]:
    """(responses, scores of at least ``satisfied``) given in the period."""
    row = (
        await session.execute(
            _FEEDBACK, {"since": period.since, "until": period.until, "satisfied": satisfied}
        )
    ).one()
    return int(row.responses), int(row.satisfied)


async def activity(session: AsyncSession) -> tuple[datetime, int]:
    """The start of the oldest transaction running on this database that this role may see
    (this one included), and how many others hold a transaction open unseen."""
    row = (await session.execute(_ACTIVITY)).one()
    return row.since, row.unseen


async def lock_rollup(session: AsyncSession) -> None:
    """Waits for any other report rolling weeks; held until this transaction ends."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ROLLUP_LOCK})


async def try_lock_rollup(session: AsyncSession) -> bool:
    """As lock_rollup, but False at once when another transaction is rolling."""
    locked: bool = (
        await session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _ROLLUP_LOCK})
    ).scalar_one()
    return locked


async def watermark(session: AsyncSession) -> datetime | None:
    mark: datetime | None = (await session.execute(_WATERMARK)).scalar_one_or_none()
    return mark


async def set_watermark(session: AsyncSession, mark: datetime) -> None:
    await session.execute(_SET_WATERMARK, {"watermark": mark})


async def bases(session: AsyncSession, split: Split) -> dict[datetime, str]:
    """The rolled weeks of the split's middle that exist, and the rules each was rolled by."""
    rows = await session.execute(_BASES, split.params())
    return {row.week: row.basis for row in rows}


async def all_weeks(session: AsyncSession) -> list[datetime]:
    """Every rolled week."""
    return [row.week for row in await session.execute(_ALL_WEEKS)]


async def changed_weeks(session: AsyncSession, since: datetime | None) -> list[datetime]:
    """Rolled weeks with a case updated (or opened) from ``since`` on; all without one."""
    if since is None:
        return await all_weeks(session)
    return [row.week for row in await session.execute(_CHANGED_WEEKS, {"watermark": since})]


async def cases_by_week(session: AsyncSession, weeks: Sequence[datetime]) -> dict[datetime, int]:
    rows = await session.execute(_CASES_BY_WEEK, {"weeks": list(weeks)})
    return {row.week: row.cases for row in rows}


async def roll(
    session: AsyncSession,
    weeks: Sequence[datetime],
    dropped: Sequence[datetime],
    rules: ClockRules,
    now: datetime,
) -> None:
    """(Re)rolls ``weeks`` from their cases and orders, and takes ``dropped`` out."""
    recomputed = sorted({*weeks, *dropped})
    if not recomputed:
        return
    if dropped:
        await session.execute(_DROP_WEEKS, {"weeks": list(dropped)})
    if weeks:
        await session.execute(
            _ROLL_WEEKS, {"weeks": list(weeks), "basis": rules.basis, **rules.params(now)}
        )
    await session.execute(_DROP_DURATIONS, {"weeks": recomputed})
    if weeks:
        await session.execute(_ROLL_DURATIONS, {"weeks": list(weeks)})
    await session.execute(
        _ROLL_TALLIES,
        {
            "weeks": list(weeks),
            "recomputed": recomputed,
            "first": recomputed[0],
            "last": recomputed[-1],
        },
    )
