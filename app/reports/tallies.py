"""The report's lists (cases by type and outcome, top vendors, top reasons, root causes) over
the rolled spans, kept as running totals (app.models.report.ReportTally).

A group's count over the rolled spans from A to B is the running total at the last span
before B less the one at the last span before A: a list over a year reads one row per group,
not one per group and span. The lists' counts of the period's live ends come from their
cases. Measured against a plain table of each span's counts summed at read time:
bench/report_bench.py.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports.measures import live
from app.reports.periods import Span, Split

# Which list a row grouped by LIST_SETS counts for, and its key (the four columns, those the
# list does not group by NULL): grouping() has a bit for each of outcome, reason and
# vendor_id (most significant first) that the row's grouping set leaves out.
LISTS = """
    CASE grouping(outcome, reason, vendor_id)
        WHEN 3 THEN 'outcome' WHEN 5 THEN 'reason' WHEN 6 THEN 'vendor' ELSE 'root_cause'
    END COLLATE "C" AS list,
    CAST(ARRAY[case_type, outcome, reason, vendor_id] AS text) COLLATE "C" AS key
"""
# A list leaves out the groups without its keys (no reason, no vendor); the outcome list
# keeps the undecided.
LIST_KEYS_PRESENT = """
    CASE grouping(outcome, reason, vendor_id)
        WHEN 5 THEN reason IS NOT NULL
        WHEN 6 THEN vendor_id IS NOT NULL
        WHEN 4 THEN reason IS NOT NULL AND vendor_id IS NOT NULL
        ELSE true
    END
"""
LIST_SETS = """
    (case_type, outcome), (case_type, reason), (case_type, vendor_id),
    (case_type, reason, vendor_id)
"""
# The spans before a bound: timestamps are whole microseconds.
_BEFORE = "- interval '1 microsecond'"

# Each group's count over the rolled spans: the difference of two running totals.
ROLLED_FROM_TOTALS = f"""
    SELECT list, key, n
    FROM (
        SELECT list, key,
               -- width_bucket: a binary search for the last span before the bound.
               coalesce(cum[width_bucket(CAST(:rolled_to AS timestamptz) {_BEFORE}, spans)],
                        base)
               - coalesce(cum[width_bucket(CAST(:rolled_from AS timestamptz) {_BEFORE},
                                           spans)], base) AS n
        FROM report_tallies
        WHERE CAST(:rolled_from AS timestamptz) < :rolled_to
    ) t
    WHERE n > 0
"""


def counts_query(rolled: str) -> TextClause:
    """The lists' statement, with ``rolled`` the (list, key, n) of the rolled spans: the
    running totals here; bench/report_bench.py plugs a plain per-span table in to compare."""
    return text(_COUNTS_TEMPLATE.replace("{rolled}", rolled))


# Keys are split into their parts only for the rows shown (and, for the long root-cause
# list, every group tied with its last), in the database's own collation for the ties.
_COUNTS_TEMPLATE = f"""
    WITH live AS MATERIALIZED (
        SELECT {LISTS}, count(*) AS n
        FROM {live("cases")}
        GROUP BY GROUPING SETS ({LIST_SETS})
        HAVING {LIST_KEYS_PRESENT}
    ),
    rolled AS MATERIALIZED ({{rolled}}),
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
_COUNTS = counts_query(ROLLED_FROM_TOTALS)

