"""The rules engine adapter: loading and checking tables and policy, and evaluating them."""

from __future__ import annotations

import shutil
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import durable_rules_engine  # type: ignore[import-not-found]  # the C binding the adapter drives
import pytest

from app.effects.catalogue import VOCABULARY
from app.rules_engine import (
    Policy,
    RulesEngine,
    RulesError,
    build_engine,
    format_rupees,
    load_policy,
    load_tables,
)

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"

HEADER = """\
table: payouts
case_type: payout_dispute
description: A small table for engine tests.
{mode}
facts:
  claim: str
  shortfall: int
  justified: bool
  ratio: float
  vendor: str
outcomes: [paid_by_platform, valid_deduction]
codes:
  claim: [not_paid, paid_less]
  other: [unrelated]
rules:
"""

UNJUSTIFIED = """\
  - name: unjustified_shortfall
    description: Platform pays the shortfall.
    when: {claim: paid_less, justified: false, shortfall: {gt: 0}}
    outcome: paid_by_platform
    actions:
      - {type: platform_payout, amount: {fact: shortfall}, requires_approval: false}
      - {type: flag_vendor, reason: payout_shortfall}
"""


def write_table(rules_dir: Path, *rules: str, mode: str = "", name: str = "payouts") -> Path:
    """HEADER plus the given rule blocks (each may be indented any amount) as <name>.yaml."""
    text = HEADER.format(mode=mode).replace("table: payouts", f"table: {name}")
    body = "".join(textwrap.indent(textwrap.dedent(part), "  ") for part in rules)
    path = rules_dir / f"{name}.yaml"
    path.write_text(text + body, encoding="utf-8")
    return path


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    shutil.copy(RULES_DIR / "policy.yaml", tmp_path / "policy.yaml")
    return tmp_path


def payout_facts(**overrides: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "claim": "paid_less",
        "shortfall": 150000,
        "justified": False,
        "ratio": 1.0,
        "vendor": "v1",
    }
    facts.update(overrides)
    return facts


def engine_with(rules_dir: Path, *rules: str, **kwargs: Any) -> RulesEngine:
    write_table(rules_dir, *rules, **kwargs)
    return build_engine(rules_dir, {}, VOCABULARY)


def rules_error(rules_dir: Path, rules: str) -> str:
    write_table(rules_dir, rules)
    with pytest.raises(RulesError) as caught:
        load_tables(rules_dir, VOCABULARY)
    return str(caught.value)


# --- table validation -------------------------------------------------------------------------


def test_valid_table_loads_and_evaluates(rules_dir: Path) -> None:
    engine = engine_with(rules_dir, UNJUSTIFIED)
    result = engine.evaluate("payouts", payout_facts())
    assert result.outcome == "paid_by_platform"
    assert result.actions == [
        {"type": "platform_payout", "amount": 150000, "requires_approval": False},
        {"type": "flag_vendor", "reason": "payout_shortfall"},
    ]
    assert result.rules_fired == ["unjustified_shortfall"]
    assert result.table == "payouts"


def test_unknown_fact_in_condition(rules_dir: Path) -> None:
    message = rules_error(
        rules_dir,
        """\
        - name: bad_rule
          description: x
          when: {colour: red}
        """,
    )
    assert "payouts.yaml" in message
    assert "bad_rule" in message
    assert "when.colour" in message
    assert "unknown fact" in message


def test_unknown_fact_in_action_param(rules_dir: Path) -> None:
    message = rules_error(
        rules_dir,
        """\
        - name: refund
          description: x
          when: {claim: not_paid}
          actions:
            - {type: credit_refund, amount: {fact: credits}}
        """,
    )
    assert "refund" in message and "amount" in message and "'credits'" in message


def test_unknown_fact_in_placeholder(rules_dir: Path) -> None:
    message = rules_error(
        rules_dir,
        """\
        - name: note
          description: x
          actions:
            - {type: ticket_note, text: "Paid {shortfal:rupees} short"}
        """,
    )
    assert "note" in message and "{shortfal}" in message


def test_rupees_placeholder_needs_int_fact(rules_dir: Path) -> None:
    message = rules_error(
        rules_dir,
        """\
        - name: note
          description: x
          actions:
            - {type: ticket_note, text: "Vendor {vendor:rupees}"}
        """,
    )
    assert "int fact" in message


