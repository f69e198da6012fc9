"""rules/payout_disputes.yaml against the payout-dispute procedure (docs/payout-disputes.md),
without a database."""

import itertools
from pathlib import Path
from typing import Any

import pytest

from app.effects.catalogue import VOCABULARY
from app.rules_engine import RulesEngine, build_engine

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
TABLE = "payout_disputes"
# Written out on purpose: the YAML must not drift from the procedure's list.
VALID_DEDUCTIONS = [
    "screen_damage",
    "body_damage",
    "different_model",
    "missing_accessories",
    "battery_issue",
    "functional_defect",
]
REPEAT = [
    {"type": "flag_vendor", "reason": "repeat_payout_disputes"},
    {"type": "reduce_max_leads", "by": 1},
]
BLOCK = {"type": "block_new_leads"}
TO_MANAGER = {"type": "escalate", "to": "ops_manager"}
TO_FINANCE = {"type": "escalate", "to": "finance_manager"}


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return build_engine(RULES_DIR, {}, VOCABULARY)


def facts(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event": "vendor_response",
        "claim": "not_paid",
        "invoice_amount": 150_000,
        "disputed_amount": 150_000,
        "customer_received": 0,
        "earlier_disputes_lost": 0,
        "response": "none",
        "has_proof": False,
        "proof_kind": "",
        "proof_ref": "",
        "vendor_paid": 0,
        "counted_paid": 0,
        "shortfall": 150_000,
        "justified_amount": 0,
        "justified_reasons": "",
        "shortfall_justified": False,
        "unjustified_amount": 150_000,
        "finding": "none",
        "lift_block": False,
        "platform_name": "Cashkr",
    }
    base.update(overrides)
    return base


def types(actions: list[dict[str, Any]]) -> list[str]:
    return [action["type"] for action in actions]


def test_valid_deduction_reasons_are_the_procedure_codes(engine: RulesEngine) -> None:
    assert list(engine.tables[TABLE].codes["valid_deduction"]) == VALID_DEDUCTIONS


def expected_outcome(event: str, response: str, finding: str, proof: bool, justified: bool) -> str:
    """The outcome column of the procedure's table, row by row."""
    if event == "opened":
        return "awaiting_vendor"
    if event == "deadline_missed":
        return "escalated_pending_manager"
    if event == "manager_decision":
        return {
            "vendor_paid_full": "resolved_paid",
            "valid_deduction": "resolved_valid_deduction",
            "vendor_at_fault": "resolved_paid_by_platform",
        }[finding]
    if response == "denies":
        return "escalated_pending_manager"
    if response == "paid_full":
        return "resolved_paid" if proof else "awaiting_vendor"
    if response == "paid_partial" and justified:
        return "resolved_valid_deduction"
    return "resolved_paid_by_platform"


# The service sends response "none" and finding "none" exactly when neither is decided on.
MOMENTS = (
    [("opened", "none", "none"), ("deadline_missed", "none", "none")]
    + [
        ("vendor_response", response, "none")
        for response in ("paid_full", "paid_partial", "not_paid", "denies")
    ]
    + [
        ("manager_decision", "none", finding)
        for finding in ("vendor_paid_full", "valid_deduction", "vendor_at_fault")
    ]
)


@pytest.mark.parametrize(
    ("moment", "proof", "justified", "lost", "amount"),
    list(itertools.product(MOMENTS, [False, True], [False, True], [0, 1], [499_999, 500_000])),
)
def test_every_moment_has_exactly_one_outcome(
    engine: RulesEngine,
    moment: tuple[str, str, str],
    proof: bool,
    justified: bool,
    lost: int,
    amount: int,
) -> None:
    """Whatever facts the service sends, one row decides: the engine refuses two outcomes,
    and none would leave the case without an answer."""
    event, response, finding = moment
    result = engine.evaluate(
        TABLE,
        facts(
            event=event,
            response=response,
            finding=finding,
            has_proof=proof,
            shortfall_justified=justified,
            earlier_disputes_lost=lost,
            invoice_amount=amount,
            disputed_amount=amount,
            shortfall=amount,
            unjustified_amount=0 if justified else amount,
        ),
    )
    assert result.outcome == expected_outcome(event, response, finding, proof, justified)


def test_opening_touches_nothing_of_the_vendor(engine: RulesEngine) -> None:
    plain = engine.evaluate(TABLE, facts(event="opened", disputed_amount=499_999))
    assert types(plain.actions) == ["notify"]
    high = engine.evaluate(TABLE, facts(event="opened", disputed_amount=500_000))
    assert TO_FINANCE in high.actions
    # Nothing is applied before the vendor has answered, repeat vendor or not.
    repeat = engine.evaluate(TABLE, facts(event="opened", earlier_disputes_lost=3))
    assert types(repeat.actions) == ["notify"]


@pytest.mark.parametrize(
    ("moment", "overrides"),
    [
        ("paid short", {"response": "paid_partial"}),
        ("not paid", {"response": "not_paid"}),
        ("denies", {"response": "denies"}),
        ("unreachable", {"event": "deadline_missed"}),
        ("manager: at fault", {"event": "manager_decision", "finding": "vendor_at_fault"}),
    ],
)
def test_a_repeat_vendor_decided_against_is_flagged_and_loses_max_leads(
    engine: RulesEngine, moment: str, overrides: dict[str, Any]
) -> None:
    once = engine.evaluate(TABLE, facts(earlier_disputes_lost=1, **overrides))
    assert all(action in once.actions for action in REPEAT), moment
    first = engine.evaluate(TABLE, facts(earlier_disputes_lost=0, **overrides))
    assert not any(action in first.actions for action in REPEAT), moment


