"""rules/payout_disputes.yaml against shared/domain.md section 1, without a database."""

import itertools
from pathlib import Path
from typing import Any

import pytest

from app.rules_engine import RulesEngine, build_engine

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
TABLE = "payout_disputes"
# Copied from shared/domain.md section 1 on purpose: the YAML must not drift from it.
VALID_DEDUCTIONS = [
    "screen_damage",
    "body_damage",
    "different_model",
    "missing_accessories",
    "battery_issue",
    "functional_defect",
]


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return build_engine(RULES_DIR, {})


def facts(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event": "vendor_response",
        "claim": "not_paid",
        "invoice_amount": 150_000,
        "disputed_amount": 150_000,
        "earlier_disputes": 0,
        "response": "none",
        "has_proof": False,
        "proof_kind": "",
        "proof_ref": "",
        "amount_paid": 0,
        "shortfall": 0,
        "justified_amount": 0,
        "justified_reasons": "",
        "shortfall_justified": False,
        "unjustified_amount": 0,
        "shortfall_fine": 0,
        "invoice_fine": 150_000,
    }
    base.update(overrides)
    return base


def test_valid_deduction_reasons_are_the_domain_codes(engine: RulesEngine) -> None:
    assert list(engine.tables[TABLE].codes["valid_deduction"]) == VALID_DEDUCTIONS


def expected_outcome(event: str, response: str, has_proof: bool, justified: bool) -> str:
    """The outcome column of domain.md section 1, row by row."""
    if event == "opened":
        return "awaiting_vendor"
    if event == "deadline_missed":
        return "escalated_pending_manager"
    if response == "paid_full":
        return "resolved_paid" if has_proof else "awaiting_vendor"
    if response == "paid_partial" and justified:
        return "resolved_valid_deduction"
    return "resolved_paid_by_platform"


# The service sends response "none" exactly when no answer is being decided.
MOMENTS = [("opened", "none"), ("deadline_missed", "none")] + [
    ("vendor_response", response) for response in ("paid_full", "paid_partial", "not_paid")
]


@pytest.mark.parametrize(
    ("moment", "has_proof", "justified", "repeat", "amount"),
    list(itertools.product(MOMENTS, [False, True], [False, True], [0, 2], [499_999, 500_000])),
)
def test_every_moment_has_exactly_one_outcome(
    engine: RulesEngine,
    moment: tuple[str, str],
    has_proof: bool,
    justified: bool,
    repeat: int,
    amount: int,
) -> None:
    """Whatever facts the service sends, one row decides: the engine refuses two outcomes,
    and none would leave the case without an answer."""
    event, response = moment
    result = engine.evaluate(
        TABLE,
        facts(
            event=event,
            response=response,
            has_proof=has_proof,
            shortfall_justified=justified,
            earlier_disputes=repeat,
            invoice_amount=amount,
            disputed_amount=amount,
            shortfall=amount,
            unjustified_amount=0 if justified else amount,
        ),
    )
    assert result.outcome == expected_outcome(event, response, has_proof, justified)


def test_opening_overlays(engine: RulesEngine) -> None:
    plain = engine.evaluate(TABLE, facts(event="opened", disputed_amount=499_999))
    assert [a["type"] for a in plain.actions] == ["notify"]
    high = engine.evaluate(TABLE, facts(event="opened", disputed_amount=500_000))
    assert {"type": "escalate", "to": "finance_manager"} in high.actions
    repeat = engine.evaluate(TABLE, facts(event="opened", earlier_disputes=2))
    assert {"type": "flag_vendor", "reason": "repeat_payout_disputes"} in repeat.actions
    assert {"type": "reduce_max_leads", "by": 1} in repeat.actions
    once_before = engine.evaluate(TABLE, facts(event="opened", earlier_disputes=1))
    assert not [a for a in once_before.actions if a["type"] == "reduce_max_leads"]


def test_repeat_overlay_is_not_applied_again_when_the_vendor_answers(
    engine: RulesEngine,
) -> None:
    for response in ("paid_full", "paid_partial", "not_paid"):
        result = engine.evaluate(TABLE, facts(response=response, earlier_disputes=5))
        assert "reduce_max_leads" not in [a["type"] for a in result.actions]
        assert {"type": "flag_vendor", "reason": "repeat_payout_disputes"} not in result.actions


def test_policy_moves_the_thresholds(engine: RulesEngine) -> None:
    lowered = build_engine(
        RULES_DIR, {"POLICY_HIGH_VALUE_THRESHOLD": "1000", "POLICY_REPEAT_DISPUTE_COUNT": "1"}
    )
    result = lowered.evaluate(
        TABLE, facts(response="not_paid", invoice_amount=1000, earlier_disputes=1)
    )
    assert {"type": "platform_payout", "amount": 1000, "requires_approval": True} in result.actions
    assert {"type": "block_new_leads"} in result.actions
    default = engine.evaluate(
        TABLE, facts(response="not_paid", invoice_amount=1000, earlier_disputes=1)
    )
    assert {"type": "platform_payout", "amount": 1000, "requires_approval": False} in (
        default.actions
    )
    assert {"type": "block_new_leads"} not in default.actions
