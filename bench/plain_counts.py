"""The alternative to the report lists' running totals (app.reports.tallies), kept here to
be measured against them by report_bench.py: a plain table of each rolled span's counts per
group, summed at read time. It lives only in the benchmark's scratch database."""

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports import tallies

CREATE = text(
    """
    CREATE TABLE bench_span_counts (
        span timestamptz NOT NULL,
        list text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        n int NOT NULL,
        PRIMARY KEY (span, list, key)
    )
    """
)

FILL = text(
    f"""
    INSERT INTO bench_span_counts (span, list, key, n)
    SELECT w.span, {tallies.LISTS}, count(*)::int
    FROM report_spans w
    JOIN cases c ON c.created_at >= w.span AND c.created_at < w.span_end
    GROUP BY GROUPING SETS ((w.span, case_type, outcome), (w.span, case_type, reason),
                            (w.span, case_type, vendor_id),
                            (w.span, case_type, reason, vendor_id))
    HAVING {tallies.LIST_KEYS_PRESENT}
    """
)

ROLLED_SUMMED = """
    SELECT list, key, sum(n)::bigint AS n
    FROM bench_span_counts
    WHERE span >= :rolled_from AND span < :rolled_to
    GROUP BY list, key
"""

COUNTS: TextClause = tallies.counts_query(ROLLED_SUMMED)


async def build(session: AsyncSession) -> int:
    """Fills the table from the cases of every rolled span; returns its rows."""
    await session.execute(CREATE)
    await session.execute(FILL)
    await session.execute(text("ANALYZE bench_span_counts"))
    rows: int = (await session.execute(text("SELECT count(*) FROM bench_span_counts"))).scalar_one()
    return rows
