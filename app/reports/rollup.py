"""Which spans of a period the summary report reads rolled, and rolling them first if needed.

A span is read rolled when it lies wholly in the period and is final: it ended before every
clock of its cases ran out (so its counts no longer move with the time of the report), and
before every transaction still running began (so no case can be opened in it any more). Its
cases can still change after it was rolled: a report first rolls again every rolled span
with a case updated since the last roll (cases.updated_at is the writing transaction's
start, and the watermark is the start of the oldest transaction running when that roll
began, so no update is missed however long its transaction ran). A payment dispute opened
for an order also rolls again the span of the order (the dispute rate counts it there).

Reports and each instance's report roller (app.watcher) roll, one at a time; a case's own
write touches nothing here. SQLAlchemy sets updated_at on every update the app makes; SQL
run by hand or by a migration that changes what the report counts must set it too, or empty
the report_* tables.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.reports import rollup_tables
from app.reports.measures import ClockRules
from app.reports.periods import MONDAY, Period, Span, Split, span_of, split

# pg_stat_activity shows a transaction's start a moment after now() has fixed it.
ACTIVITY_MARGIN = timedelta(seconds=1)
# Cases rolled per statement (whole spans, at least one): each statement takes a second or two,
# well inside the statement timeout however many cases a span holds.
CHUNK_CASES = 25_000


@dataclass(frozen=True)
class _Plan:
    split: Split
    watermark: datetime
    roll: list[Span]
    drop: list[datetime]


async def _plan(session: AsyncSession, period: Period, rules: ClockRules, now: datetime) -> _Plan:
    previous = await rollup_tables.watermark(session)
    # Read before anything the rolls will read: what they miss is updated from here on.
    active, unseen = await rollup_tables.activity(session)
    watermark = active - ACTIVITY_MARGIN
    if unseen:
        # A transaction whose start this role cannot see began after the last roll took its
        # watermark (had it been running then, that roll would have kept the one before):
        # keep that watermark. With none yet, roll nothing.
        watermark = min(watermark, previous or MONDAY)
    final = min(watermark, now - rules.longest)
    part = split(period, final)
    stored = await rollup_tables.bases(session, part)
    changed = [span_of(start) for start in await rollup_tables.changed_spans(session, previous)]
    roll = {span for span in part.rolled_spans if stored.get(span.start) != rules.basis}
    roll.update(span for span in changed if span.end <= final)
    # Rolled once, no longer final (longer clocks now): read live until it is again.
    drop = {span.start for span in changed if span.end > final}
    return _Plan(
        split=part,
        watermark=watermark,
        roll=sorted(roll, key=lambda span: span.start),
        drop=sorted(drop),
    )


async def prepare(session: AsyncSession, period: Period, rules: ClockRules, now: datetime) -> Split:
    """The period's split, with its middle spans rolled and every rolled span up to date."""
    plan = await _up_to_date(session, period, rules, now, wait=True)
    assert plan is not None  # it waited for any other roll
    return plan.split


async def roll(
    session: AsyncSession, period: Period, rules: ClockRules, now: datetime, *, wait: bool
) -> int | None:
    """What prepare does for the period, ahead of any report: how many spans it rolled. With
    ``wait`` false and another transaction rolling, None at once: that one does the work."""
    plan = await _up_to_date(session, period, rules, now, wait=wait)
    return None if plan is None else len(plan.roll)


async def _up_to_date(
    session: AsyncSession, period: Period, rules: ClockRules, now: datetime, *, wait: bool
) -> _Plan | None:
    """Rolls what the period needs under the rollup's lock; returns the plan carried out
    (none rolled: nothing was needed), or None when not waiting and the lock was taken."""
    plan = await _plan(session, period, rules, now)
    if not plan.roll and not plan.drop:
        return plan
    if wait:
        await rollup_tables.lock(session)
    elif not await rollup_tables.try_lock(session):
        return None
    # Another transaction may have rolled them while this one waited.
    plan = await _plan(session, period, rules, now)
    rolled = {span.start for span in plan.roll}
    starts = _outward(sorted({*rolled, *plan.drop}), await rollup_tables.all_spans(session))
    cases = await rollup_tables.cases_by_span(session, plan.roll)
    for chunk in _chunks(starts, cases):
        await rollup_tables.roll(
            session,
            [span_of(start) for start in chunk if start in rolled],
            [start for start in chunk if start not in rolled],
            rules,
            now,
        )
    await rollup_tables.set_watermark(session, plan.watermark)
    return plan


def _outward(spans: list[datetime], rolled: list[datetime]) -> list[datetime]:
    """``spans`` in the order that moves the fewest running totals: those among the rolled
    spans first, then those after them in order, then those before them from the nearest
    back. Each span then joins the rolled ones at an end, where a total only moves on the
    side that has none (report_tallies keeps the other side and moves its base)."""
    if not rolled:
        return spans
    first, last = min(rolled), max(rolled)
    inside = [span for span in spans if first <= span <= last]
    after = [span for span in spans if span > last]
    before = [span for span in reversed(spans) if span < first]
    return inside + after + before


def _chunks(spans: list[datetime], cases: dict[datetime, int]) -> list[list[datetime]]:
    """Consecutive runs of ``spans`` of at most CHUNK_CASES cases (or one span)."""
    chunks: list[list[datetime]] = []
    size = 0
    for span in spans:
        if not chunks or size + cases.get(span, 0) > CHUNK_CASES:
            chunks.append([])
            size = 0
        chunks[-1].append(span)
        size += cases.get(span, 0)
    return chunks
