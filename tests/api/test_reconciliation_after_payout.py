"""POST /v1/payment-records after the platform paid the customer: a payout that has left
counts in what reached the customer, so a vendor's payment recorded after it is found as an
overpayment to recover, and not missed (docs/payment-discrepancies.md)."""

from typing import Any

from httpx import AsyncClient

from tests.conftest import Headers
from tests.factories import HIGH, SMALL, payment_record, platform_payout, post_records


def paid_by_vendor(reference: str, amount: int) -> dict[str, Any]:
    return payment_record("ORD-1", reference, amount, direction="to_customer")


async def overpayment_case(client: AsyncClient, service: Headers, answer: dict[str, Any]) -> Any:
    [opened] = answer["cases"]
    assert opened["case_type"] == "payment_discrepancy"
    assert opened["discrepancy_type"] == "overpayment"
    return (await client.get(opened["url"], headers=service)).json()


async def test_a_vendor_payment_after_a_released_payout_is_an_overpayment_to_recover(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    payout = await platform_payout(client, service, support, vendor, invoice=SMALL)
    shown = (await client.get(f"/v1/payouts/{payout['id']}", headers=vendor)).json()
    assert shown["status"] == "released" and shown["amount"] == SMALL

    case = await overpayment_case(
        client, service, await post_records(client, service, paid_by_vendor("P-1", SMALL))
    )
    assert case["details"]["amount"] == SMALL
    assert case["details"]["platform_paid_amount"] == SMALL
    assert case["details"]["succeeded_amount"] == SMALL
    decision = case["decision"]
    assert decision["outcome"] == "invoice_adjustment"
    assert decision["rules_fired"] == [
        "overpayment_to_the_customer_adjusts_the_invoice",
        "platform_payout_counted_in_the_overpayment",
    ]
    assert decision["facts"]["platform_paid_amount"] == SMALL
    notes = [a["text"] for a in decision["actions"] if a["type"] == "ticket_note"]
    assert notes[-1] == (
        "Of what the customer received, ₹3,000 was the platform's payout on a payout dispute"
    )


async def test_a_payout_finance_approved_counts_as_reached(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    finance_manager: Headers,
) -> None:
    payout = await platform_payout(client, service, support, vendor, invoice=HIGH)
    approved = await client.post(
        f"/v1/payouts/{payout['id']}/approve", json={"note": "ok"}, headers=finance_manager
    )
    assert approved.status_code == 200, approved.text

    # The vendor paid part of it too: the excess is what it paid.
    answer = await post_records(client, service, paid_by_vendor("P-1", 200_000))
    case = await overpayment_case(client, service, answer)
    assert case["details"]["amount"] == 200_000
    assert case["details"]["platform_paid_amount"] == HIGH


async def test_a_payout_still_waiting_or_rejected_did_not_reach_the_customer(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    finance_manager: Headers,
) -> None:
    payout = await platform_payout(client, service, support, vendor, invoice=HIGH)
    # Waiting for finance: the vendor's full payment is no overpayment, and the payout can
    # no longer be approved (it is measured again then).
    answer = await post_records(client, service, paid_by_vendor("P-1", HIGH))
    assert answer["cases"] == [] and answer["new"] == 1
    refused = await client.post(
        f"/v1/payouts/{payout['id']}/approve", json={"note": "ok"}, headers=finance_manager
    )
    assert refused.status_code == 409, refused.text
    rejected = await client.post(
        f"/v1/payouts/{payout['id']}/reject",
        json={"reason": "the vendor paid"},
        headers=finance_manager,
    )
    assert rejected.status_code == 200, rejected.text
    # A second payment record of the vendor is now the overpayment, without the payout.
    case = await overpayment_case(
        client, service, await post_records(client, service, paid_by_vendor("P-2", 50_000))
    )
    assert case["details"]["amount"] == 50_000
    assert case["details"]["platform_paid_amount"] == 0
    assert case["decision"]["rules_fired"] == ["overpayment_to_the_customer_adjusts_the_invoice"]


async def test_the_platform_paying_the_shortfall_leaves_nothing_to_dispute(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    await platform_payout(client, service, support, vendor, invoice=SMALL)
    # The vendor's record of nothing paid, after the platform made the customer whole.
    failed = payment_record("ORD-1", "P-1", SMALL, status="failed", direction="to_customer")
    answer = await post_records(client, service, failed)
    assert answer["cases"] == [] and answer["new"] == 1
