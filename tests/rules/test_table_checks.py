"""What the engine refuses in a rule table, and how its error names the rule and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.effects.catalogue import VOCABULARY
from app.rules_engine import RulesError, load_tables
from tests.rules.small_tables import (
    RULES_DIR,
    UNJUSTIFIED,
    engine_with,
    payout_facts,
    rules_error,
    write_table,
)


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
