"""A small data set for the summary report, whose every figure is worked out by hand
below (the cases are written by SQL with chosen times): `EXPECTED` is the report of `PERIOD`.

The period is the two weeks from Monday 2026-01-05 to Monday 2026-01-19 (UTC); its clocks
have all run out long before the tests run.

    case wk type                order vendor reason                 outcome              ack  done
    c1   1  payout_dispute      O-1   V-1    not_paid               resolved_paid        0    2 h
    c2   1  payout_dispute      O-2   V-1    paid_less              resolved_paid_by_pl. 30 m 50 h
    c3   1  payment_discrepancy O-3   V-2    overpayment            refund               2 h  50 h
    c4   1  fail_reason         O-5   V-2    rude_behaviour         failed_vendor_fault  -    4 h
    c5   1  fail_reason         -     V-1    customer_not_available (undecided)          -    no
    c6   2  payout_dispute      O-61  V-1    not_paid               escalated_pending_m. 0    no
    c7   2  payment_discrepancy O-62  V-3    chargeback             refund               1 h  48 h
    c8   2  payout_dispute      O-61  V-2    not_paid               resolved_paid        0    6 h
    (one case a minute before the period and one at its end, c9 for O-100, are left out)

Orders: 60 in week 1, 40 in week 2 (and one each side of the period, left out).
The discrepancies were found in payment records 30 minutes (c3) and 2 hours (c7) before.
Feedback given in the period: 5, 4, 2, 3; communication 5, -, 3, 4 (one given after the
period is left out).
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import (
    CASE_ROW,
    FEEDBACK_ROW,
    ORDER_ROW,
    case_row,
)

SINCE = "2026-01-05T00:00:00Z"
UNTIL = "2026-01-19T00:00:00Z"
PERIOD = {"since": SINCE, "until": UNTIL}
H = 3600  # seconds

# id, opened, type, order, vendor, reason, outcome, acknowledged after (s), resolved after (s)
Row = tuple[str, str, str, str | None, str, str, str | None, int | None, int | None]
CASES: list[Row] = [
    (
        "c1",
        "2026-01-05T10:00Z",
        "payout_dispute",
        "O-1",
        "V-1",
        "not_paid",
        "resolved_paid",
        0,
        2 * H,
    ),
    (
        "c2",
        "2026-01-06T10:00Z",
        "payout_dispute",
        "O-2",
        "V-1",
        "paid_less",
        "resolved_paid_by_platform",
        30 * 60,
        50 * H,
    ),
    (
        "c3",
        "2026-01-07T10:00Z",
        "payment_discrepancy",
        "O-3",
        "V-2",
        "overpayment",
        "refund",
        2 * H,
        50 * H,
    ),
    (
        "c4",
        "2026-01-08T10:00Z",
        "fail_reason",
        "O-5",
        "V-2",
        "rude_behaviour",
        "failed_vendor_fault",
        None,
        4 * H,
    ),
    (
        "c5",
        "2026-01-09T10:00Z",
        "fail_reason",
        None,
        "V-1",
        "customer_not_available",
        None,
        None,
        None,
    ),
    (
        "c6",
        "2026-01-12T09:00Z",
        "payout_dispute",
        "O-61",
        "V-1",
        "not_paid",
        "escalated_pending_manager",
        0,
        None,
    ),
    (
        "c7",
        "2026-01-13T12:00Z",
        "payment_discrepancy",
        "O-62",
        "V-3",
        "chargeback",
        "refund",
        H,
        48 * H,
    ),
    (
        "c8",
        "2026-01-14T12:00Z",
        "payout_dispute",
        "O-61",
        "V-2",
        "not_paid",
        "resolved_paid",
        0,
        6 * H,
    ),
    # Outside the period: a minute before it, and at its (excluded) end.
    ("c0", "2026-01-04T23:59Z", "payout_dispute", None, "V-3", "not_paid", "resolved_paid", 0, H),
    (
        "c9",
        "2026-01-19T00:00Z",
        "payout_dispute",
        "O-100",
        "V-3",
        "not_paid",
        "resolved_paid",
        0,
        H,
    ),
]
DETECTED = {"c3": 30 * 60, "c7": 2 * H}  # seconds before the case opened
FEEDBACK = [
    ("c1", 5, 5, "2026-01-05T13:00Z"),
    ("c2", 4, None, "2026-01-08T13:00Z"),
    ("c3", 2, 3, "2026-01-09T13:00Z"),
    ("c7", 3, 4, "2026-01-16T13:00Z"),
    ("c8", 5, 5, "2026-01-19T01:00Z"),  # after the period
]


def opened(when: str) -> datetime:
    return datetime.fromisoformat(when)


async def load(db_engine: AsyncEngine) -> None:
    """Writes the data set: the vendors, the orders, the cases and their feedback."""
    async with db_engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO vendors (id, max_leads) VALUES ('V-1', 10), ('V-2', 10), ('V-3', 10)")
        )
        orders = [("O-0", opened("2026-01-04T23:00Z")), ("O-101", opened("2026-01-19T00:00Z"))]
        orders += [
            (f"O-{n}", opened("2026-01-05T00:00Z") + timedelta(hours=2 * n)) for n in range(1, 61)
        ]
        orders += [
            (f"O-{n}", opened("2026-01-12T00:00Z") + timedelta(hours=2 * (n - 60)))
            for n in range(61, 101)
        ]
        await connection.execute(
            ORDER_ROW,
            [{"id": order_id, "created_at": at} for order_id, at in orders],
        )
        await connection.execute(
            CASE_ROW,
            [
                case_row(
                    id=case_id,
                    case_type=case_type,
                    order_id=order_id,
                    vendor_id=vendor_id,
                    outcome=outcome,
                    reason=reason,
                    created_at=opened(when),
                    acknowledged_at=None if ack is None else opened(when) + timedelta(0, ack),
                    resolved_at=None if done is None else opened(when) + timedelta(0, done),
                    detected_at=(
                        opened(when) - timedelta(0, DETECTED[case_id])
                        if case_id in DETECTED
                        else None
                    ),
                )
                for case_id, when, case_type, order_id, vendor_id, reason, outcome, ack, done in (
                    CASES
                )
            ],
        )
        await connection.execute(
            FEEDBACK_ROW,
            [
                {
                    "case_id": case_id,
                    "score": score,
                    "communication_score": communication,
                    "created_at": opened(when),
                }
                for case_id, score, communication, when in FEEDBACK
            ],
        )


def share(count: int, of: int, target: float, comparison: str = "at_least") -> dict[str, Any]:
    value = count / of if of else None
    met = None
    if value is not None:
        met = value >= target if comparison == "at_least" else value < target
    return {
        "count": count,
        "of": of,
        "share": {
            "value": value,
            "target": target,
            "comparison": comparison,
            "met": met,
            "unit": "share",
        },
    }


def hours(value: float | None, target: float = 48.0) -> dict[str, Any]:
    return {
        "value": value,
        "target": target,
        "comparison": "below",
        "met": None if value is None else value < target,
        "unit": "hours",
    }


def typed(
    case_type: str, cases: int, resolved: int, in_time: int, due: int, mean: float | None
) -> dict[str, Any]:
    return {
        "case_type": case_type,
        "cases": cases,
        "resolved": resolved,
        "resolution": share(in_time, due, 0.95),
        "resolution_hours_mean": hours(mean),
    }


def logging(seconds: list[int]) -> dict[str, Any]:
    """Time to logging of cases logged this many seconds after their record (1 or 2 of them),
    worked out as percentile_cont does, in seconds."""
    lo, hi = min(seconds, default=0), max(seconds, default=0)
    return {
        "cases": len(seconds),
        "within": share(sum(1 for s in seconds if s <= H), len(seconds), 1.0),
        "hours_mean": hours(sum(seconds) / len(seconds) / H if seconds else None, 1.0),
        "hours_median": hours((lo + 0.5 * (hi - lo)) / H if seconds else None, 1.0),
        "hours_p90": hours((lo + 0.9 * (hi - lo)) / H if seconds else None, 1.0),
    }


EXPECTED: dict[str, Any] = {
    "since": "2026-01-05T00:00:00Z",
    "until": "2026-01-19T00:00:00Z",
    "bucket": "week",
    "targets": {
        "first_response_hours": 1.0,
        "acknowledged_share": 1.0,
        "resolution_hours": 48.0,
        "resolved_share": 0.95,
        "logging_hours": 1.0,
        "logged_share": 1.0,
        "dispute_rate": 0.02,
        "satisfied_share": 0.9,
        "communication_satisfied_share": 0.95,
        "satisfied_min_score": 4,
    },
    "cases": 8,
    "resolved": 6,  # c1, c2, c3, c4, c7, c8
    "orders": 100,
    # Resolved in time (48 h, c7 exactly), of the cases resolved or whose 48 h are over.
    "by_type": [
        typed("fail_reason", 2, 1, 1, 2, 4.0),  # c4 4 h; c5 never
        typed("payment_discrepancy", 2, 2, 1, 2, 49.0),  # c3 50 h, c7 48 h
        typed("payout_dispute", 4, 3, 2, 4, 58 / 3),  # c1 2 h, c2 50 h, c6 never, c8 6 h
    ],
    "by_type_and_outcome": [
        {"case_type": "fail_reason", "outcome": "failed_vendor_fault", "cases": 1},
        {"case_type": "fail_reason", "outcome": None, "cases": 1},
        {"case_type": "payment_discrepancy", "outcome": "refund", "cases": 2},
        {"case_type": "payout_dispute", "outcome": "escalated_pending_manager", "cases": 1},
        {"case_type": "payout_dispute", "outcome": "resolved_paid", "cases": 2},
        {"case_type": "payout_dispute", "outcome": "resolved_paid_by_platform", "cases": 1},
    ],
    # Customer-facing: c1 c2 c3 c6 c7 c8; only c3 (2 h) was late; c7's hour is exactly met.
    "first_response": share(5, 6, 1.0),
    # In 48 h: c1 c4 c7 (exactly 48 h) c8; not: c2 c3 (50 h), c5 c6 (never).
    "resolution": share(4, 8, 0.95),
    # Resolved in hours, sorted: 2 4 6 48 50 50, 160 in all. percentile_cont: the median lies
    # halfway between the 3rd and 4th (6 and 48): 27; the 90th at 0.9 x 5 = 4.5, between 50
    # and 50.
    "resolution_hours_mean": hours(160 / 6),
    "resolution_hours_median": hours(27.0),
    "resolution_hours_p90": hours(50.0),
    # c3 half an hour after its record, c7 two hours.
    "time_to_logging": logging([30 * 60, 2 * H]),
    # Orders with a payout dispute or discrepancy: O-1 O-2 O-3 O-61 (twice) O-62, and O-100,
    # whose dispute opened after the period; not O-5 (a fail reason).
    "dispute_rate": share(6, 100, 0.02, "below"),
    # Scores 5 4 2 3 in the period: two of four are 4 or more.
    "satisfaction": share(2, 4, 0.9),
    # Communication 5 3 4 (one not given): two of three.
    "communication_satisfaction": share(2, 3, 0.95),
    "top_vendors": [
        {"vendor_id": "V-1", "cases": 4, "payout_disputes": 3},  # c1 c2 c5 c6
        {"vendor_id": "V-2", "cases": 3, "payout_disputes": 1},  # c3 c4 c8
        {"vendor_id": "V-3", "cases": 1, "payout_disputes": 0},  # c7
    ],
    # Most cases first; ties by case type, then reason.
    "top_reasons": [
        {"case_type": "payout_dispute", "reason": "not_paid", "cases": 3},
        {"case_type": "fail_reason", "reason": "customer_not_available", "cases": 1},
        {"case_type": "fail_reason", "reason": "rude_behaviour", "cases": 1},
        {"case_type": "payment_discrepancy", "reason": "chargeback", "cases": 1},
        {"case_type": "payment_discrepancy", "reason": "overpayment", "cases": 1},
        {"case_type": "payout_dispute", "reason": "paid_less", "cases": 1},
    ],
    "root_causes": [
        {"case_type": "payout_dispute", "reason": "not_paid", "vendor_id": "V-1", "cases": 2},
        {
            "case_type": "fail_reason",
            "reason": "customer_not_available",
            "vendor_id": "V-1",
            "cases": 1,
        },
        {"case_type": "fail_reason", "reason": "rude_behaviour", "vendor_id": "V-2", "cases": 1},
        {
            "case_type": "payment_discrepancy",
            "reason": "chargeback",
            "vendor_id": "V-3",
            "cases": 1,
        },
        {
            "case_type": "payment_discrepancy",
            "reason": "overpayment",
            "vendor_id": "V-2",
            "cases": 1,
        },
        {"case_type": "payout_dispute", "reason": "not_paid", "vendor_id": "V-2", "cases": 1},
        {"case_type": "payout_dispute", "reason": "paid_less", "vendor_id": "V-1", "cases": 1},
    ],
    "buckets": [
        {
            "start": "2026-01-05",
            "since": "2026-01-05T00:00:00Z",
            "until": "2026-01-12T00:00:00Z",
            "cases": 5,
            "resolved": 4,
            "orders": 60,
            "by_type": [
                typed("fail_reason", 2, 1, 1, 2, 4.0),
                typed("payment_discrepancy", 1, 1, 0, 1, 50.0),
                typed("payout_dispute", 2, 2, 1, 2, 26.0),
            ],
            "first_response": share(2, 3, 1.0),  # c1 c2 in time, c3 late
            "resolution": share(2, 5, 0.95),  # c1 c4
            # 2 4 50 50: median halfway between 4 and 50; 90th at 2.7, between 50 and 50.
            "resolution_hours_mean": hours(26.5),
            "resolution_hours_median": hours(27.0),
            "resolution_hours_p90": hours(50.0),
            "time_to_logging": logging([30 * 60]),
            "dispute_rate": share(3, 60, 0.02, "below"),  # O-1 O-2 O-3
            "satisfaction": share(2, 3, 0.9),  # 5 4 2
            "communication_satisfaction": share(1, 2, 0.95),  # 5 3
        },
        {
            "start": "2026-01-12",
            "since": "2026-01-12T00:00:00Z",
            "until": "2026-01-19T00:00:00Z",
            "cases": 3,
            "resolved": 2,
            "orders": 40,
            "by_type": [
                typed("payment_discrepancy", 1, 1, 1, 1, 48.0),
                typed("payout_dispute", 2, 1, 1, 2, 6.0),
            ],
            "first_response": share(3, 3, 1.0),
            "resolution": share(2, 3, 0.95),  # c7 c8
            # 6 48: median 27, 90th at 0.9 of the way: 6 + 0.9 x 42 = 43.8.
            "resolution_hours_mean": hours(27.0),
            "resolution_hours_median": hours(27.0),
            "resolution_hours_p90": hours(43.8),
            "time_to_logging": logging([2 * H]),
            "dispute_rate": share(3, 40, 0.02, "below"),  # O-61 O-62 O-100
            "satisfaction": share(0, 1, 0.9),  # 3
            "communication_satisfaction": share(1, 1, 0.95),  # 4
        },
    ],
}