def test_unknown_action_type(rules_dir: Path) -> None:
    message = rules_error(
        rules_dir,
        """\
        - name: pay
          description: x
          actions:
            - {type: send_money, amount: 5}
        """,
    )
    assert "pay" in message and "unknown action type 'send_money'" in message


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("{type: credit_fine}", "missing params ['amount']"),
        ("{type: hold_vendor, amount: 5}", "unexpected params ['amount']"),
        ("{type: escalate, to: ceo}", "'ceo' is not one of"),
        ("{type: platform_payout, amount: 5, requires_approval: maybe}", "not true or false"),
        ("{type: credit_fine, amount: -5}", "whole number >= 0"),
        ("{type: credit_fine, amount: 1.5}", "whole number >= 0"),
        ("{type: credit_fine, amount: {fact: vendor}}", "fact 'vendor' is str"),
        ("{type: reduce_max_leads, by: {policy: logging_hours}}", "is in hours"),
        # Credits and paise never mix: a credit fine cannot be a money threshold.
        ("{type: credit_fine, amount: {policy: high_value_threshold}}", "is in paise"),
        (
            "{type: platform_payout, amount: {policy: no_payment_fine_credits}, "
            "requires_approval: false}",
            "is in credits",
        ),
    ],
)
def test_bad_action_params(rules_dir: Path, action: str, expected: str) -> None:
    message = rules_error(
        rules_dir,
        f"""\
        - name: act
          description: x
          actions:
            - {action}
        """,
    )
    assert "rule 'act'" in message
    assert expected in message


def test_duplicate_rule_name(rules_dir: Path) -> None:
    message = rules_error(
        rules_dir,
        """\
        - name: twice
          description: x
          when: {claim: not_paid}
        - name: twice
          description: y
          when: {claim: paid_less}
        """,
    )
    assert "twice" in message and "duplicate rule name" in message


def test_unknown_policy_in_condition(rules_dir: Path) -> None:
    message = rules_error(
        rules_dir,
        """\
        - name: big
          description: x
          when: {shortfall: {gte: {policy: big_money}}}
        """,
    )
    assert "big" in message and "unknown policy 'big_money'" in message


def test_unknown_policy_in_param(rules_dir: Path) -> None:
    message = rules_error(
        rules_dir,
        """\
        - name: fewer
          description: x
          actions:
            - {type: reduce_max_leads, by: {policy: lead_cut}}
        """,
    )
    assert "fewer" in message and "unknown policy 'lead_cut'" in message


def test_outcome_must_be_declared(rules_dir: Path) -> None:
    message = rules_error(
        rules_dir,
        """\
        - name: done
          description: x
          outcome: resolved_somehow
        """,
    )
    assert "done" in message and "'resolved_somehow'" in message


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("{shortfall: big}", "'big' is not a int value"),
        ("{justified: 1}", "1 is not a bool value"),
        ("{claim: {gte: 3}}", "gte needs a number fact"),
        ("{claim: {like: paid}}", "exactly one operator"),
        ("{claim: [a, b]}", "needs an operator"),
        ("{claim: {in: []}}", "non-empty list"),
        ("{claim: {policy: strike_hold_count}}", "policy values are numbers"),
    ],
)
def test_bad_conditions(rules_dir: Path, when: str, expected: str) -> None:
    message = rules_error(
        rules_dir,
        f"""\
        - name: cond
          description: x
          when: {when}
        """,
    )
    assert "rule 'cond'" in message
    assert expected in message


def test_codes_in_two_classes(rules_dir: Path) -> None:
    path = write_table(rules_dir, UNJUSTIFIED)
    path.write_text(
        path.read_text().replace("other: [unrelated]", "other: [unrelated, not_paid]"),
        encoding="utf-8",
    )
    with pytest.raises(RulesError, match=r"'not_paid' appears in both 'claim' and 'other'"):
        load_tables(rules_dir, VOCABULARY)


def test_shape_errors_name_the_rule_and_field(rules_dir: Path) -> None:
    message = rules_error(
        rules_dir,
        """\
        - name: ok_rule
          description: x
        - name: shapeless
          description: x
          colour: red
        """,
    )
    assert "rule 'shapeless' (#2)" in message and "colour" in message


def test_table_name_must_match_file(rules_dir: Path) -> None:
    path = write_table(rules_dir, UNJUSTIFIED, name="elsewhere")
    path.write_text(path.read_text().replace("table: elsewhere", "table: payouts"))
    with pytest.raises(RulesError, match="must match the file name"):
        load_tables(rules_dir, VOCABULARY)


