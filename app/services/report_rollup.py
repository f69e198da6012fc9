"""Which weeks of a period the summary report reads rolled, and rolling them first if needed.

A week is read rolled when it lies wholly in the period and is final: it ended before every
clock of its cases ran out (so its counts no longer move with the time of the report), and
before every transaction still running began (so no case can be opened in it any more). Its
cases can still change after it was rolled: a report first rolls again every rolled week
with a case updated since the last roll (cases.updated_at is the writing transaction's
start, and the watermark is the start of the oldest transaction running when that roll
began, so no update is missed however long its transaction ran).

Reports and each instance's report roller (app.watcher) roll, one at a time; a case's own
write touches nothing here. SQLAlchemy sets
updated_at on every update the app makes; SQL run by hand or by a migration that changes what
the report counts must set it too, or empty the report_* tables.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories import reports
from app.repositories.reports import MONDAY, WEEK, ClockRules, Period, Split, week_of

# pg_stat_activity shows a transaction's start a moment after now() has fixed it.
ACTIVITY_MARGIN = timedelta(seconds=1)
# Cases rolled per statement (whole weeks, at least one): each statement takes a few seconds,
# well inside the statement timeout however many cases a week holds.
CHUNK_CASES = 100_000


@dataclass(frozen=True)
class _Plan:
    split: Split
    watermark: datetime
    roll: list[datetime]
    drop: list[datetime]


def split(period: Period, final: datetime) -> Split:
    """The period with its whole weeks that ended by ``final`` in the middle."""
    first = week_of(period.since)
    if first < period.since:
        first += WEEK
    end = week_of(min(period.until, final))
    if first < end:
        return Split(since=period.since, rolled_from=first, rolled_to=end, until=period.until)
    return Split(
        since=period.since, rolled_from=period.until, rolled_to=period.until, until=period.until
    )


async def _plan(session: AsyncSession, period: Period, rules: ClockRules, now: datetime) -> _Plan:
    previous = await reports.watermark(session)
    # Read before anything the rolls will read: what they miss is updated from here on.
    active, unseen = await reports.activity(session)
    watermark = active - ACTIVITY_MARGIN
    if unseen:
        # A transaction whose start this role cannot see began after the last roll took its
        # watermark (had it been running then, that roll would have kept the one before):
        # keep that watermark. With none yet, roll nothing.
        watermark = min(watermark, previous or MONDAY)
    final = min(watermark, now - max(rules.first_response, rules.resolution))
    part = split(period, final)
    stored = await reports.bases(session, part)
    changed = await reports.changed_weeks(session, previous)
    roll = {week for week in part.rolled_weeks if stored.get(week) != rules.basis}
    roll.update(week for week in changed if week + WEEK <= final)
    # Rolled once, no longer final (longer clocks now): read live until it is again.
    drop = {week for week in changed if week + WEEK > final}
    return _Plan(split=part, watermark=watermark, roll=sorted(roll), drop=sorted(drop))


async def prepare(session: AsyncSession, period: Period, rules: ClockRules, now: datetime) -> Split:
    """The period's split, with its middle weeks rolled and every rolled week up to date."""
    plan = await _up_to_date(session, period, rules, now, wait=True)
    assert plan is not None  # it waited for any other roll
    return plan.split


async def roll(
    session: AsyncSession, period: Period, rules: ClockRules, now: datetime, *, wait: bool
) -> int | None:
    """What prepare does for the period, ahead of any report: how many weeks it rolled. With
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
        await reports.lock_rollup(session)
    elif not await reports.try_lock_rollup(session):
        return None
    # Another transaction may have rolled them while this one waited.
    plan = await _plan(session, period, rules, now)
    weeks = _outward(sorted({*plan.roll, *plan.drop}), await reports.all_weeks(session))
    for chunk in _chunks(weeks, await reports.cases_by_week(session, plan.roll)):
        await reports.roll(
            session,
            [week for week in chunk if week in plan.roll],
            [week for week in chunk if week in plan.drop],
            rules,
            now,
        )
    await reports.set_watermark(session, plan.watermark)
    return plan


def _outward(weeks: list[datetime], rolled: list[datetime]) -> list[datetime]:
    """``weeks`` in the order that moves the fewest running totals: those among the rolled
    weeks first, then those after them in order, then those before them from the nearest
    back. Each week then joins the rolled ones at an end, where a total only moves on the
    side that has none (report_tallies keeps the other side and moves its base)."""
    if not rolled:
        return weeks
    first, last = min(rolled), max(rolled)
    inside = [week for week in weeks if first <= week <= last]
    after = [week for week in weeks if week > last]
    before = [week for week in reversed(weeks) if week < first]
    return inside + after + before


def _chunks(weeks: list[datetime], cases: dict[datetime, int]) -> list[list[datetime]]:
    """Consecutive runs of ``weeks`` of at most CHUNK_CASES cases (or one week)."""
    chunks: list[list[datetime]] = []
    size = 0
    for week in weeks:
        if not chunks or size + cases.get(week, 0) > CHUNK_CASES:
            chunks.append([])
            size = 0
        chunks[-1].append(week)
        size += cases.get(week, 0)
    return chunks
