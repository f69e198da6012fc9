"""rules/pickup_complaints.yaml against docs/pickup-complaints.md, without a database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app.effects.catalogue import VOCABULARY
from app.rules_engine import RulesEngine, build_engine

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
TABLE = "pickup_complaints"

# Written out here on purpose (docs/pickup-complaints.md): the YAML must not drift from the
# public vocabulary.
FRAUD_INDICATORS = ["pickup_marked_not_attempted", "vendor_asked_extra_money_or_documents"]
OTHER_ISSUES = [
    "vendor_rude_late_unprofessional",
    "wrong_device_check_or_unfair_rejection",
    "price_changed_without_explanation",
    "no_show_or_unreachable",
]
ISSUES = FRAUD_INDICATORS + OTHER_ISSUES

ESCALATE_CX = {"type": "escalate", "to": "cx_team"}
FLAG = {"type": "flag_vendor", "reason": "repeat_pickup_complaints"}
ESCALATE_VM = {"type": "escalate", "to": "vendor_manager"}
# Words that would commit money to the customer (procedure step 4).
PROMISES = re.compile(r"refund|compensat|reimburs|money back|cashback|pay you", re.IGNORECASE)


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return build_engine(RULES_DIR, {}, VOCABULARY)


def facts(*issues: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {code: code in issues for code in ISSUES}
    base.update(vendor_known=True, earlier_complaints=0)
    base.update(overrides)
    return base


def types(actions: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(a["type"], a.get("to") or a.get("audience")) for a in actions]


def test_codes_are_exactly_the_domain_vocabulary(engine: RulesEngine) -> None:
    table = engine.tables[TABLE]
    assert sorted(table.all_codes()) == sorted(ISSUES)
    assert list(table.codes["possible_fraud"]) == FRAUD_INDICATORS
    # The service sends one boolean fact per code: each code must be one.
    assert all(table.facts[code] == "bool" for code in ISSUES)


@pytest.mark.parametrize("code", ISSUES)
def test_each_issue_goes_to_cx_with_its_priority(engine: RulesEngine, code: str) -> None:
    result = engine.evaluate(TABLE, facts(code))
    assert result.outcome == "escalated_to_cx"
    assert result.ticket == {
        "category": "customer_pickup_complaint",
        "assignee_team": "cx_team",
        "priority": "high" if code in FRAUD_INDICATORS else "normal",
    }
    # The customer's acknowledgement is the table's customer text, sent when the case opens.
    assert types(result.actions) == [("escalate", "cx_team")]


@pytest.mark.parametrize(
    ("issues", "priority"),
    [
        (OTHER_ISSUES, "normal"),
        (["no_show_or_unreachable", "pickup_marked_not_attempted"], "high"),
        (["vendor_asked_extra_money_or_documents", "price_changed_without_explanation"], "high"),
        (FRAUD_INDICATORS, "high"),
        (ISSUES, "high"),
    ],
)
def test_any_fraud_indicator_among_several_issues_makes_it_high(
    engine: RulesEngine, issues: list[str], priority: str
) -> None:
    result = engine.evaluate(TABLE, facts(*issues))
    assert result.ticket["priority"] == priority
    assert result.actions.count(ESCALATE_CX) == 1


def test_nothing_the_customer_hears_promises_a_refund_or_compensation(
    engine: RulesEngine,
) -> None:
    customer = engine.tables[TABLE].customer
    assert customer is not None
    texts = [customer.acknowledged, customer.update, *customer.resolved.values()]
    assert not [t for t in texts if PROMISES.search(t)]
    assert "customer experience team" in customer.acknowledged
    for code in ISSUES:
        for earlier in (0, 5):
            result = engine.evaluate(TABLE, facts(code, earlier_complaints=earlier))
            assert not [a for a in result.actions if a.get("audience") == "customer"]


@pytest.mark.parametrize(("earlier", "flagged"), [(0, False), (1, True), (4, True)])
def test_repeat_complaints_flag_the_vendor_and_tell_the_vendor_manager(
    engine: RulesEngine, earlier: int, flagged: bool
) -> None:
    result = engine.evaluate(TABLE, facts("no_show_or_unreachable", earlier_complaints=earlier))
    assert (FLAG in result.actions) == flagged
    assert (ESCALATE_VM in result.actions) == flagged
    manager = [a for a in result.actions if a.get("audience") == "vendor_manager"]
    assert len(manager) == flagged
    if flagged:
        assert f"{earlier} earlier pickup complaint" in manager[0]["text"]
        assert "repeat_complaints_flag_vendor" in result.rules_fired


def test_no_vendor_no_flag(engine: RulesEngine) -> None:
    result = engine.evaluate(TABLE, facts("no_show_or_unreachable", vendor_known=False))
    assert FLAG not in result.actions and ESCALATE_VM not in result.actions


def test_the_repeat_threshold_is_the_policy_value() -> None:
    engine = build_engine(RULES_DIR, {"POLICY_REPEAT_COMPLAINT_COUNT": "3"}, VOCABULARY)
    below = engine.evaluate(TABLE, facts("no_show_or_unreachable", earlier_complaints=2))
    at = engine.evaluate(TABLE, facts("no_show_or_unreachable", earlier_complaints=3))
    assert FLAG not in below.actions and FLAG in at.actions
    assert at.policy["repeat_complaint_count"] == 3