def test_only_policy_yaml_is_skipped(rules_dir: Path) -> None:
    write_table(rules_dir, UNJUSTIFIED)
    write_table(rules_dir, UNJUSTIFIED, name="second")
    assert sorted(load_tables(rules_dir, VOCABULARY)) == ["payouts", "second"]
    tables = sorted(path.stem for path in RULES_DIR.glob("*.yaml") if path.stem != "policy")
    assert sorted(load_tables(RULES_DIR, VOCABULARY)) == tables
    assert {"fail_reasons", "payment_discrepancies", "payout_disputes", "pickup_complaints"} <= set(
        tables
    )


# --- policy -----------------------------------------------------------------------------------


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


# --- evaluation -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["mode: collect", "mode: first_hit"])
def test_no_matching_rule_is_a_decision_not_an_error(rules_dir: Path, mode: str) -> None:
    # A fresh engine whose first message matches nothing: the case that crashes
    # durable-rules when its session is deleted, unless a catch-all rule handles it.
    engine = engine_with(rules_dir, UNJUSTIFIED, mode=mode)
    result = engine.evaluate("payouts", payout_facts(claim="not_paid"))
    assert result.outcome is None
    assert result.actions == []
    assert result.rules_fired == []
    assert result.ruleset_version == engine.version


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (payout_facts(colour="red"), "unknown facts ['colour']"),
        ({k: v for k, v in payout_facts().items() if k != "ratio"}, "missing facts ['ratio']"),
        (payout_facts(shortfall="150000"), "shortfall='150000' is not int"),
        (payout_facts(shortfall=True), "shortfall=True is not int"),
        (payout_facts(shortfall=1500.0), "shortfall=1500.0 is not int"),
        (payout_facts(justified=0), "justified=0 is not bool"),
        (payout_facts(ratio=float("nan")), "is not float"),
        (payout_facts(shortfall=2**70), "is not int"),
    ],
)
def test_bad_facts_are_rejected(rules_dir: Path, facts: dict[str, Any], expected: str) -> None:
    engine = engine_with(rules_dir, UNJUSTIFIED)
    with pytest.raises(RulesError) as caught:
        engine.evaluate("payouts", facts)
    assert expected in str(caught.value)


def test_int_is_accepted_for_a_float_fact(rules_dir: Path) -> None:
    engine = engine_with(
        rules_dir,
        """\
        - name: low_ratio
          description: x
          when: {ratio: {lt: 0.5}}
        """,
    )
    assert engine.evaluate("payouts", payout_facts(ratio=0)).rules_fired == ["low_ratio"]
    assert engine.evaluate("payouts", payout_facts(ratio=0.75)).rules_fired == []


def test_unknown_table(rules_dir: Path) -> None:
    engine = engine_with(rules_dir, UNJUSTIFIED)
    with pytest.raises(RulesError, match="unknown rule table 'payout'"):
        engine.evaluate("payout", payout_facts())


def test_operators(rules_dir: Path) -> None:
    engine = engine_with(
        rules_dir,
        """\
        - name: is_in
          description: x
          when: {claim: {in: [not_paid, paid_less]}}
        - name: not_in
          description: x
          when: {vendor: {not_in: [v_blocked, v_gone]}}
        - name: not_equal
          description: x
          when: {claim: {ne: paid_less}}
        - name: at_least_threshold
          description: x
          when: {shortfall: {gte: {policy: high_value_threshold}}}
        - name: below_threshold
          description: x
          when: {shortfall: {lt: {policy: high_value_threshold}}}
        - name: at_most
          description: x
          when: {ratio: {lte: 0.5}}
        - name: bool_true
          description: x
          when: {justified: true}
        """,
    )
    fired = engine.evaluate(
        "payouts", payout_facts(shortfall=500000, ratio=0.5, justified=True)
    ).rules_fired
    assert fired == ["is_in", "not_in", "at_least_threshold", "at_most", "bool_true"]
    fired = engine.evaluate(
        "payouts", payout_facts(claim="x", vendor="v_gone", shortfall=499999, ratio=0.51)
    ).rules_fired
    assert fired == ["not_equal", "below_threshold"]

    lowered = build_engine(rules_dir, {"POLICY_HIGH_VALUE_THRESHOLD": "100"}, VOCABULARY)
    assert (
        "at_least_threshold" in lowered.evaluate("payouts", payout_facts(shortfall=100)).rules_fired
    )


