"""durable-rules' own limits, and how the adapter keeps within them."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import durable_rules_engine  # type: ignore[import-not-found]  # the C binding the adapter drives
import pytest

from app.effects.catalogue import VOCABULARY
from app.rules_engine import RulesError, build_engine
from tests.rules.small_tables import ALSO_VALID, UNJUSTIFIED, engine_with, payout_facts, write_table


def test_more_sequential_evaluations_than_the_session_limit(rules_dir: Path) -> None:
    engine = engine_with(rules_dir, UNJUSTIFIED)
    # Matching and non-matching evaluations both open a session; both must close it.
    for index in range(1_100):
        if index % 2:
            result = engine.evaluate("payouts", payout_facts(shortfall=index))
            assert result.actions[0]["amount"] == index
        else:
            assert engine.evaluate("payouts", payout_facts(claim="not_paid")).outcome is None


def test_failed_evaluations_do_not_leak_sessions(rules_dir: Path) -> None:
    engine = engine_with(
        rules_dir,
        UNJUSTIFIED,
        ALSO_VALID,
    )
    for _ in range(1_030):
        with pytest.raises(RulesError):
            engine.evaluate("payouts", payout_facts())
    assert engine.evaluate("payouts", payout_facts(justified=True)).outcome == "valid_deduction"


def test_concurrent_evaluations_from_eight_threads(rules_dir: Path) -> None:
    engine = engine_with(rules_dir, UNJUSTIFIED)
    start = threading.Barrier(8)
    failures: list[str] = []

    def worker(thread_index: int) -> None:
        start.wait()
        for i in range(200):
            shortfall = thread_index * 10_000 + i + 1
            claim = "paid_less" if i % 3 else "not_paid"
            result = engine.evaluate("payouts", payout_facts(claim=claim, shortfall=shortfall))
            expected = (
                [
                    {"type": "platform_payout", "amount": shortfall, "requires_approval": False},
                    {"type": "flag_vendor", "reason": "payout_shortfall"},
                ]
                if claim == "paid_less"
                else []
            )
            if result.actions != expected:
                failures.append(f"thread {thread_index} #{i}: {result.actions}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch_interval)
    assert failures == []


def test_engine_calls_are_serialised(rules_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The C engine is not safe for concurrent calls; observe how many threads are inside
    # it at once.
    engine = engine_with(rules_dir, UNJUSTIFIED)
    inside = 0
    most_inside = 0
    counter_lock = threading.Lock()

    def watched(call: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal inside, most_inside
            with counter_lock:
                inside += 1
                most_inside = max(most_inside, inside)
            try:
                time.sleep(0.001)
                return call(*args, **kwargs)
            finally:
                with counter_lock:
                    inside -= 1

        return wrapper

    binding = durable_rules_engine
    for call in (
        "assert_fact",
        "start_action_for_state",
        "complete_and_start_action",
        "delete_state",
    ):
        monkeypatch.setattr(binding, call, watched(getattr(binding, call)))
    threads = [
        threading.Thread(
            target=lambda: [engine.evaluate("payouts", payout_facts()) for _ in range(20)]
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most_inside == 1


def test_engine_starts_no_threads(rules_dir: Path) -> None:
    before = threading.active_count()
    write_table(rules_dir, UNJUSTIFIED)
    engine = build_engine(rules_dir, {}, VOCABULARY)
    for _ in range(50):
        engine.evaluate("payouts", payout_facts())
    assert threading.active_count() == before


def test_new_content_is_a_new_version_and_old_engine_keeps_working(rules_dir: Path) -> None:
    old = engine_with(rules_dir, UNJUSTIFIED)
    again = build_engine(rules_dir, {}, VOCABULARY)
    assert again.version == old.version

    write_table(rules_dir, UNJUSTIFIED.replace("payout_shortfall", "short_paid"))
    new = build_engine(rules_dir, {}, VOCABULARY)
    assert new.version != old.version
    assert new.evaluate("payouts", payout_facts()).actions[1]["reason"] == "short_paid"
    assert old.evaluate("payouts", payout_facts()).actions[1]["reason"] == "payout_shortfall"


def test_build_engine_needs_a_table(rules_dir: Path) -> None:
    with pytest.raises(RulesError, match="no rule tables"):
        build_engine(rules_dir, {}, VOCABULARY)
