"""What the customer hears is the rule tables' words (their ``customer:`` texts), checked
when the rules load: every customer-facing case type has a text for each outcome that ends
it, and every placeholder is something the service can fill."""

import re
import shutil
from pathlib import Path

import pytest

from app.cases.registry import CASE_TYPES, build_rules
from app.rules_engine.errors import RulesError

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "rules"
    shutil.copytree(RULES_DIR, copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_every_customer_facing_case_type_has_a_text_for_each_way_it_ends() -> None:
    engine = build_rules(RULES_DIR, {})
    for case_type in CASE_TYPES.values():
        table = engine.tables[case_type.table]
        if not case_type.customer_facing:
            assert table.customer is None
            continue
        assert table.customer is not None
        assert set(table.customer.resolved) == set(case_type.final_outcomes(table))


def test_a_final_outcome_without_a_text_stops_the_rules_loading(rules_dir: Path) -> None:
    path = rules_dir / "payout_disputes.yaml"
    text = path.read_text()
    path.write_text(re.sub(r"    resolved_paid: >-\n(      .*\n)+", "", text, count=1))
    with pytest.raises(RulesError, match=r"customer\.resolved: no text .*resolved_paid"):
        build_rules(rules_dir, {})


def test_a_placeholder_the_service_cannot_fill_stops_the_rules_loading(rules_dir: Path) -> None:
    edit(
        rules_dir / "pickup_complaints.yaml",
        "    order {order_id}; they will get back",
        "    order {order_id} by {refund_amount}; they will get back",
    )
    with pytest.raises(RulesError, match=r"customer\.update: placeholder \{refund_amount\}"):
        build_rules(rules_dir, {})


def test_a_text_for_an_outcome_the_table_does_not_have_stops_the_rules_loading(
    rules_dir: Path,
) -> None:
    edit(
        rules_dir / "pickup_complaints.yaml",
        "    escalated_to_cx: >-",
        "    refunded: Refunded.\n    escalated_to_cx: >-",
    )
    with pytest.raises(RulesError, match=r"customer\.resolved\.refunded: not one of"):
        build_rules(rules_dir, {})