def test_rule_without_conditions_always_fires(rules_dir: Path) -> None:
    engine = engine_with(
        rules_dir,
        """\
        - name: always
          description: x
          actions: [{type: block_new_leads}]
        """,
    )
    for claim in ("not_paid", "anything"):
        result = engine.evaluate("payouts", payout_facts(claim=claim))
        assert result.rules_fired == ["always"]
        assert result.actions == [{"type": "block_new_leads"}]


def test_identical_actions_appear_once_in_first_position(rules_dir: Path) -> None:
    engine = engine_with(
        rules_dir,
        UNJUSTIFIED,
        """\
        - name: big_shortfall
          description: x
          when: {shortfall: {gte: {policy: high_value_threshold}}}
          actions:
            - {type: escalate, to: finance_manager}
            - {type: flag_vendor, reason: payout_shortfall}
            - {type: flag_vendor, reason: high_value}
            - {type: reduce_max_leads, by: {policy: max_leads_reduction}}
        """,
    )
    result = engine.evaluate("payouts", payout_facts(shortfall=600000))
    assert result.rules_fired == ["unjustified_shortfall", "big_shortfall"]
    assert result.actions == [
        {"type": "platform_payout", "amount": 600000, "requires_approval": False},
        {"type": "flag_vendor", "reason": "payout_shortfall"},
        {"type": "escalate", "to": "finance_manager"},
        {"type": "flag_vendor", "reason": "high_value"},
        {"type": "reduce_max_leads", "by": 1},
    ]


def test_two_fired_outcomes_are_a_table_error(rules_dir: Path) -> None:
    engine = engine_with(
        rules_dir,
        UNJUSTIFIED,
        """\
        - name: also_valid
          description: x
          when: {claim: paid_less}
          outcome: valid_deduction
        """,
    )
    with pytest.raises(RulesError, match="at most one fired rule"):
        engine.evaluate("payouts", payout_facts())
    # Only one of them: fine.
    assert engine.evaluate("payouts", payout_facts(justified=True)).outcome == "valid_deduction"


def test_negative_fact_amount_is_refused(rules_dir: Path) -> None:
    engine = engine_with(
        rules_dir,
        """\
        - name: pay
          description: x
          actions: [{type: credit_fine, amount: {fact: shortfall}}]
        """,
    )
    with pytest.raises(RulesError, match="below zero"):
        engine.evaluate("payouts", payout_facts(shortfall=-1))


FIRST_HIT_RULES = """\
- name: specific
  description: x
  when: {claim: paid_less, justified: false}
  outcome: paid_by_platform
  actions: [{type: block_new_leads}]
- name: general
  description: x
  when: {claim: paid_less}
  outcome: valid_deduction
  actions: [{type: hold_vendor}]
"""


def test_first_hit_mode_fires_only_the_first_match(rules_dir: Path) -> None:
    engine = engine_with(rules_dir, FIRST_HIT_RULES, mode="mode: first_hit")
    result = engine.evaluate("payouts", payout_facts())
    assert result.rules_fired == ["specific"]
    assert (result.outcome, result.actions) == ("paid_by_platform", [{"type": "block_new_leads"}])

    result = engine.evaluate("payouts", payout_facts(justified=True))
    assert result.rules_fired == ["general"]
    assert result.outcome == "valid_deduction"

    assert engine.evaluate("payouts", payout_facts(claim="not_paid")).rules_fired == []


def test_collect_mode_fires_every_match(rules_dir: Path) -> None:
    engine = engine_with(rules_dir, FIRST_HIT_RULES, mode="mode: collect")
    with pytest.raises(RulesError, match="at most one fired rule"):
        engine.evaluate("payouts", payout_facts())


def test_ticket_note_placeholders(rules_dir: Path) -> None:
    engine = engine_with(
        rules_dir,
        """\
        - name: note
          description: x
          actions:
            - type: ticket_note
              text: "Paid {shortfall:rupees} short without reason – platform covered difference"
            - type: ticket_note
              text: "Vendor {vendor}, claim {claim}, shortfall {shortfall} paise, {{literal}}"
        """,
    )
    result = engine.evaluate("payouts", payout_facts(shortfall=150000, vendor="v42"))
    assert result.actions == [
        {
            "type": "ticket_note",
            "text": "Paid ₹1,500 short without reason – platform covered difference",
        },
        {
            "type": "ticket_note",
            "text": "Vendor v42, claim paid_less, shortfall 150000 paise, {literal}",
        },
    ]
    odd = engine.evaluate("payouts", payout_facts(shortfall=12345)).actions[0]
    assert odd["text"] == "Paid ₹123.45 short without reason – platform covered difference"


