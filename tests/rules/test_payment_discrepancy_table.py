"""rules/payment_discrepancies.yaml against the domain (docs/payment-discrepancies.md), and
the reconciliation's measurements, without a database."""

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.effects.catalogue import VOCABULARY
from app.payment_discrepancies.reconciliation import SHORTFALL, find
from app.payment_discrepancies.repository import Balance, NewRecord
from app.rules_engine import RulesEngine, build_engine
from tests.domain import DISCREPANCY_TYPES, RESOLUTIONS

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
TABLE = "payment_discrepancies"
# The procedure's resolutions for the customer's own payments, and this service's reading
# for the rest (docs/payment-discrepancies.md): too much paid to the customer is put right
# on the invoice, never refunded to the customer; a payment to the customer reversed by the
# bank is paid again.
RESOLUTION = {
    ("transaction_failure", "from_customer"): "payment_reprocessing",
    ("transaction_failure", "to_customer"): "payment_reprocessing",
    ("partial_payment", "from_customer"): "payment_reprocessing",
    ("partial_payment", "to_customer"): "payment_reprocessing",
    ("overpayment", "from_customer"): "refund",
    ("overpayment", "to_customer"): "invoice_adjustment",
    ("chargeback", "from_customer"): "refund",
    ("chargeback", "to_customer"): "payment_reprocessing",
    ("double_charge", "from_customer"): "refund",
    ("double_charge", "to_customer"): "invoice_adjustment",
    ("refund_issue", "from_customer"): "invoice_adjustment",
    ("refund_issue", "to_customer"): "invoice_adjustment",
}
INVOICE = 150_000


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return build_engine(RULES_DIR, {}, VOCABULARY)


def facts(discrepancy_type: str, direction: str) -> dict[str, Any]:
    return {
        "discrepancy_type": discrepancy_type,
        "direction": direction,
        "invoice_amount": INVOICE,
        "amount": 10_000,
        "succeeded_amount": 140_000,
        "refunded_amount": 0,
        "platform_paid_amount": 0,
        "references": "P-1",
    }


def test_the_table_speaks_the_domain_vocabulary(engine: RulesEngine) -> None:
    table = engine.tables[TABLE]
    assert list(table.codes["discrepancy_type"]) == DISCREPANCY_TYPES
    assert sorted(table.outcomes) == sorted(RESOLUTIONS)


@pytest.mark.parametrize(
    ("discrepancy_type", "direction"),
    list(itertools.product(DISCREPANCY_TYPES, ["to_customer", "from_customer"])),
)
def test_every_discrepancy_has_exactly_one_resolution(
    engine: RulesEngine, discrepancy_type: str, direction: str
) -> None:
    evaluation = engine.evaluate(TABLE, facts(discrepancy_type, direction))
    assert evaluation.outcome == RESOLUTION[discrepancy_type, direction]
    notes = [a for a in evaluation.actions if a["type"] == "ticket_note"]
    assert len(notes) == 1


def records(*specs: tuple[str, int]) -> list[NewRecord]:
    at = datetime(2026, 11, 21, tzinfo=UTC)
    return [
        NewRecord(f"P-{n}", "ORD-1", amount, status, "from_customer", at)
        for n, (status, amount) in enumerate(specs)
    ]


def balance(
    new: list[NewRecord], direction: str = "from_customer", known: dict[str, int] | None = None
) -> Balance:
    """The order's sums once ``new`` is stored, plus what ``known`` says was there before."""
    known = known or {}
    succeeded = [r.amount for r in new if r.status == "succeeded"]

    def total(status: str) -> int:
        return sum(r.amount for r in new if r.status == status) + known.get(status, 0)

    return Balance(
        order_id="ORD-1",
        direction=direction,
        invoice=INVOICE,
        succeeded=sum(succeeded) + known.get("succeeded", 0),
        refunded=total("refunded"),
        full_payments=succeeded.count(INVOICE) + known.get("full_payments", 0),
        charged_back=total("charged_back"),
        platform_paid=known.get("platform_paid", 0),
        admitted=known.get("admitted", 0),
        logged_excess=known.get("logged_excess", 0),
    )


@pytest.mark.parametrize(
    ("specs", "known", "expected"),
    [
        ([("succeeded", INVOICE)], {}, []),
        ([("failed", INVOICE)], {}, [("transaction_failure", INVOICE)]),
        # Paid already: the failed retry is nothing to reprocess.
        ([("failed", INVOICE)], {"succeeded": INVOICE, "full_payments": 1}, []),
        ([("succeeded", 100_000)], {}, [("partial_payment", 50_000)]),
        ([("succeeded", 50_000)], {"succeeded": 100_000}, []),
        ([("succeeded", 160_000)], {}, [("overpayment", 10_000)]),
        (
            [("succeeded", INVOICE)],
            {"succeeded": INVOICE, "full_payments": 1},
            [("double_charge", INVOICE)],
        ),
        (
            [("succeeded", INVOICE), ("refunded", INVOICE)],
            {"succeeded": INVOICE, "full_payments": 1},
            [],
        ),
        ([("refunded", 10_000)], {"succeeded": 160_000}, []),
        ([("refunded", 10_000)], {}, [("refund_issue", 10_000)]),
        (
            [("refunded", 20_000)],
            {"succeeded": INVOICE, "refunded": INVOICE, "full_payments": 1},
            [("refund_issue", 20_000)],
        ),
        ([("charged_back", 70_000)], {"succeeded": INVOICE}, [("chargeback", 70_000)]),
        # Several at once, in a fixed order; what is short is asked for once: the failed 2
        # and the balance left after it.
        (
            [("charged_back", 1), ("failed", 2), ("succeeded", 3)],
            {},
            [("chargeback", 1), ("transaction_failure", 2), ("partial_payment", INVOICE - 5)],
        ),
    ],
)
def test_what_reconciliation_calls_a_discrepancy(
    specs: list[tuple[str, int]], known: dict[str, int], expected: list[tuple[str, int]]
) -> None:
    new = records(*specs)
    found = find(balance(new, known=known), new)
    assert [(d.discrepancy_type, d.amount) for d in found] == expected


