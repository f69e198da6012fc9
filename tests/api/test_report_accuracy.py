"""Reporting accuracy: every figure of the summary, by week and by month, recomputed in plain
Python from the raw rows of a generated data set and compared exactly, with the rollup
rolled and with every case read live.

The data set: ten weeks up to a few minutes ago (so the last cases' clocks still run, and
weeks straddle months), hundreds of cases of every type, resolved or not (some at exactly
48 hours, some a microsecond later), acknowledged in time or late, cases opened from payment
records (some logged at exactly an hour, one with a record dated after it), orders with
several payment disputes or none, and feedback with and without a communication score.
"""

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from math import ceil, floor
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.reports import periods, rollup
from tests.conftest import Headers
from tests.factories import CASE_ROW, FEEDBACK_ROW, ORDER_ROW, case_row

H = timedelta(hours=1)
US = timedelta(microseconds=1)
CUSTOMER_FACING = {"payout_dispute", "payment_discrepancy", "pickup_complaint"}
DISPUTES = {"payout_dispute", "payment_discrepancy"}
REASONS = {
    "payout_dispute": ["not_paid", "paid_less"],
    "pickup_complaint": ["vendor_rude_late_unprofessional", "no_show_or_unreachable"],
    "fail_reason": ["customer_not_available", "rude_behaviour", "wrong_inspection"],
    "payment_discrepancy": ["chargeback", "overpayment", "double_charge"],
}
OUTCOMES = ["resolved_paid", "refund", "failed_vendor_fault", "resolved", None]
VENDORS = [f"V-0{n}" for n in range(1, 9)]
# Targets at the policy defaults (rules/policy.yaml).
FIRST_RESPONSE, RESOLUTION, LOGGING = 1.0, 48.0, 1.0


@dataclass
class Case:
    id: str
    case_type: str
    order_id: str | None
    vendor_id: str | None
    reason: str | None
    outcome: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    detected_at: datetime | None


@dataclass
class Given:
    case_id: str
    score: int
    communication_score: int | None
    created_at: datetime


@dataclass
class DataSet:
    start: datetime
    orders: dict[str, datetime]
    cases: list[Case]
    feedback: list[Given]


def _some(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.random() // US * US


def generate(rng: random.Random, now: datetime) -> DataSet:
    start, end = now - timedelta(weeks=10), now - timedelta(minutes=5)
    orders = {f"O-{n}": _some(rng, start - timedelta(days=5), end) for n in range(300)}
    cases: list[Case] = []
    for n in range(600):
        case_type = rng.choice(list(REASONS))
        opened = _some(rng, start, end)
        acknowledged = resolved = detected = None
        if case_type in CUSTOMER_FACING and rng.random() < 0.85:
            acknowledged = opened + rng.choice([0 * H, H / 2, H, H + US, 3 * H * rng.random()])
        if rng.random() < 0.75:
            took = rng.choice([48 * H, 48 * H + US, 2 * H]) if rng.random() < 0.2 else None
            took = took or timedelta(hours=96) * rng.random() // US * US
            if opened + took < end:
                resolved = opened + took
        if case_type == "payment_discrepancy" or (
            case_type == "payout_dispute" and rng.random() < 0.3
        ):
            before = rng.choice([H, H + US, 3 * H * rng.random(), -timedelta(minutes=7)])
            detected = opened - before // US * US
        cases.append(
            Case(
                id=f"c{n:03}",
                case_type=case_type,
                order_id=rng.choice(list(orders)) if case_type != "pickup_complaint" else None,
                vendor_id=rng.choice([*VENDORS, None]),
                reason=rng.choice([*REASONS[case_type], None]),
                outcome=rng.choice(OUTCOMES),
                created_at=opened,
                acknowledged_at=acknowledged,
                resolved_at=resolved,
                detected_at=detected,
            )
        )
    feedback = [
        Given(
            case_id=case.id,
            score=rng.randint(1, 5),
            communication_score=rng.choice([1, 2, 3, 4, 4, 5, 5, None]),
            created_at=min(case.resolved_at + timedelta(days=3) * rng.random(), end),
        )
        for case in cases
        if case.resolved_at and case.case_type in CUSTOMER_FACING and rng.random() < 0.5
    ]
    return DataSet(start, orders, cases, feedback)


async def store(engine: AsyncEngine, data: DataSet) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO vendors (id, max_leads) SELECT unnest(CAST(:ids AS text[])), 10"),
            {"ids": ["V-1", *VENDORS]},
        )
        rows = [{"id": order_id, "created_at": at} for order_id, at in data.orders.items()]
        await connection.execute(ORDER_ROW, rows)
        await connection.execute(CASE_ROW, [case_row(**vars(case)) for case in data.cases])
        await connection.execute(FEEDBACK_ROW, [vars(given) for given in data.feedback])