def test_fired_rules_set_ticket_fields(rules_dir: Path) -> None:
    engine = engine_with(
        rules_dir,
        """\
        - name: every_case
          description: x
          ticket: {category: payout_dispute, assignee_team: ops_manager, priority: normal}
        - name: not_paid_is_urgent
          description: x
          when: {claim: not_paid}
          ticket: {priority: urgent}
        - name: also_normal
          description: x
          when: {justified: true}
          ticket: {priority: normal}
        """,
    )
    result = engine.evaluate("payouts", payout_facts())
    assert result.ticket == {
        "category": "payout_dispute",
        "assignee_team": "ops_manager",
        "priority": "normal",
    }
    # Two rules setting the same value agree.
    assert engine.evaluate("payouts", payout_facts(justified=True)).ticket["priority"] == "normal"
    # Two rules setting different values: the file order must not decide.
    with pytest.raises(RulesError, match="fired rules must agree"):
        engine.evaluate("payouts", payout_facts(claim="not_paid"))


@pytest.mark.parametrize(
    ("ticket", "expected"),
    [
        ("{colour: red}", "unknown ticket field 'colour'"),
        ("{priority: sky_high}", "'sky_high' is not one of"),
        ("{category: Payout Dispute}", "is not snake_case"),
    ],
)
def test_bad_ticket_fields(rules_dir: Path, ticket: str, expected: str) -> None:
    message = rules_error(
        rules_dir,
        f"""\
        - name: bad_ticket
          description: x
          ticket: {ticket}
        """,
    )
    assert "bad_ticket" in message and expected in message


def write_messages(rules_dir: Path, messages: str, rule: str) -> None:
    path = write_table(rules_dir, rule)
    text = path.read_text(encoding="utf-8").replace("rules:\n", f"messages:\n{messages}rules:\n")
    path.write_text(text, encoding="utf-8")


def test_notify_carries_the_tables_text(rules_dir: Path) -> None:
    write_messages(
        rules_dir,
        '  ack: "We have your {claim} complaint about {shortfall:rupees}."\n',
        """\
        - name: tell
          description: x
          actions: [{type: notify, audience: customer, template: ack}]
        """,
    )
    result = build_engine(rules_dir, {}, VOCABULARY).evaluate(
        "payouts", payout_facts(shortfall=150000)
    )
    assert result.actions == [
        {
            "type": "notify",
            "audience": "customer",
            "template": "ack",
            "text": "We have your paid_less complaint about ₹1,500.",
        }
    ]


def test_a_table_with_messages_must_own_every_template_it_sends(rules_dir: Path) -> None:
    write_messages(
        rules_dir,
        "  ack: Thank you.\n",
        """\
        - name: tell
          description: x
          actions: [{type: notify, audience: customer, template: akc}]
        """,
    )
    with pytest.raises(RulesError, match="'akc' is not one of the table's messages"):
        load_tables(rules_dir, VOCABULARY)


def test_message_placeholders_are_checked(rules_dir: Path) -> None:
    write_messages(
        rules_dir,
        "  ack: Hello {customer_name}.\n",
        """\
        - name: tell
          description: x
          actions: [{type: notify, audience: customer, template: ack}]
        """,
    )
    with pytest.raises(RulesError, match=r"messages\.ack: placeholder"):
        load_tables(rules_dir, VOCABULARY)


def test_notify_without_messages_has_no_text(rules_dir: Path) -> None:
    engine = engine_with(
        rules_dir,
        """\
        - name: tell
          description: x
          actions: [{type: notify, audience: vendor, template: anything}]
        """,
    )
    result = engine.evaluate("payouts", payout_facts())
    assert result.actions == [{"type": "notify", "audience": "vendor", "template": "anything"}]
    assert result.ticket == {}


@pytest.mark.parametrize(
    ("paise", "text"),
    [
        (0, "₹0"),
        (5, "₹0.05"),
        (12345, "₹123.45"),
        (150000, "₹1,500"),
        (500000, "₹5,000"),
        (123456789, "₹12,34,567.89"),
        (10_000_000, "₹1,00,000"),
        (99_999, "₹999.99"),
        (100_000_000_000, "₹1,00,00,00,000"),
        (-150050, "-₹1,500.50"),
    ],
)
def test_format_rupees(paise: int, text: str) -> None:
    assert format_rupees(paise) == text


# --- durable-rules limits ---------------------------------------------------------------------


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
        """\
        - name: also_valid
          description: x
          when: {claim: paid_less}
          outcome: valid_deduction
        """,
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
