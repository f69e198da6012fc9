"""Evaluations per second: the durable-rules adapter vs the fail-reason table as plain Python.

Run from the project root: ``python bench/rules_bench.py [--seconds 2]``. Both sides are
checked to give the same decisions on every sample before anything is timed, so the figures
compare equal work: the adapter's figure includes fact checking, the session per
evaluation, the lock and assembling actions, which is what a request pays.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.effects.catalogue import VOCABULARY  # noqa: E402
from app.rules_engine import Policy, build_engine  # noqa: E402

Decision = tuple[str | None, list[dict[str, Any]], list[str]]


def plain_fail_reasons(facts: dict[str, Any], policy: Policy) -> Decision:
    """rules/fail_reasons.yaml written by hand, same order and same de-duplication."""
    fired: list[str] = []
    actions: list[dict[str, Any]] = []
    outcome: str | None = None

    def add(rule: str, *new: dict[str, Any]) -> None:
        fired.append(rule)
        for action in new:
            if action not in actions:
                actions.append(action)

    fault = facts["fault"]
    status = facts["vendor_status"]
    strikes = facts["strikes_if_vendor_fault"]
    fraud = facts["reason_class"] == "fraud"
    if fault == "undecided":
        outcome = "pending_verdict"
        add("fault_undecided_awaits_verdict")
    if fault == "customer":
        outcome = "failed_customer_fault"
        add(
            "customer_fault_refunds_credits",
            {"type": "credit_refund", "amount": facts["unlock_credits"]},
        )
    if fault == "vendor":
        outcome = "failed_vendor_fault"
        add("vendor_fault_keeps_credits_and_strikes", {"type": "sla_strike"})
        if strikes >= policy.strike_hold_count and status == "active":
            add("strikes_reach_hold_count", {"type": "hold_vendor"})
        if strikes >= policy.strike_deactivate_count and status in ("active", "on_hold"):
            add("strikes_reach_deactivation_count", {"type": "deactivation_review"})
        if fraud and status == "active":
            add("fraud_holds_vendor_at_once", {"type": "hold_vendor"})
        if fraud and status in ("active", "on_hold"):
            add("fraud_opens_deactivation_review", {"type": "deactivation_review"})
    if fault in ("customer", "vendor"):
        if facts["vendor_paid_customer"]:
            add(
                "vendor_paid_customer_wallet_refund_eligible",
                {"type": "wallet_refund_eligible", "amount": facts["amount_paid_to_customer"]},
            )
        add(
            "notify_vendor_of_final_decision",
            {"type": "notify", "audience": "vendor", "template": "fail_decision"},
        )
    return outcome, actions, fired


def samples() -> list[dict[str, Any]]:
    cases = [
        ("customer", "customer_changed_mind", "customer"),
        ("vendor", "arrived_late_beyond_sla", "vendor"),
        ("vendor", "offline_payment_attempt", "fraud"),
        ("undecided", "device_mismatch", "disputed"),
        ("vendor", "fraud_suspicion", "disputed"),
    ]
    result = []
    for (fault, reason, reason_class), strikes, status, paid in itertools.product(
        cases, (1, 3, 5), ("active", "on_hold"), (False, True)
    ):
        result.append(
            {
                "fault": fault,
                "reason": reason,
                "reason_class": reason_class,
                "unlock_credits": 40,
                "vendor_paid_customer": paid,
                "amount_paid_to_customer": 250000 if paid else 0,
                "active_strikes": strikes - 1,
                "strikes_if_vendor_fault": strikes,
                "vendor_status": status,
            }
        )
    return result


def rate(
    evaluate: Callable[[dict[str, Any]], object], facts: list[dict[str, Any]], seconds: float
) -> float:
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for one in facts:
            evaluate(one)
        count += len(facts)
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per side")
    args = parser.parse_args()

    engine = build_engine(ROOT / "rules", os.environ, VOCABULARY)
    facts = samples()
    for one in facts:
        evaluation = engine.evaluate("fail_reasons", one)
        by_engine = (evaluation.outcome, evaluation.actions, evaluation.rules_fired)
        if by_engine != plain_fail_reasons(one, engine.policy):
            raise SystemExit(f"the two disagree on {one}: {by_engine}")

    durable_rate = rate(lambda one: engine.evaluate("fail_reasons", one), facts, args.seconds)
    plain_rate = rate(lambda one: plain_fail_reasons(one, engine.policy), facts, args.seconds)

    print(f"fail_reasons table, {len(facts)} distinct fact sets, ruleset {engine.version}")
    print(
        f"  durable-rules adapter: {durable_rate:>12,.0f} evaluations/s  "
        f"({1e6 / durable_rate:8.1f} µs each)"
    )
    print(
        f"  plain Python if/else:  {plain_rate:>12,.0f} evaluations/s  "
        f"({1e6 / plain_rate:8.1f} µs each)"
    )
    print(f"  plain Python is {plain_rate / durable_rate:.1f}x faster")


if __name__ == "__main__":
    main()
