"""The summary report of 002_88f20d6ee5b80bb7.txt ("Reporting and Analytics"): volumes, the
service-level clocks, dispute rate, satisfaction and root causes, each figure beside its
target from the policy values. The figures are computed in PostgreSQL
(app.repositories.reports); this module only puts them side by side."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories import clock, reports
from app.repositories.reports import ClockRules, Clocks, Period
from app.rules_engine.policy import Policy
from app.schemas.reports import (
    Figure,
    ReasonCount,
    RootCause,
    Share,
    Summary,
    Targets,
    TypeOutcome,
    VendorCount,
    Week,
)
from app.services import report_rollup
from app.services.cases import CUSTOMER_FACING
from app.services.errors import InvalidRequest

DEFAULT_DAYS = 28
TOP = 10
SATISFIED_MIN_SCORE = 4
# Section and figure names of the CSV, one row per figure.
CSV_HEADER = ("section", "name", "value", "target")


def _targets(policy: Policy) -> Targets:
    return Targets(
        first_response_hours=policy.first_response_hours,
        acknowledged_share=1.0,
        resolution_hours=policy.resolution_hours,
        resolved_share=policy.resolution_target_percent / 100,
        dispute_rate=policy.dispute_rate_target_percent / 100,
        satisfied_share=policy.satisfaction_target_percent / 100,
        satisfied_min_score=SATISFIED_MIN_SCORE,
    )


def _share(count: int, of: int, target: float) -> Share:
    """A share to reach: met at or above the target."""
    value = count / of if of else None
    met = None if value is None else value >= target
    figure = Figure(value=value, target=target, comparison="at_least", met=met, unit="share")
    return Share(count=count, of=of, share=figure)


def _rate(count: int, of: int, ceiling: float) -> Share:
    """A share to stay under: met below the target."""
    value = count / of if of else None
    met = None if value is None else value < ceiling
    figure = Figure(value=value, target=ceiling, comparison="below", met=met, unit="share")
    return Share(count=count, of=of, share=figure)


def _hours(seconds: float | None, ceiling: float) -> Figure:
    value = None if seconds is None else seconds / 3600
    met = None if value is None else value < ceiling
    return Figure(value=value, target=ceiling, comparison="below", met=met, unit="hours")


@dataclass(frozen=True)
class _ClockFigures:
    first_response: Share
    resolution: Share
    median: Figure
    p90: Figure


def _clock_figures(row: Clocks, targets: Targets) -> _ClockFigures:
    return _ClockFigures(
        first_response=_share(
            row.acknowledged_in_time, row.acknowledgement_due, targets.acknowledged_share
        ),
        resolution=_share(row.resolved_in_time, row.resolution_due, targets.resolved_share),
        median=_hours(row.median_seconds, targets.resolution_hours),
        p90=_hours(row.p90_seconds, targets.resolution_hours),
    )


def _total(weeks: list[Clocks], median: float | None, p90: float | None) -> Clocks:
    """The whole period: the sum of its weeks, and its own percentiles."""
    return Clocks(
        week=None,
        cases=sum(w.cases for w in weeks),
        payout_disputes=sum(w.payout_disputes for w in weeks),
        acknowledged_in_time=sum(w.acknowledged_in_time for w in weeks),
        acknowledgement_due=sum(w.acknowledgement_due for w in weeks),
        resolved_in_time=sum(w.resolved_in_time for w in weeks),
        resolution_due=sum(w.resolution_due for w in weeks),
        resolved=sum(w.resolved for w in weeks),
        median_seconds=median,
        p90_seconds=p90,
    )


def _period(since: datetime | None, until: datetime | None, now: datetime) -> Period:
    until = until or now
    since = since or until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise InvalidRequest(
            f"since ({since.isoformat()}) must be before until ({until.isoformat()}).",
            "since",
            where="query",
        )
    return Period(since=since, until=until)


def _clock_rules(policy: Policy) -> ClockRules:
    return ClockRules(
        customer_facing=tuple(sorted(CUSTOMER_FACING)),
        first_response=timedelta(hours=policy.first_response_hours),
        resolution=timedelta(hours=policy.resolution_hours),
    )


async def roll_ahead(
    session: AsyncSession, policy: Policy, weeks: int, *, wait: bool
) -> int | None:
    """Rolls the finished weeks of the last ``weeks`` that a summary would roll, so that no
    request waits for them. Returns how many it rolled; None when, not waiting, it found
    another transaction rolling them."""
    now = await clock.now(session)
    await reports.use_memory_for_sorts(session)
    period = Period(since=now - timedelta(weeks=weeks), until=now)
    return await report_rollup.roll(session, period, _clock_rules(policy), now, wait=wait)


async def summary(
    session: AsyncSession, policy: Policy, since: datetime | None, until: datetime | None
) -> Summary:
    """The period's report; without ``since`` and ``until``, the last four weeks."""
    now = await clock.now(session)
    period = _period(since, until, now)
    targets = _targets(policy)
    rules = _clock_rules(policy)
    await reports.use_memory_for_sorts(session)
    split = await report_rollup.prepare(session, period, rules, now)
    rolled = await reports.rolled_weeks(session, split)
    live = await reports.live_clocks(session, split, rules, now)
    median, p90 = await reports.percentiles(session, split)
    lists = await reports.counts(session, split, TOP)
    orders = await reports.live_orders(session, split)
    orders.update((row.week, n) for row, n in rolled)
    orders[None] = sum(orders.values())
    responses, satisfied = await reports.feedback(session, period, SATISFIED_MIN_SCORE)
    # Every week of the period with cases: the rolled ones and the live ends never overlap.
    weeks = {row.week: row for row in [*(row for row, _ in rolled if row.cases), *live]}
    total = _total([row for row, _ in rolled] + live, median, p90)

    def dispute_rate(row: Clocks) -> Share:
        return _rate(row.payout_disputes, orders.get(row.week, 0), targets.dispute_rate)

    def week(row: Clocks, start: datetime) -> Week:
        figures = _clock_figures(row, targets)
        return Week(
            week_start=start.date(),
            cases=row.cases,
            orders=orders.get(start, 0),
            first_response=figures.first_response,
            resolution=figures.resolution,
            dispute_rate=dispute_rate(row),
            resolution_hours_median=figures.median,
            resolution_hours_p90=figures.p90,
        )

    overall = _clock_figures(total, targets)
    return Summary(
        since=period.since,
        until=period.until,
        targets=targets,
        cases=total.cases,
        resolved=total.resolved,
        by_type_and_outcome=[
            TypeOutcome(case_type=str(c.case_type), outcome=c.outcome, cases=c.cases)
            for c in lists["outcome"]
        ],
        first_response=overall.first_response,
        resolution=overall.resolution,
        resolution_hours_median=overall.median,
        resolution_hours_p90=overall.p90,
        dispute_rate=dispute_rate(total),
        satisfaction=_share(satisfied, responses, targets.satisfied_share),
        top_vendors=[
            VendorCount(
                vendor_id=str(c.vendor_id), cases=c.cases, payout_disputes=c.payout_disputes
            )
            for c in lists["vendor"]
        ],
        top_reasons=[
            ReasonCount(case_type=str(c.case_type), reason=str(c.reason), cases=c.cases)
            for c in lists["reason"]
        ],
        root_causes=[
            RootCause(
                case_type=str(c.case_type),
                reason=str(c.reason),
                vendor_id=str(c.vendor_id),
                cases=c.cases,
            )
            for c in lists["root_cause"]
        ],
        weeks=[week(row, start) for start, row in sorted(weeks.items()) if start is not None],
    )