def test_a_payout_below_the_invoice_is_a_shortfall_not_a_partial_payment() -> None:
    new = records(("succeeded", 100_000))
    [found] = find(balance(new, "to_customer"), new)
    assert (found.discrepancy_type, found.amount) == (SHORTFALL, 50_000)


@pytest.mark.parametrize(
    ("specs", "known", "expected"),
    [
        # The vendor paid in full after the platform paid the customer: paid twice.
        ([("succeeded", INVOICE)], {"platform_paid": INVOICE}, [("overpayment", INVOICE)]),
        # The platform paid the shortfall the vendor left, and the vendor then paid it too.
        ([("succeeded", INVOICE)], {"platform_paid": 50_000}, [("overpayment", 50_000)]),
        # The platform made the customer whole: nothing short, nothing to send again.
        ([("succeeded", 100_000)], {"platform_paid": 50_000}, []),
        ([("failed", INVOICE)], {"platform_paid": INVOICE}, []),
        # Sent again only as far as the customer is short.
        ([("failed", INVOICE)], {"platform_paid": 50_000}, [("transaction_failure", 100_000)]),
        # The customer's own dispute said it had 100,000 in cash; the platform paid the rest.
        ([("failed", INVOICE)], {"platform_paid": 50_000, "admitted": 100_000}, []),
        # A chargeback is paid again only as far as the customer is short.
        ([("charged_back", INVOICE)], {"platform_paid": INVOICE}, []),
        ([("succeeded", INVOICE), ("charged_back", INVOICE)], {"platform_paid": INVOICE}, []),
        (
            [("charged_back", INVOICE)],
            {"succeeded": INVOICE, "full_payments": 1, "platform_paid": 50_000},
            [("chargeback", 100_000)],
        ),
        # What is short is asked for once, in one batch: a reversed payment first, then a
        # failed one, then a dispute.
        (
            [("charged_back", INVOICE), ("failed", INVOICE)],
            {"succeeded": INVOICE, "full_payments": 1},
            [("chargeback", INVOICE)],
        ),
        ([("succeeded", 90_000), ("failed", 60_000)], {}, [("transaction_failure", 60_000)]),
        (
            [("succeeded", 50_000), ("charged_back", 50_000)],
            {},
            [("chargeback", 50_000), (SHORTFALL, 100_000)],
        ),
        # The customer returned less than it had: the platform's payout is what it had.
        ([("refunded", 10_000)], {"platform_paid": INVOICE}, []),
        ([("refunded", 10_000)], {"platform_paid": 5_000}, [("refund_issue", 5_000)]),
    ],
)
def test_what_reached_the_customer_is_more_than_the_records(
    specs: list[tuple[str, int]], known: dict[str, int], expected: list[tuple[str, int]]
) -> None:
    new = [replace(record, direction="to_customer") for record in records(*specs)]
    found = find(balance(new, "to_customer", known=known), new)
    assert [(d.discrepancy_type, d.amount) for d in found] == expected
    assert all(d.platform_paid == known.get("platform_paid", 0) for d in found)


@pytest.mark.parametrize(
    ("known", "expected"),
    [
        # Paid 50,000 over the invoice before, nothing logged: all of the excess now.
        ({"succeeded": INVOICE + 50_000}, [("overpayment", 70_000)]),
        # A case logged those 50,000 (open or resolved): only what grew.
        ({"succeeded": INVOICE + 50_000, "logged_excess": 50_000}, [("overpayment", 20_000)]),
        # Cases logged more than was still held before (a refund took some back): no more
        # than was held counts.
        ({"succeeded": INVOICE + 50_000, "logged_excess": 80_000}, [("overpayment", 20_000)]),
        # A refund took the 50,000 back: the case that logged them holds nothing now.
        (
            {"succeeded": INVOICE + 50_000, "refunded": 50_000, "logged_excess": 50_000},
            [("overpayment", 20_000)],
        ),
    ],
)
def test_an_excess_is_logged_once(known: dict[str, int], expected: list[tuple[str, int]]) -> None:
    new = records(("succeeded", 20_000))
    found = find(balance(new, known=known), new)
    assert [(d.discrepancy_type, d.amount) for d in found] == expected


@pytest.mark.parametrize(
    ("discrepancy", "rule"),
    [
        ("overpayment", "overpayment_to_the_customer_adjusts_the_invoice"),
        ("double_charge", "double_payment_to_the_customer_adjusts_the_invoice"),
    ],
)
def test_an_excess_the_platform_paid_into_says_so(
    engine: RulesEngine, discrepancy: str, rule: str
) -> None:
    evaluation = engine.evaluate(
        TABLE, {**facts(discrepancy, "to_customer"), "platform_paid_amount": 10_000}
    )
    assert evaluation.outcome == "invoice_adjustment"
    assert evaluation.rules_fired == [rule, "platform_payout_counted_in_the_overpayment"]
