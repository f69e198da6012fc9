"""Evaluating tables: facts checked, operators, modes, tickets and messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.effects.catalogue import VOCABULARY
from app.rules_engine import RulesError, build_engine, format_rupees, load_tables
from tests.rules.small_tables import (
    ALSO_VALID,
    UNJUSTIFIED,
    engine_with,
    payout_facts,
    rules_error,
    write_table,
)


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
        ALSO_VALID,
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
