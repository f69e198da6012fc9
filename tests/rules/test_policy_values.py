"""The policy values: their defaults, environment overrides and the errors naming them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.rules_engine import Policy, RulesError, load_policy
from tests.rules.small_tables import RULES_DIR


def test_policy_defaults_match_the_domain() -> None:
    policy = load_policy(RULES_DIR, {})
    assert policy.as_dict() == {
        "vendor_response_hours": 6.0,
        "high_value_threshold": 500000,
        "first_response_hours": 1.0,
        "logging_hours": 1.0,
        "resolution_hours": 48.0,
        "repeat_window_days": 30.0,
        "repeat_dispute_count": 1,
        "repeat_fail_count": 3,
        "repeat_complaint_count": 1,
        "strike_hold_count": 3,
        "strike_deactivate_count": 5,
        "max_leads_reduction": 1,
        "default_max_leads": 10,
        "short_payment_fine_credits": 50,
        "no_payment_fine_credits": 100,
        "strike_expiry_days": 90.0,
        "customer_update_hours": 24.0,
        "platform_name": "Cashkr",
        "dispute_rate_target_percent": 2,
        "resolution_target_percent": 95,
        "satisfaction_target_percent": 90,
        "communication_satisfaction_target_percent": 95,
    }
    assert isinstance(policy.vendor_response_hours, float)
    assert isinstance(policy.high_value_threshold, int)


def test_policy_env_overrides() -> None:
    policy = load_policy(
        RULES_DIR,
        {
            "POLICY_VENDOR_RESPONSE_HOURS": "0.002",
            "POLICY_HIGH_VALUE_THRESHOLD": " 250000 ",
            "POLICY_REPEAT_WINDOW_DAYS": "7",
            "UNRELATED": "x",
        },
    )
    assert policy.vendor_response_hours == 0.002
    assert policy.high_value_threshold == 250000
    assert policy.repeat_window_days == 7.0
    assert isinstance(policy.repeat_window_days, float)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("POLICY_HIGH_VALUE_THRESHOLD", "five thousand", "not a number"),
        ("POLICY_HIGH_VALUE_THRESHOLD", "5000.5", "a fraction"),
        ("POLICY_HIGH_VALUE_THRESHOLD", "5e5", "a fraction"),
        ("POLICY_STRIKE_HOLD_COUNT", "-1", "negative"),
        ("POLICY_VENDOR_RESPONSE_HOURS", "-0.5", "negative"),
        ("POLICY_VENDOR_RESPONSE_HOURS", "", "not a number"),
        ("POLICY_VENDOR_RESPONSE_HOURS", "nan", "not a number"),
        ("POLICY_VENDOR_RESPONSE_HOURS", "6h", "not a number"),
        ("POLICY_VENDOR_RESPONS_HOURS", "6", "unknown policy parameter"),
    ],
)
def test_policy_env_errors_name_the_variable(variable: str, value: str, expected: str) -> None:
    with pytest.raises(RulesError) as caught:
        load_policy(RULES_DIR, {variable: value})
    assert variable in str(caught.value)
    assert expected in str(caught.value)


def test_policy_yaml_must_cover_every_name(rules_dir: Path) -> None:
    text = (rules_dir / "policy.yaml").read_text(encoding="utf-8")
    (rules_dir / "policy.yaml").write_text(
        text.replace("default_max_leads:", "default_leads:"), encoding="utf-8"
    )
    with pytest.raises(RulesError, match="default_leads"):
        load_policy(rules_dir, {})


def test_policy_yaml_rejects_fraction_for_count(rules_dir: Path) -> None:
    text = (rules_dir / "policy.yaml").read_text(encoding="utf-8")
    (rules_dir / "policy.yaml").write_text(
        text.replace("value: 500000", "value: 500000.5"), encoding="utf-8"
    )
    with pytest.raises(RulesError, match="high_value_threshold"):
        load_policy(rules_dir, {})


def test_policy_is_frozen() -> None:
    policy = load_policy(RULES_DIR, {})
    with pytest.raises(ValueError):
        policy.strike_hold_count = 9  # type: ignore[misc]
    assert isinstance(policy, Policy)