# --- The figures, from the rows -------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """As PostgreSQL's percentile_cont computes it."""
    if not values:
        return None
    ordered = sorted(values)
    x = p * (len(ordered) - 1)
    lo, hi = ordered[floor(x)], ordered[ceil(x)]
    return lo + (x - floor(x)) * (hi - lo) if ceil(x) > floor(x) else lo


def figure(value: float | None, target: float, comparison: str, unit: str) -> dict[str, Any]:
    met = None
    if value is not None:
        met = value >= target if comparison == "at_least" else value < target
    return {"value": value, "target": target, "comparison": comparison, "met": met, "unit": unit}


def share(count: int, of: int, target: float, comparison: str = "at_least") -> dict[str, Any]:
    value = count / of if of else None
    return {"count": count, "of": of, "share": figure(value, target, comparison, "share")}


def hours(seconds: float | None, target: float) -> dict[str, Any]:
    return figure(None if seconds is None else seconds / 3600, target, "below", "hours")


def mean(durations: list[timedelta], target: float) -> dict[str, Any]:
    microseconds = sum(d // US for d in durations)
    value = microseconds / (len(durations) * 3_600_000_000) if durations else None
    return figure(value, target, "below", "hours")


def resolution(cases: list[Case], now: datetime) -> dict[str, Any]:
    in_time = [c for c in cases if c.resolved_at and c.resolved_at - c.created_at <= 48 * H]
    due = [c for c in cases if c in in_time or c.created_at <= now - 48 * H]
    return share(len(in_time), len(due), 0.95)


def figures(
    cases: list[Case], orders: list[str], given: list[Given], data: DataSet, now: datetime
) -> dict[str, Any]:
    resolved = [c for c in cases if c.resolved_at]
    took = [c.resolved_at - c.created_at for c in resolved if c.resolved_at]
    facing = [c for c in cases if c.case_type in CUSTOMER_FACING]
    acknowledged = [
        c for c in facing if c.acknowledged_at and c.acknowledged_at <= c.created_at + H
    ]
    due = [c for c in facing if c in acknowledged or c.created_at <= now - H]
    logged = [c.created_at - c.detected_at for c in cases if c.detected_at]
    disputed = {c.order_id for c in data.cases if c.case_type in DISPUTES}
    communicated = [g for g in given if g.communication_score is not None]
    by_type = []
    for case_type in sorted({c.case_type for c in cases}):
        typed = [c for c in cases if c.case_type == case_type]
        typed_took = [c.resolved_at - c.created_at for c in typed if c.resolved_at]
        by_type.append(
            {
                "case_type": case_type,
                "cases": len(typed),
                "resolved": len(typed_took),
                "resolution": resolution(typed, now),
                "resolution_hours_mean": mean(typed_took, RESOLUTION),
            }
        )
    seconds = [t.total_seconds() for t in took]
    logging = [t.total_seconds() for t in logged]
    return {
        "cases": len(cases),
        "resolved": len(resolved),
        "orders": len(orders),
        "by_type": by_type,
        "first_response": share(len(acknowledged), len(due), 1.0),
        "resolution": resolution(cases, now),
        "resolution_hours_mean": mean(took, RESOLUTION),
        "resolution_hours_median": hours(percentile(seconds, 0.5), RESOLUTION),
        "resolution_hours_p90": hours(percentile(seconds, 0.9), RESOLUTION),
        "time_to_logging": {
            "cases": len(logged),
            "within": share(sum(1 for t in logged if t <= H), len(logged), 1.0),
            "hours_mean": mean(logged, LOGGING),
            "hours_median": hours(percentile(logging, 0.5), LOGGING),
            "hours_p90": hours(percentile(logging, 0.9), LOGGING),
        },
        "dispute_rate": share(sum(1 for o in orders if o in disputed), len(orders), 0.02, "below"),
        "satisfaction": share(sum(1 for g in given if g.score >= 4), len(given), 0.9),
        "communication_satisfaction": share(
            sum(1 for g in communicated if (g.communication_score or 0) >= 4),
            len(communicated),
            0.95,
        ),
    }


def top(counts: Counter[Any], n: int = 10) -> list[tuple[Any, int]]:
    """The largest first; ties by key (the database's collation here is C.UTF-8)."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]


def lists(cases: list[Case]) -> dict[str, Any]:
    outcomes = Counter((c.case_type, c.outcome) for c in cases)
    vendors = Counter((c.vendor_id,) for c in cases if c.vendor_id)
    vendor_disputes = Counter(c.vendor_id for c in cases if c.case_type == "payout_dispute")
    reasons = Counter((c.case_type, c.reason) for c in cases if c.reason)
    causes = Counter(
        (c.case_type, c.reason, c.vendor_id) for c in cases if c.reason and c.vendor_id
    )
    # By type, then outcome, the undecided last.
    in_order = sorted(outcomes.items(), key=lambda i: (i[0][0], i[0][1] is None, i[0][1] or ""))
    return {
        "by_type_and_outcome": [
            {"case_type": t, "outcome": o, "cases": n} for (t, o), n in in_order
        ],
        "top_vendors": [
            {"vendor_id": v, "cases": n, "payout_disputes": vendor_disputes[v]}
            for (v,), n in top(vendors)
        ],
        "top_reasons": [{"case_type": t, "reason": r, "cases": n} for (t, r), n in top(reasons)],
        "root_causes": [
            {"case_type": t, "reason": r, "vendor_id": v, "cases": n}
            for (t, r, v), n in top(causes)
        ],
    }


def bucket_starts(since: datetime, until: datetime, kind: str) -> list[datetime]:
    day = since.date()
    first = day - timedelta(days=day.weekday()) if kind == "week" else day.replace(day=1)
    starts = [datetime.combine(first, datetime.min.time(), UTC)]
    while True:
        last = starts[-1].date()
        following = last + timedelta(weeks=1) if kind == "week" else next_month(last)
        moment = datetime.combine(following, datetime.min.time(), UTC)
        if moment >= until:
            return starts
        starts.append(moment)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def expected(data: DataSet, since: datetime, until: datetime, kind: str, now: datetime) -> Any:
    def within(start: datetime, end: datetime) -> tuple[list[Case], list[str], list[Given]]:
        return (
            [c for c in data.cases if start <= c.created_at < end],
            [o for o, at in data.orders.items() if start <= at < end],
            [g for g in data.feedback if start <= g.created_at < end],
        )

    starts = bucket_starts(since, until, kind)
    ends = [*starts[1:], until]
    buckets = []
    for start, end in zip(starts, ends, strict=True):
        part = (max(start, since), min(end, until))
        buckets.append(
            {
                **figures(*within(*part), data, now),
                "start": start.date().isoformat(),
                "since": stamp(part[0]),
                "until": stamp(part[1]),
            }
        )
    cases, orders, given = within(since, until)
    return {
        "since": stamp(since),
        "until": stamp(until),
        "bucket": kind,
        "targets": {
            "first_response_hours": FIRST_RESPONSE,
            "acknowledged_share": 1.0,
            "resolution_hours": RESOLUTION,
            "resolved_share": 0.95,
            "logging_hours": LOGGING,
            "logged_share": 1.0,
            "dispute_rate": 0.02,
            "satisfied_share": 0.9,
            "communication_satisfied_share": 0.95,
            "satisfied_min_score": 4,
        },
        **figures(cases, orders, given, data, now),
        **lists(cases),
        "buckets": buckets,
    }


def differences(got: Any, want: Any, path: str = "") -> list[str]:
    if isinstance(want, dict) and isinstance(got, dict):
        keys = sorted(set(want) | set(got))
        return [d for k in keys for d in differences(got.get(k), want.get(k), f"{path}.{k}")]
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [
            d
            for i, (g, w) in enumerate(zip(got, want, strict=True))
            for d in differences(g, w, f"{path}[{i}]")
        ]
    return [] if got == want else [f"{path}: report {got!r}, rows {want!r}"]


@pytest.fixture
async def data_set(db_engine: AsyncEngine) -> DataSet:
    async with db_engine.connect() as connection:
        now = (await connection.execute(text("SELECT now()"))).scalar_one()
    data = generate(random.Random(1317), now)
    await store(db_engine, data)
    return data


@pytest.mark.parametrize("rolled", [True, False], ids=["rolled", "live"])
async def test_every_figure_is_what_the_raw_rows_give(
    client: AsyncClient,
    ops: Headers,
    data_set: DataSet,
    monkeypatch: pytest.MonkeyPatch,
    rolled: bool,
) -> None:
    if not rolled:

        async def live(_s: object, period: periods.Period, *_: object) -> periods.Split:
            return periods.live(period)

        monkeypatch.setattr(rollup, "prepare", live)
    start = data_set.start
    # The whole data set up to now; and a period cut mid-week and mid-month at both ends.
    asked = [
        {"since": stamp(start - timedelta(days=6))},
        {
            "since": stamp(start + timedelta(days=9, hours=13, microseconds=345)),
            "until": stamp(start + timedelta(days=52, hours=7)),
        },
    ]
    for params in asked:
        for kind in ("week", "month"):
            response = await client.get(
                "/v1/reports/summary", params={**params, "bucket": kind}, headers=ops
            )
            assert response.status_code == 200, response.text
            report = response.json()
            until = datetime.fromisoformat(report["until"])
            now = until if "until" not in params else datetime.now(UTC)
            want = expected(data_set, datetime.fromisoformat(report["since"]), until, kind, now)
            assert differences(report, want) == []
            assert report == want