def _share_rows(section: str, name: str, share: Share) -> Iterator[tuple[object, ...]]:
    yield section, f"{name}_count", share.count, ""
    yield section, f"{name}_of", share.of, ""
    yield section, f"{name}_share", share.share.value, share.share.target


def rows(report: Summary) -> Iterator[tuple[object, ...]]:
    """The report as (section, name, value, target) rows, one per figure: what the CSV holds."""
    yield "period", "since", report.since.isoformat(), ""
    yield "period", "until", report.until.isoformat(), ""
    yield "cases", "opened", report.cases, ""
    yield "cases", "resolved", report.resolved, ""
    for c in report.by_type_and_outcome:
        yield "cases_by_type_and_outcome", f"{c.case_type}/{c.outcome or 'undecided'}", c.cases, ""
    yield from _share_rows("clocks", "acknowledged_in_time", report.first_response)
    yield from _share_rows("clocks", "resolved_in_time", report.resolution)
    for name, figure in (
        ("resolution_hours_median", report.resolution_hours_median),
        ("resolution_hours_p90", report.resolution_hours_p90),
    ):
        yield "clocks", name, figure.value, figure.target
    yield from _share_rows("dispute_rate", "payout_disputes_per_order", report.dispute_rate)
    yield from _share_rows("satisfaction", "score_4_or_5", report.satisfaction)
    for v in report.top_vendors:
        yield "top_vendors", v.vendor_id, v.cases, ""
    for r in report.top_reasons:
        yield "top_reasons", f"{r.case_type}/{r.reason}", r.cases, ""
    for rc in report.root_causes:
        yield "root_causes", f"{rc.case_type}/{rc.reason}/{rc.vendor_id}", rc.cases, ""
    for week in report.weeks:
        section = f"week {week.week_start.isoformat()}"
        yield section, "cases", week.cases, ""
        yield section, "orders", week.orders, ""
        yield from _share_rows(section, "acknowledged_in_time", week.first_response)
        yield from _share_rows(section, "resolved_in_time", week.resolution)
        yield from _share_rows(section, "payout_disputes_per_order", week.dispute_rate)
        for name, figure in (
            ("resolution_hours_median", week.resolution_hours_median),
            ("resolution_hours_p90", week.resolution_hours_p90),
        ):
            yield section, name, figure.value, figure.target


def to_csv(report: Summary) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for section, name, value, target in rows(report):
        writer.writerow((section, name, "" if value is None else value, target))
    return out.getvalue()
