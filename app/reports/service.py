"""The summary report (docs/reports.md): volumes, the
service-level clocks, time to logging, dispute rate, satisfaction and root causes, for the
whole period and each week or month of it, each figure beside its target from the policy
values. The figures are computed in PostgreSQL (app.reports.queries, app.reports.tallies);
this module adds up the buckets and puts each figure beside its target."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.views import CUSTOMER_FACING
from app.db import clock
from app.errors import InvalidRequest
from app.reports import periods, queries, rollup, tallies
from app.reports.measures import ClockRules
from app.reports.periods import BucketKind, Period
from app.reports.queries import WHOLE_PERIOD, Clocks, Feedback, Orders, Percentiles
from app.reports.schemas import (
    Bucket,
    Figure,
    Figures,
    Logging,
    ReasonCount,
    RootCause,
    Share,
    Summary,
    Targets,
    TypeClocks,
    TypeOutcome,
    VendorCount,
)
from app.rules_engine.policy import Policy

DEFAULT_DAYS = 28
TOP = 10
SATISFIED_MIN_SCORE = 4
MICROSECONDS_PER_HOUR = 3_600_000_000


def clock_rules(policy: Policy) -> ClockRules:
    return ClockRules(
        customer_facing=tuple(sorted(CUSTOMER_FACING)),
        first_response=timedelta(hours=policy.first_response_hours),
        resolution=timedelta(hours=policy.resolution_hours),
        logging=timedelta(hours=policy.logging_hours),
    )


def _targets(policy: Policy) -> Targets:
    return Targets(
        first_response_hours=policy.first_response_hours,
        acknowledged_share=1.0,
        resolution_hours=policy.resolution_hours,
        resolved_share=policy.resolution_target_percent / 100,
        logging_hours=policy.logging_hours,
        logged_share=1.0,
        dispute_rate=policy.dispute_rate_target_percent / 100,
        satisfied_share=policy.satisfaction_target_percent / 100,
        communication_satisfied_share=policy.communication_satisfaction_target_percent / 100,
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


def _mean(microseconds: int, count: int, ceiling: float) -> Figure:
    # One division of two integers: exact to the last digit, however the sum was added up.
    value = microseconds / (count * MICROSECONDS_PER_HOUR) if count else None
    met = None if value is None else value < ceiling
    return Figure(value=value, target=ceiling, comparison="below", met=met, unit="hours")


def _add(rows: Iterable[Clocks], case_type: str = "") -> Clocks:
    rows = list(rows)
    sums = {
        f.name: sum(getattr(row, f.name) for row in rows)
        for f in fields(Clocks)
        if f.name not in ("bucket", "case_type")
    }
    return Clocks(bucket=WHOLE_PERIOD, case_type=case_type, **sums)


def _figures(
    rows: list[Clocks],
    orders: Orders,
    given: Feedback,
    percentiles: Percentiles,
    bucket: int,
    targets: Targets,
) -> Figures:
    """One bucket's figures (or the whole period's)."""
    total = _add(rows)
    by_type: dict[str, list[Clocks]] = defaultdict(list)
    for row in rows:
        by_type[row.case_type].append(row)
    median, p90 = percentiles.get(("resolution", bucket), (None, None))
    logging_median, logging_p90 = percentiles.get(("logging", bucket), (None, None))
    return Figures(
        cases=total.cases,
        resolved=total.resolved,
        orders=orders.orders,
        by_type=[
            TypeClocks(
                case_type=case_type,
                cases=row.cases,
                resolved=row.resolved,
                resolution=_share(row.resolved_in_time, row.resolution_due, targets.resolved_share),
                resolution_hours_mean=_mean(
                    row.resolution_us, row.resolved, targets.resolution_hours
                ),
            )
            for case_type, row in sorted(
                (case_type, _add(typed, case_type)) for case_type, typed in by_type.items()
            )
        ],
        first_response=_share(
            total.acknowledged_in_time, total.acknowledgement_due, targets.acknowledged_share
        ),
        resolution=_share(total.resolved_in_time, total.resolution_due, targets.resolved_share),
        resolution_hours_mean=_mean(total.resolution_us, total.resolved, targets.resolution_hours),
        resolution_hours_median=_hours(median, targets.resolution_hours),
        resolution_hours_p90=_hours(p90, targets.resolution_hours),
        time_to_logging=Logging(
            cases=total.logged,
            within=_share(total.logged_in_time, total.logged, targets.logged_share),
            hours_mean=_mean(total.logging_us, total.logged, targets.logging_hours),
            hours_median=_hours(logging_median, targets.logging_hours),
            hours_p90=_hours(logging_p90, targets.logging_hours),
        ),
        dispute_rate=_rate(orders.disputed, orders.orders, targets.dispute_rate),
        satisfaction=_share(given.satisfied, given.responses, targets.satisfied_share),
        communication_satisfaction=_share(
            given.communication_satisfied,
            given.communication_responses,
            targets.communication_satisfied_share,
        ),
    )


def _all_orders(values: Iterable[Orders]) -> Orders:
    values = list(values)
    return Orders(sum(o.orders for o in values), sum(o.disputed for o in values))


def _all_feedback(values: Iterable[Feedback]) -> Feedback:
    values = list(values)
    return Feedback(
        responses=sum(f.responses for f in values),
        satisfied=sum(f.satisfied for f in values),
        communication_responses=sum(f.communication_responses for f in values),
        communication_satisfied=sum(f.communication_satisfied for f in values),
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


async def roll_ahead(
    session: AsyncSession, policy: Policy, weeks: int, *, wait: bool
) -> int | None:
    """Rolls the finished spans of the last ``weeks`` that a summary would roll, so that no
    request waits for them. Returns how many it rolled; None when, not waiting, it found
    another transaction rolling them."""
    now = await clock.now(session)
    await queries.use_memory_for_sorts(session)
    period = Period(since=now - timedelta(weeks=weeks), until=now)
    return await rollup.roll(session, period, clock_rules(policy), now, wait=wait)


async def summary(
    session: AsyncSession,
    policy: Policy,
    since: datetime | None,
    until: datetime | None,
    bucket: BucketKind = "week",
) -> Summary:
    """The period's report; without ``since`` and ``until``, the last four weeks."""
    now = await clock.now(session)
    period = _period(since, until, now)
    targets = _targets(policy)
    rules = clock_rules(policy)
    await queries.use_memory_for_sorts(session)
    split = await rollup.prepare(session, period, rules, now)
    buckets = periods.buckets(period, bucket)
    bounds = [b.since for b in buckets]
    clocks = await queries.clocks(session, split, bounds, rules, now)
    orders = await queries.orders(session, split, bounds)
    given = await queries.feedback(session, period, bounds, SATISFIED_MIN_SCORE)
    percentiles = await queries.percentiles(session, split, bounds)
    lists = await tallies.counts(session, split, TOP)

    no_orders, no_feedback = Orders(0, 0), Feedback(0, 0, 0, 0)
    by_bucket: dict[int, list[Clocks]] = defaultdict(list)
    for row in clocks:
        by_bucket[row.bucket].append(row)
    whole = _figures(
        clocks,
        _all_orders(orders.values()),
        _all_feedback(given.values()),
        percentiles,
        WHOLE_PERIOD,
        targets,
    )
    return Summary(
        since=period.since,
        until=period.until,
        bucket=bucket,
        targets=targets,
        **dict(whole),
        by_type_and_outcome=[
            TypeOutcome(case_type=str(c.case_type), outcome=c.outcome, cases=c.cases)
            for c in lists["outcome"]
        ],
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
        buckets=[
            Bucket(
                start=b.label.date(),
                since=b.since,
                until=b.until,
                **dict(
                    _figures(
                        by_bucket[n],
                        orders.get(n, no_orders),
                        given.get(n, no_feedback),
                        percentiles,
                        n,
                        targets,
                    )
                ),
            )
            for n, b in enumerate(buckets, start=1)
        ],
    )
