"""The summary report's queries: aggregates over the cases and orders of a period.

Each reads the period through the created_at indexes (the cases' one covers every column
read, so the wide JSONB rows are not touched) and does its arithmetic in PostgreSQL: only
weekly rows and top-N lists come back. Weeks start on Monday 00:00 UTC; ``date_bin`` finds
them by arithmetic, where ``date_trunc`` with a time zone looks the zone up row by row.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# A Monday: weeks are counted from it.
_MONDAY = "timestamptz '2001-01-01 00:00+00'"


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime


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
# lower the share. The bounds are parameters so that no row computes them.
_CLOCKS = text(
    f"""
    SELECT date_bin('7 days', created_at, {_MONDAY}) AS week,
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
           percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (
               ORDER BY date_part('epoch', resolved_at - created_at)) AS resolution_seconds
    FROM cases
    WHERE created_at >= :since AND created_at < :until
    GROUP BY ROLLUP (1)
    ORDER BY 1 NULLS FIRST
    """
)

# One pass groups the period's cases by every key a list needs; the lists are sums over
# those few thousand groups.
_COUNTS = text(
    """
    WITH g AS MATERIALIZED (
        SELECT case_type, outcome, reason, vendor_id, count(*) AS n
        FROM cases
        WHERE created_at >= :since AND created_at < :until
        GROUP BY case_type, outcome, reason, vendor_id
    )
    SELECT 'outcome' AS list, case_type, outcome, NULL AS reason, NULL AS vendor_id,
           sum(n)::bigint AS cases, 0::bigint AS payout_disputes
    FROM g GROUP BY case_type, outcome
    UNION ALL (
        SELECT 'vendor', NULL, NULL, NULL, vendor_id, sum(n)::bigint,
               coalesce(sum(n) FILTER (WHERE case_type = 'payout_dispute'), 0)::bigint
        FROM g WHERE vendor_id IS NOT NULL GROUP BY vendor_id
        ORDER BY 6 DESC, 5 LIMIT :top)
    UNION ALL (
        SELECT 'reason', case_type, NULL, reason, NULL, sum(n)::bigint, 0
        FROM g WHERE reason IS NOT NULL GROUP BY case_type, reason
        ORDER BY 6 DESC, 2, 4 LIMIT :top)
    UNION ALL (
        SELECT 'root_cause', case_type, NULL, reason, vendor_id, sum(n)::bigint, 0
        FROM g WHERE reason IS NOT NULL AND vendor_id IS NOT NULL
        GROUP BY case_type, reason, vendor_id
        ORDER BY 6 DESC, 2, 4, 5 LIMIT :top)
    """
)

_ORDERS = text(
    f"""
    SELECT date_bin('7 days', created_at, {_MONDAY}) AS week, count(*) AS orders
    FROM orders
    WHERE created_at >= :since AND created_at < :until
    GROUP BY ROLLUP (1)
    """
)

_FEEDBACK = text(
    """
    SELECT count(*) AS responses, count(*) FILTER (WHERE score >= :satisfied) AS satisfied
    FROM case_feedback
    WHERE created_at >= :since AND created_at < :until
    """
)


async def use_memory_for_sorts(session: AsyncSession) -> None:
    """A period of a million cases sorts about 70 MB for its percentiles: in memory, in this
    transaction only, rather than spilled to disk under the default 4 MB."""
    await session.execute(text("SET LOCAL work_mem = '128MB'"))


async def clocks(
    session: AsyncSession,
    period: Period,
    customer_facing: Collection[str],
    first_response: timedelta,
    resolution: timedelta,
    now: datetime,
) -> list[Clocks]:
    """The whole period first, then each week that has cases."""
    rows = await session.execute(
        _CLOCKS,
        {
            "since": period.since,
            "until": period.until,
            "customer_facing": sorted(customer_facing),
            "first_response": first_response,
            "resolution": resolution,
            "acknowledgement_closed": now - first_response,
            "resolution_closed": now - resolution,
        },
    )
    result = []
    for row in rows:
        median, p90 = row.resolution_seconds or (None, None)
        result.append(
            Clocks(
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
        )
    return result


async def counts(session: AsyncSession, period: Period, top: int) -> dict[str, list[Count]]:
    """Lists by name: outcome (every type and outcome), and the top ``top`` of vendor,
    reason and root_cause (reason and vendor), largest first."""
    rows = await session.execute(
        _COUNTS, {"since": period.since, "until": period.until, "top": top}
    )
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


async def orders(session: AsyncSession, period: Period) -> dict[datetime | None, int]:
    """Orders created in the period, by week; None: all of them."""
    rows = await session.execute(_ORDERS, {"since": period.since, "until": period.until})
    return {row.week: row.orders for row in rows}


async def feedback(session: AsyncSession, period: Period, satisfied: int) -> tuple[int, int]:
    """(responses, scores of at least ``satisfied``) given in the period."""
    row = (
        await session.execute(
            _FEEDBACK, {"since": period.since, "until": period.until, "satisfied": satisfied}
        )
    ).one()
    return int(row.responses), int(row.satisfied)