# Rolls the spans :recomputed into the running totals: those in :starts from their cases, the
# others (spans dropped from the rollup) to nothing. Only the groups whose count in one of
# those spans changed are rewritten. Of each, the stretch from the first to the last of those
# spans is recounted, and of the totals on either side of it only the shorter side is moved
# (by the change) and the longer kept as it is, the base with it: adding the newest span
# rewrites only that span's totals, and adding older spans before the rolled ones (a longer
# period asked for the first time) only those and the base.
_ROLL = text(
    f"""
    WITH fresh AS (
        SELECT list, key, span, n
        FROM (
            SELECT {LISTS}, w.span, count(*)::int AS n
            FROM unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]))
                 AS w(span, span_end)
            JOIN cases c ON c.created_at >= w.span AND c.created_at < w.span_end
            GROUP BY GROUPING SETS ((w.span, case_type, outcome), (w.span, case_type, reason),
                                    (w.span, case_type, vendor_id),
                                    (w.span, case_type, reason, vendor_id))
            HAVING {LIST_KEYS_PRESENT}
        ) f
    ),
    stored AS (
        SELECT t.list, t.key, r.span, t.cum[p.i] - coalesce(t.cum[p.i - 1], t.base) AS n
        FROM report_tallies t
        CROSS JOIN unnest(CAST(:recomputed AS timestamptz[])) AS r(span)
        CROSS JOIN LATERAL (SELECT array_position(t.spans, r.span) AS i) p
        WHERE t.spans && CAST(:recomputed AS timestamptz[]) AND p.i IS NOT NULL
    ),
    changed AS (
        SELECT list, key
        FROM fresh FULL JOIN stored USING (list, key, span)
        WHERE fresh.n IS DISTINCT FROM stored.n
        GROUP BY list, key
    ),
    cut AS (
        -- Entries 1..lo come before the stretch, lo + 1..hi are in it, hi + 1..m after it.
        SELECT c.list, c.key, coalesce(t.spans, '{{}}') AS spans,
               coalesce(t.cum, '{{}}') AS cum, coalesce(t.base, 0) AS base,
               coalesce(width_bucket(CAST(:first AS timestamptz) {_BEFORE}, t.spans), 0) AS lo,
               coalesce(width_bucket(CAST(:last AS timestamptz), t.spans), 0) AS hi,
               coalesce(cardinality(t.spans), 0) AS m
        FROM changed c
        LEFT JOIN report_tallies t USING (list, key)
    ),
    sides AS (
        SELECT list, key, spans, cum, base, lo, hi, m,
               coalesce(cum[lo], base) AS before, coalesce(cum[hi], base) AS after,
               m - hi <= lo AS keep_before
        FROM cut
    ),
    stretch AS (
        -- Each total less the one before it (the base before the first) is a span's count.
        SELECT s.list, s.key, e.span, e.total - e.previous AS n
        FROM sides s
        CROSS JOIN LATERAL unnest(s.spans[s.lo + 1:s.hi], s.cum[s.lo + 1:s.hi],
                                  (s.base || s.cum)[s.lo + 1:s.hi]) AS e(span, total, previous)
        WHERE e.span <> ALL(CAST(:recomputed AS timestamptz[]))
        UNION ALL
        SELECT f.list, f.key, f.span, f.n FROM fresh f JOIN changed USING (list, key)
    ),
    running AS (
        SELECT p.list, p.key, p.span, p.n,
               (CASE WHEN s.keep_before THEN s.before ELSE s.after - sum(p.n) OVER whole END
                + sum(p.n) OVER (whole ORDER BY p.span))::int AS total
        FROM stretch p
        JOIN sides s USING (list, key)
        WINDOW whole AS (PARTITION BY p.list, p.key)
    ),
    stretches AS (
        SELECT list, key, array_agg(span ORDER BY span) AS spans,
               array_agg(total ORDER BY span) AS cum, sum(n)::int AS n
        FROM running
        GROUP BY list, key
    ),
    moved AS (
        -- What the totals before and after the stretch move by: one of the two is 0.
        SELECT s.list, s.key, s.spans, s.cum, s.base, s.lo, s.hi, s.m,
               coalesce(p.spans, '{{}}') AS new_spans, coalesce(p.cum, '{{}}') AS new_cum,
               CASE WHEN s.keep_before THEN 0
                    ELSE s.after - coalesce(p.n, 0) - s.before END AS by_before,
               CASE WHEN s.keep_before THEN s.before + coalesce(p.n, 0) - s.after
                    ELSE 0 END AS by_after
        FROM sides s
        LEFT JOIN stretches p USING (list, key)
    ),
    rebuilt AS (
        SELECT list, key, base + by_before AS base,
               spans[1:lo] || new_spans || spans[hi + 1:m] AS spans,
               CASE WHEN by_before = 0 OR lo = 0 THEN cum[1:lo]
                    ELSE ARRAY(SELECT x + by_before FROM unnest(cum[1:lo]) WITH ORDINALITY
                               AS u(x, i) ORDER BY i) END
               || new_cum
               || CASE WHEN by_after = 0 OR hi = m THEN cum[hi + 1:m]
                       ELSE ARRAY(SELECT x + by_after FROM unnest(cum[hi + 1:m]) WITH ORDINALITY
                                  AS u(x, i) ORDER BY i) END AS cum
        FROM moved
    ),
    emptied AS (
        DELETE FROM report_tallies t
        USING rebuilt r
        WHERE t.list = r.list AND t.key = r.key AND cardinality(r.spans) = 0
    )
    INSERT INTO report_tallies (list, key, base, spans, cum)
    SELECT list, key, base, spans, cum FROM rebuilt WHERE cardinality(spans) > 0
    ON CONFLICT (list, key) DO UPDATE
        SET base = excluded.base, spans = excluded.spans, cum = excluded.cum
    """
)


@dataclass(frozen=True)
class Count:
    """A row of one of the grouped lists; the keys a list does not group by are None."""

    case_type: str | None
    outcome: str | None
    reason: str | None
    vendor_id: str | None
    cases: int
    payout_disputes: int


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


async def roll(
    session: AsyncSession, rolled: Sequence[Span], recomputed: Sequence[datetime]
) -> None:
    """Rolls the spans ``rolled`` from their cases into the totals, and takes the other spans
    of ``recomputed`` (the starts of all of them, sorted) out."""
    await session.execute(
        _ROLL,
        {
            "starts": [span.start for span in rolled],
            "ends": [span.end for span in rolled],
            "recomputed": list(recomputed),
            "first": recomputed[0],
            "last": recomputed[-1],
        },
    )
