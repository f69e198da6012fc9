"""rules/fail_reasons.yaml against the fail-reason procedure (docs/fail-reasons.md), code by
code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.effects.catalogue import VOCABULARY
from app.rules_engine import RulesEngine, build_engine
from tests.domain import CUSTOMER_CODES, DISPUTED_CODES, FRAUD_CODES, VENDOR_CODES

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
TABLE = "fail_reasons"

CODES = {
    "customer": CUSTOMER_CODES,
    "vendor": VENDOR_CODES,
    "fraud": FRAUD_CODES,
    "disputed": DISPUTED_CODES,
}
IMPLIED_FAULT = {
    "customer": "customer",
    "vendor": "vendor",
    "fraud": "vendor",
    "disputed": "undecided",
}

UNLOCK_CREDITS = 40
NOTIFY = {"type": "notify", "audience": "vendor", "template": "fail_decision"}
REFUND = {"type": "credit_refund", "amount": UNLOCK_CREDITS}
STRIKE = {"type": "sla_strike"}
HOLD = {"type": "hold_vendor"}
REVIEW = {"type": "deactivation_review"}


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return build_engine(RULES_DIR, {}, VOCABULARY)


def facts(code: str, fault: str, **overrides: Any) -> dict[str, Any]:
    code_class = next(cls for cls, codes in CODES.items() if code in codes)
    base: dict[str, Any] = {
        "fault": fault,
        "reason": code,
        "reason_class": code_class,
        "unlock_credits": UNLOCK_CREDITS,
        "vendor_paid_customer": False,
        "amount_paid_to_customer": 0,
        "active_strikes": 0,
        "strikes_if_vendor_fault": 1,
        "vendor_status": "active",
        "earlier_fail_reasons": 0,
        "complaint_vendor_rude_late_unprofessional": False,
        "complaint_vendor_asked_extra_money_or_documents": False,
    }
    base.update(overrides)
    return base


def all_codes() -> list[tuple[str, str]]:
    return [(cls, code) for cls, codes in CODES.items() for code in codes]


def test_codes_are_exactly_the_domain_vocabulary(engine: RulesEngine) -> None:
    table = engine.tables[TABLE]
    assert {cls: list(codes) for cls, codes in table.codes.items()} == CODES
    assert [len(CODES[cls]) for cls in ("customer", "vendor", "fraud", "disputed")] == [
        10,
        12,
        2,
        3,
    ]
    assert table.class_of("imei_mixing") == "vendor"
    assert table.class_of("not_a_code") is None


# --- every code: proposal and verdicts -----------------------------------------------------


@pytest.mark.parametrize(("code_class", "code"), all_codes())
def test_proposal_when_vendor_files(engine: RulesEngine, code_class: str, code: str) -> None:
    result = engine.evaluate(TABLE, facts(code, IMPLIED_FAULT[code_class]))
    expected = {
        "customer": ("failed_customer_fault", [REFUND, NOTIFY]),
        "vendor": ("failed_vendor_fault", [STRIKE, NOTIFY]),
        # Fraud holds and opens a review even on the vendor's first strike.
        "fraud": ("failed_vendor_fault", [STRIKE, HOLD, REVIEW, NOTIFY]),
        "disputed": ("pending_verdict", []),
    }[code_class]
    assert (result.outcome, result.actions) == expected
    if code_class == "disputed":
        assert result.rules_fired == ["fault_undecided_awaits_verdict"]


@pytest.mark.parametrize(("code_class", "code"), all_codes())
def test_ops_verdicts(engine: RulesEngine, code_class: str, code: str) -> None:
    allowed = {
        "customer": ["customer"],
        "vendor": ["vendor"],
        "fraud": ["vendor"],
        "disputed": ["customer", "vendor"],
    }[code_class]
    for fault in allowed:
        result = engine.evaluate(TABLE, facts(code, fault))
        if fault == "customer":
            assert result.outcome == "failed_customer_fault"
            assert result.actions == [REFUND, NOTIFY]
            assert result.rules_fired == [
                "customer_fault",
                "customer_fault_refunds_credits",
                "notify_vendor_of_final_decision",
            ]
        elif code_class == "fraud" or code == "fraud_suspicion":
            assert result.outcome == "failed_vendor_fault"
            assert result.actions == [STRIKE, HOLD, REVIEW, NOTIFY]
        else:
            assert result.outcome == "failed_vendor_fault"
            assert result.actions == [STRIKE, NOTIFY]
            assert result.rules_fired == [
                "vendor_fault_keeps_credits_and_strikes",
                "notify_vendor_of_final_decision",
            ]


def test_customer_fault_refunds_the_exact_unlock_credits(engine: RulesEngine) -> None:
    result = engine.evaluate(TABLE, facts("customer_changed_mind", "customer", unlock_credits=7))
    assert {"type": "credit_refund", "amount": 7} in result.actions
    assert STRIKE not in result.actions


def test_vendor_fault_never_refunds_credits(engine: RulesEngine) -> None:
    result = engine.evaluate(TABLE, facts("rude_behaviour", "vendor"))
    assert all(action["type"] != "credit_refund" for action in result.actions)


@pytest.mark.parametrize("code", CUSTOMER_CODES)
def test_a_vendor_that_repeatedly_fails_orders_keeps_no_refund(
    engine: RulesEngine, code: str
) -> None:
    # repeat_fail_count (3) earlier fail reasons in the window: credits always deducted.
    result = engine.evaluate(TABLE, facts(code, "customer", earlier_fail_reasons=3))
    assert result.outcome == "failed_customer_fault"
    assert REFUND not in result.actions and STRIKE not in result.actions
    assert "repeated_failures_keep_credits" in result.rules_fired
    [note] = [a for a in result.actions if a["type"] == "ticket_note"]
    assert "3 earlier fail reasons" in note["text"]
    below = engine.evaluate(TABLE, facts(code, "customer", earlier_fail_reasons=2))
    assert REFUND in below.actions and "repeated_failures_keep_credits" not in below.rules_fired


@pytest.mark.parametrize(
    ("fact", "rule"),
    [
        ("complaint_vendor_rude_late_unprofessional", "rude_or_late_complaint_keeps_credits"),
        ("complaint_vendor_asked_extra_money_or_documents", "extra_money_complaint_keeps_credits"),
    ],
)
def test_a_behaviour_complaint_on_the_order_keeps_the_credits(
    engine: RulesEngine, fact: str, rule: str
) -> None:
    result = engine.evaluate(TABLE, facts("customer_changed_mind", "customer", **{fact: True}))
    assert result.outcome == "failed_customer_fault"
    assert REFUND not in result.actions
    assert rule in result.rules_fired and "customer_fault_refunds_credits" not in result.rules_fired


def test_confirmed_fraud_suspicion_is_fraud(engine: RulesEngine) -> None:
    result = engine.evaluate(TABLE, facts("fraud_suspicion", "vendor"))
    assert result.actions == [STRIKE, HOLD, REVIEW, NOTIFY]
    assert "confirmed_fraud_suspicion_holds_vendor_at_once" in result.rules_fired
    cleared = engine.evaluate(TABLE, facts("fraud_suspicion", "customer"))
    assert HOLD not in cleared.actions and REFUND in cleared.actions


# --- strikes: hold and deactivation review --------------------------------------------------


@pytest.mark.parametrize(
    ("strikes_if", "status", "expected"),
    [
        (1, "active", [STRIKE, NOTIFY]),
        (2, "active", [STRIKE, NOTIFY]),
        (3, "active", [STRIKE, HOLD, NOTIFY]),
        (4, "active", [STRIKE, HOLD, NOTIFY]),
        # Already on hold: no second hold.
        (3, "on_hold", [STRIKE, NOTIFY]),
        (4, "on_hold", [STRIKE, NOTIFY]),
        (5, "active", [STRIKE, HOLD, REVIEW, NOTIFY]),
        (5, "on_hold", [STRIKE, REVIEW, NOTIFY]),
        (6, "on_hold", [STRIKE, REVIEW, NOTIFY]),
        # Already under review: neither again.
        (5, "deactivation_review", [STRIKE, NOTIFY]),
    ],
)
def test_strike_thresholds(
    engine: RulesEngine, strikes_if: int, status: str, expected: list[dict[str, Any]]
) -> None:
    result = engine.evaluate(
        TABLE,
        facts(
            "arrived_late_beyond_sla",
            "vendor",
            active_strikes=strikes_if - 1,
            strikes_if_vendor_fault=strikes_if,
            vendor_status=status,
        ),
    )
    assert result.outcome == "failed_vendor_fault"
    assert result.actions == expected


def test_strikes_do_not_count_when_customer_at_fault(engine: RulesEngine) -> None:
    result = engine.evaluate(
        TABLE,
        facts("customer_not_available", "customer", active_strikes=4, strikes_if_vendor_fault=5),
    )
    assert result.actions == [REFUND, NOTIFY]


def test_fraud_at_hold_count_holds_once(engine: RulesEngine) -> None:
    result = engine.evaluate(
        TABLE, facts("offline_payment_attempt", "vendor", strikes_if_vendor_fault=3)
    )
    assert result.actions == [STRIKE, HOLD, REVIEW, NOTIFY]
    assert result.rules_fired == [
        "vendor_fault_keeps_credits_and_strikes",
        "strikes_reach_hold_count",
        "fraud_holds_vendor_at_once",
        "fraud_opens_deactivation_review",
        "notify_vendor_of_final_decision",
    ]


def test_fraud_by_vendor_already_on_hold_opens_review_only(engine: RulesEngine) -> None:
    result = engine.evaluate(
        TABLE, facts("device_taken_without_payment", "vendor", vendor_status="on_hold")
    )
    assert result.actions == [STRIKE, REVIEW, NOTIFY]


# --- wallet and notification -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "fault"),
    [("customer_changed_mind", "customer"), ("wrong_inspection", "vendor")],
)
def test_wallet_refund_eligible_only_when_vendor_paid(
    engine: RulesEngine, code: str, fault: str
) -> None:
    paid = engine.evaluate(
        TABLE, facts(code, fault, vendor_paid_customer=True, amount_paid_to_customer=1_234_500)
    )
    eligible = {"type": "wallet_refund_eligible", "amount": 1_234_500}
    assert eligible in paid.actions
    assert "vendor_paid_customer_wallet_refund_eligible" in paid.rules_fired

    unpaid = engine.evaluate(
        TABLE, facts(code, fault, vendor_paid_customer=False, amount_paid_to_customer=1_234_500)
    )
    assert all(action["type"] != "wallet_refund_eligible" for action in unpaid.actions)


def test_no_wallet_refund_before_the_verdict(engine: RulesEngine) -> None:
    result = engine.evaluate(
        TABLE,
        facts("device_mismatch", "undecided", vendor_paid_customer=True, amount_paid_to_customer=9),
    )
    assert (result.outcome, result.actions) == ("pending_verdict", [])


@pytest.mark.parametrize(("code_class", "code"), all_codes())
def test_vendor_notified_of_every_final_decision_only(
    engine: RulesEngine, code_class: str, code: str
) -> None:
    for fault in ("customer", "vendor", "undecided"):
        result = engine.evaluate(TABLE, facts(code, fault))
        assert (NOTIFY in result.actions) == (fault != "undecided")
        assert result.actions.count(NOTIFY) <= 1


# --- policy ----------------------------------------------------------------------------------


def test_policy_override_moves_the_hold_threshold_and_the_version(engine: RulesEngine) -> None:
    lowered = build_engine(RULES_DIR, {"POLICY_STRIKE_HOLD_COUNT": "2"}, VOCABULARY)
    two_strikes = facts("intentional_delay", "vendor", strikes_if_vendor_fault=2)

    assert HOLD not in engine.evaluate(TABLE, two_strikes).actions
    result = lowered.evaluate(TABLE, two_strikes)
    assert result.actions == [STRIKE, HOLD, NOTIFY]
    assert result.policy["strike_hold_count"] == 2
    assert lowered.version != engine.version
    assert result.ruleset_version == lowered.version


def test_policy_override_moves_the_deactivation_threshold() -> None:
    raised = build_engine(RULES_DIR, {"POLICY_STRIKE_DEACTIVATE_COUNT": "6"}, VOCABULARY)
    five = facts("imei_mixing", "vendor", strikes_if_vendor_fault=5)
    assert raised.evaluate(TABLE, five).actions == [STRIKE, HOLD, NOTIFY]
    six = facts("imei_mixing", "vendor", strikes_if_vendor_fault=6)
    assert raised.evaluate(TABLE, six).actions == [STRIKE, HOLD, REVIEW, NOTIFY]


def test_same_rules_and_policy_give_the_same_version(engine: RulesEngine) -> None:
    assert build_engine(RULES_DIR, {}, VOCABULARY).version == engine.version
    assert (
        build_engine(RULES_DIR, {"POLICY_STRIKE_HOLD_COUNT": "3"}, VOCABULARY).version
        == engine.version
    )
    # Any recorded policy value is part of the version, used by this table or not.
    assert (
        build_engine(RULES_DIR, {"POLICY_LOGGING_HOURS": "2"}, VOCABULARY).version != engine.version
    )


def test_decision_records_the_policy_values(engine: RulesEngine) -> None:
    result = engine.evaluate(TABLE, facts("otp_not_provided", "customer"))
    assert result.policy == engine.policy.as_dict()
    assert result.policy["strike_hold_count"] == 3
    assert result.policy["strike_deactivate_count"] == 5
    assert result.ruleset_version == engine.version
