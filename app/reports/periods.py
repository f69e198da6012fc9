"""The report's calendar, in plain Python: periods, weeks, months, spans and buckets.

Weeks start on Monday 00:00 UTC, months on the 1st at 00:00 UTC. A **span** is the part of
one week that lies in one month: a week straddling two months is two spans, any other week
one. Every week and every month is a whole number of spans, so figures kept per span add up
exactly to either, and the rollup keeps its figures per span.

A **bucket** is one week or one month of a report, cut to the report's period: the first and
last may be shorter than their week or month.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

BucketKind = Literal["week", "month"]

# A Monday: weeks are counted from it.
MONDAY = datetime(2001, 1, 1, tzinfo=UTC)
WEEK = timedelta(weeks=1)


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Bucket:
    """``label`` is the week's Monday or the month's 1st; the bucket holds [since, until)."""

    label: datetime
    since: datetime
    until: datetime


def week_of(moment: datetime) -> datetime:
    """The start of the week ``moment`` is in."""
    return MONDAY + (moment - MONDAY) // WEEK * WEEK


def month_of(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    if month.month == 12:
        return month.replace(year=month.year + 1, month=1)
    return month.replace(month=month.month + 1)


def span_of(moment: datetime) -> Span:
    week, month = week_of(moment), month_of(moment)
    return Span(max(week, month), min(week + WEEK, next_month(month)))


def boundary_after(moment: datetime) -> datetime:
    """The first span boundary at or after ``moment``."""
    span = span_of(moment)
    return span.start if span.start == moment else span.end


def boundary_before(moment: datetime) -> datetime:
    """The last span boundary at or before ``moment``."""
    return span_of(moment).start


def spans(since: datetime, until: datetime) -> list[Span]:
    """The spans from boundary ``since`` to boundary ``until``."""
    found: list[Span] = []
    at = since
    while at < until:
        found.append(span_of(at))
        at = found[-1].end
    return found


def buckets(period: Period, kind: BucketKind) -> list[Bucket]:
    """Every week or month that overlaps the period, cut to it, in order."""
    found: list[Bucket] = []
    label = week_of(period.since) if kind == "week" else month_of(period.since)
    while label < period.until:
        end = label + WEEK if kind == "week" else next_month(label)
        found.append(Bucket(label, max(label, period.since), min(end, period.until)))
        label = end
    return found


@dataclass(frozen=True)
class Split:
    """A period as read: the rolled spans in [rolled_from, rolled_to), and the cases of
    [since, rolled_from) and [rolled_to, until) live. With no rolled spans the two bounds
    are equal and the live parts cover the period."""

    since: datetime
    rolled_from: datetime
    rolled_to: datetime
    until: datetime

    @property
    def rolled_spans(self) -> list[Span]:
        return spans(self.rolled_from, self.rolled_to)

    def params(self) -> dict[str, datetime]:
        return {
            "since": self.since,
            "rolled_from": self.rolled_from,
            "rolled_to": self.rolled_to,
            "until": self.until,
        }


def live(period: Period) -> Split:
    """The period read wholly from its cases."""
    return Split(period.since, period.until, period.until, period.until)


def split(period: Period, final: datetime) -> Split:
    """The period with its whole spans that ended by ``final`` in the middle."""
    first = boundary_after(period.since)
    end = boundary_before(min(period.until, final))
    if first < end:
        return Split(since=period.since, rolled_from=first, rolled_to=end, until=period.until)
    return live(period)