@pytest.mark.parametrize(
    "overrides",
    [
        {"response": "paid_full", "has_proof": True},
        {"response": "paid_partial", "shortfall_justified": True},
        {"event": "manager_decision", "finding": "vendor_paid_full"},
        {"event": "manager_decision", "finding": "valid_deduction"},
    ],
)
def test_a_dispute_the_vendor_won_applies_no_repeat_overlay(
    engine: RulesEngine, overrides: dict[str, Any]
) -> None:
    result = engine.evaluate(TABLE, facts(earlier_disputes_lost=4, **overrides))
    assert not any(action in result.actions for action in REPEAT)


def test_fines_are_credits_from_policy_never_the_rupee_shortfall(engine: RulesEngine) -> None:
    short = engine.evaluate(
        TABLE,
        facts(
            response="paid_partial",
            claim="paid_less",
            customer_received=120_000,
            counted_paid=120_000,
            shortfall=30_000,
            unjustified_amount=30_000,
        ),
    )
    assert {"type": "credit_fine", "amount": 50} in short.actions
    assert {"type": "platform_payout", "amount": 30_000, "requires_approval": False} in (
        short.actions
    )
    [note] = [a for a in short.actions if a["type"] == "ticket_note"]
    assert note["text"] == "Paid ₹300 short without reason – Cashkr covered difference"
    unpaid = engine.evaluate(TABLE, facts(response="not_paid"))
    assert {"type": "credit_fine", "amount": 100} in unpaid.actions


def test_not_paid_pays_what_the_customer_is_owed_not_the_whole_invoice(
    engine: RulesEngine,
) -> None:
    # The customer said it received ₹1,000 of ₹1,500: the vendor's "not paid" does not make
    # the platform pay ₹1,500.
    result = engine.evaluate(
        TABLE,
        facts(
            response="not_paid",
            claim="paid_less",
            customer_received=100_000,
            counted_paid=100_000,
            shortfall=50_000,
        ),
    )
    assert {"type": "platform_payout", "amount": 50_000, "requires_approval": False} in (
        result.actions
    )


def test_a_denial_escalates_at_once_and_blocks(engine: RulesEngine) -> None:
    result = engine.evaluate(TABLE, facts(response="denies"))
    assert result.outcome == "escalated_pending_manager"
    assert TO_MANAGER in result.actions and BLOCK in result.actions
    assert {"type": "ticket_note", "text": "Vendor denies the claim – escalated"} in result.actions
    assert "platform_payout" not in types(result.actions)


def test_a_repeat_vendor_that_did_not_pay_is_blocked_and_escalated_but_resolves(
    engine: RulesEngine,
) -> None:
    result = engine.evaluate(TABLE, facts(response="not_paid", earlier_disputes_lost=1))
    assert result.outcome == "resolved_paid_by_platform"
    assert BLOCK in result.actions and TO_MANAGER in result.actions


@pytest.mark.parametrize(("lift", "blocked"), [(False, True), (True, False)])
def test_the_manager_decides_whether_the_block_stays(
    engine: RulesEngine, lift: bool, blocked: bool
) -> None:
    result = engine.evaluate(
        TABLE, facts(event="manager_decision", finding="vendor_paid_full", lift_block=lift)
    )
    assert (BLOCK in result.actions) is blocked


def test_the_manager_at_fault_pays_what_it_found_owed(engine: RulesEngine) -> None:
    result = engine.evaluate(
        TABLE,
        facts(
            event="manager_decision",
            finding="vendor_at_fault",
            counted_paid=40_000,
            shortfall=560_000,
            invoice_amount=600_000,
        ),
    )
    assert {"type": "platform_payout", "amount": 560_000, "requires_approval": True} in (
        result.actions
    )
    assert TO_FINANCE in result.actions
    assert {"type": "credit_fine", "amount": 50} in result.actions
    nothing = engine.evaluate(
        TABLE, facts(event="manager_decision", finding="vendor_at_fault", counted_paid=0)
    )
    assert {"type": "credit_fine", "amount": 100} in nothing.actions


@pytest.mark.parametrize(("amount", "approval"), [(499_999, False), (500_000, True)])
def test_a_payout_of_finance_size_waits_for_approval(
    engine: RulesEngine, amount: int, approval: bool
) -> None:
    result = engine.evaluate(
        TABLE, facts(response="not_paid", invoice_amount=amount, shortfall=amount)
    )
    assert {"type": "platform_payout", "amount": amount, "requires_approval": approval} in (
        result.actions
    )
    assert (TO_FINANCE in result.actions) is approval


def test_amounts_in_notes_are_in_indian_grouping(engine: RulesEngine) -> None:
    result = engine.evaluate(
        TABLE,
        facts(response="not_paid", invoice_amount=10_000_000, shortfall=10_000_000),
    )
    [note] = [a for a in result.actions if a["type"] == "ticket_note"]
    assert note["text"] == "Vendor did not pay – Cashkr paid the customer ₹1,00,000"


def test_policy_moves_the_thresholds(engine: RulesEngine) -> None:
    lowered = build_engine(
        RULES_DIR,
        {"POLICY_HIGH_VALUE_THRESHOLD": "1000", "POLICY_REPEAT_DISPUTE_COUNT": "2"},
        VOCABULARY,
    )
    unpaid = facts(
        response="not_paid", invoice_amount=1000, shortfall=1000, earlier_disputes_lost=1
    )
    result = lowered.evaluate(TABLE, unpaid)
    assert {"type": "platform_payout", "amount": 1000, "requires_approval": True} in result.actions
    assert BLOCK not in result.actions  # one lost dispute is not a repeat at 2
    default = engine.evaluate(TABLE, unpaid)
    assert {"type": "platform_payout", "amount": 1000, "requires_approval": False} in (
        default.actions
    )
    assert BLOCK in default.actions
