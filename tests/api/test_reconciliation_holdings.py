"""POST /v1/payment-records: what the customer holds, after refunds, chargebacks and the
cases already logged, decides what each batch opens (docs/payment-discrepancies.md)."""

from typing import Any

from httpx import AsyncClient

from tests.conftest import Headers
from tests.factories import (
    open_dispute,
    payment_record,
    post_records,
    put_completed_order,
    vendor_response,
)

INVOICE = 400_000


def to_customer(reference: str, amount: int, status: str = "succeeded") -> dict[str, Any]:
    return payment_record("ORD-1", reference, amount, status=status, direction="to_customer")


async def opened(client: AsyncClient, service: Headers, *records: dict[str, Any]) -> list[Any]:
    """(type, discrepancy type, amount) of each case the batch opened."""
    answer = await post_records(client, service, *records)
    cases = []
    for case in answer["cases"]:
        shown = (await client.get(case["url"], headers=service)).json()
        amount = shown["details"].get("amount", shown["details"].get("disputed_amount"))
        cases.append((case["case_type"], case["discrepancy_type"], amount))
    return cases


async def test_a_payment_after_a_chargeback_opens_a_dispute_for_what_is_short(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    assert await opened(client, service, to_customer("P-1", INVOICE)) == []
    reversed_ = to_customer("P-2", INVOICE, "charged_back")
    assert await opened(client, service, reversed_) == [
        ("payment_discrepancy", "chargeback", INVOICE)
    ]
    # The vendor pays 300,000 again: the batch is taken, and the dispute is for the rest.
    [dispute] = await opened(client, service, to_customer("P-3", 300_000))
    assert dispute == ("payout_dispute", None, 100_000)


async def test_a_chargeback_of_the_payment_a_dispute_was_opened_on_asks_for_all_of_it(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    # Paid 300,000 of 400,000: reconciliation opens the dispute for 100,000.
    assert await opened(client, service, to_customer("P-1", 300_000)) == [
        ("payout_dispute", None, 100_000)
    ]
    # Those 300,000 reversed: the customer holds nothing; the dispute asks for the 100,000.
    assert await opened(client, service, to_customer("P-2", 300_000, "charged_back")) == [
        ("payment_discrepancy", "chargeback", 300_000)
    ]


async def test_an_excess_a_refund_took_back_is_not_counted_again(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    await post_records(client, service, to_customer("P-1", INVOICE))
    assert await opened(client, service, to_customer("P-2", 100_000)) == [
        ("payment_discrepancy", "overpayment", 100_000)
    ]
    # The 100,000 come back while the case is open; then the vendor pays 100,000 more.
    assert await opened(client, service, to_customer("P-3", 100_000, "refunded")) == []
    assert await opened(client, service, to_customer("P-4", 100_000)) == [
        ("payment_discrepancy", "overpayment", 100_000)
    ]


async def test_an_excess_resolved_is_not_logged_again_whole(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    answer = await post_records(client, service, to_customer("P-1", INVOICE + 100_000))
    [case] = answer["cases"]
    resolved = await client.post(
        f"/v1/payment-discrepancies/{case['id']}/resolve",
        json={"note": "recovered by the vendor in cash"},
        headers=ops,
    )
    assert resolved.status_code == 200, resolved.text
    assert await opened(client, service, to_customer("P-2", 1)) == [
        ("payment_discrepancy", "overpayment", 1)
    ]


async def test_a_case_in_one_direction_does_not_hide_one_in_the_other(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    from_customer = payment_record("ORD-1", "C-1", INVOICE)
    await post_records(client, service, from_customer, to_customer("P-1", INVOICE))
    charged = payment_record("ORD-1", "C-2", INVOICE, status="charged_back")
    assert await opened(client, service, charged) == [
        ("payment_discrepancy", "chargeback", INVOICE)
    ]
    assert await opened(client, service, to_customer("P-2", INVOICE, "charged_back")) == [
        ("payment_discrepancy", "chargeback", INVOICE)
    ]


async def test_the_platform_may_pay_a_customer_whose_payment_was_reversed(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    await put_completed_order(
        client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=INVOICE
    )
    await post_records(client, service, to_customer("P-1", INVOICE))
    await post_records(client, service, to_customer("P-2", INVOICE, "charged_back"))
    case = await open_dispute(client, support, "ORD-1")
    answered = await vendor_response(client, vendor, case["id"], "not_paid")
    assert answered["ticket"]["status"] == "resolved_paid_by_platform", answered["ticket"]


async def test_what_is_short_is_asked_for_once_in_a_batch(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    await post_records(client, service, to_customer("P-1", INVOICE))
    # The payment reversed, and the vendor's retry failed: one request to pay again.
    batch = (to_customer("P-2", INVOICE, "charged_back"), to_customer("P-3", INVOICE, "failed"))
    assert await opened(client, service, *batch) == [("payment_discrepancy", "chargeback", INVOICE)]


async def test_an_open_case_of_a_kind_leaves_what_is_short_to_the_next(
    client: AsyncClient, service: Headers
) -> None:
    """A failure the order has an open case of gets no second case, so it takes no share of
    what is short: the dispute asks for it."""
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    assert await opened(client, service, to_customer("P-1", 100_000, "failed")) == [
        ("payment_discrepancy", "transaction_failure", 100_000)
    ]
    batch = (to_customer("P-2", INVOICE, "failed"), to_customer("P-3", 300_000))
    assert await opened(client, service, *batch) == [("payout_dispute", None, 100_000)]


async def test_a_dispute_after_a_chargeback_counts_what_the_customer_holds(
    client: AsyncClient, service: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    answer = await post_records(
        client, service, to_customer("P-1", 300_000), to_customer("P-2", 100_000, "charged_back")
    )
    [dispute] = [c for c in answer["cases"] if c["case_type"] == "payout_dispute"]
    shown = (await client.get(dispute["url"], headers=service)).json()
    # Holds 200,000: the chargeback asks for 100,000 of the 200,000 short, the dispute the
    # rest, counting the 100,000 asked of the vendor as received; its summary says both.
    assert shown["details"]["amount_received"] == 300_000
    assert shown["details"]["disputed_amount"] == 100_000
    assert "holds ₹2,000 of the final invoice ₹4,000; ₹1,000 of it" in shown["details"]["summary"]
