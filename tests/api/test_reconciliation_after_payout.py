"""POST /v1/payment-records after the platform paid the customer: a payout that has left
counts in what reached the customer, so a vendor's payment recorded after it is found as an
overpayment to recover, and not missed (docs/payment-discrepancies.md)."""

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases.deciding import Actor
from app.payout_disputes import service as payout_disputes
from app.payout_disputes.schemas import VendorResponseIn
from tests.conftest import Headers
from tests.factories import (
    HIGH,
    SMALL,
    open_dispute,
    payment_record,
    platform_payout,
    post_records,
    put_completed_order,
)


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


async def _waits_on_a_lock(session: AsyncSession, request: "asyncio.Task[Any]") -> bool:
    """True once ``request`` waits on a row lock; False if it answered without waiting."""
    for _ in range(100):
        await asyncio.sleep(0.05)
        if request.done():
            return False
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        if waiting:
            return True
    raise AssertionError("the request neither answered nor waited")


async def test_a_batch_reads_what_reached_the_customer_under_the_vendors_lock(
    app: FastAPI,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: AsyncClient,
    service: Headers,
    support: Headers,
) -> None:
    """A payout decided (under the vendor's lock, after checking the records) while a batch
    holding the vendor's payment is under way: either the payout sees the batch's records,
    or the batch sees the payout. Had the batch read the balances before the vendor's lock,
    it would have seen no payout, and the payout no record: the customer paid twice."""
    await put_completed_order(client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=SMALL)
    case = await open_dispute(client, support, "ORD-1")
    async with sessionmaker() as deciding, sessionmaker() as watching:
        await deciding.begin()
        # The vendor's answer as its request makes it: the platform pays; not committed yet.
        await payout_disputes.respond(
            deciding,
            app.state.rules_engine,
            Actor(key="vendor:test", name="Vendor V-1", role="vendor"),
            case["id"],
            VendorResponseIn(response="not_paid"),
        )
        await deciding.flush()
        batch = asyncio.create_task(
            client.post(
                "/v1/payment-records",
                json={"records": [paid_by_vendor("P-1", SMALL)]},
                headers=service,
            )
        )
        waited = await _waits_on_a_lock(watching, batch)
        await deciding.commit()
    answer = await asyncio.wait_for(batch, 10)
    assert answer.status_code == 200, answer.text
    assert waited, "the batch read the balances without waiting for the vendor's lock"
    opened = await overpayment_case(client, service, answer.json())
    assert opened["details"]["platform_paid_amount"] == SMALL


async def test_a_second_payment_of_the_vendor_logs_only_the_excess_that_grew(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    await platform_payout(client, service, support, vendor, invoice=SMALL)
    first = await overpayment_case(
        client, service, await post_records(client, service, paid_by_vendor("P-1", SMALL))
    )
    assert first["details"]["amount"] == SMALL
    # Paid a third time: the open overpayment holds one excess, the new case the other.
    [opened] = (await post_records(client, service, paid_by_vendor("P-2", SMALL)))["cases"]
    assert opened["discrepancy_type"] == "double_charge"
    second = (await client.get(opened["url"], headers=service)).json()
    assert second["details"]["amount"] == SMALL
    assert second["details"]["platform_paid_amount"] == SMALL
    assert "platform_payout_counted_in_the_overpayment" in second["decision"]["rules_fired"]
    # Sent again, nothing is new: nothing more is logged.
    again = await post_records(client, service, paid_by_vendor("P-2", SMALL))
    assert again["cases"] == [] and again["already_known"] == 1


@pytest.mark.parametrize(
    "record",
    [
        # The bank reversed a payment the platform had already made good.
        payment_record("ORD-1", "P-1", SMALL, status="charged_back", direction="to_customer"),
        # The customer returned part of what it had, all of it the platform's.
        payment_record("ORD-1", "P-1", 1_000, status="refunded", direction="to_customer"),
    ],
)
async def test_what_the_platform_paid_is_what_the_customer_had(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers, record: Any
) -> None:
    await platform_payout(client, service, support, vendor, invoice=SMALL)
    answer = await post_records(client, service, record)
    assert answer["cases"] == [] and answer["new"] == 1


async def test_cash_the_customer_admitted_counts_as_received(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    """The customer said it had 100,000 of the invoice in cash and the platform paid the
    rest: a failed transfer of the vendor asks nobody to pay again."""
    await put_completed_order(client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=SMALL)
    case = await open_dispute(client, support, "ORD-1", "paid_less", amount_received=100_000)
    answer = await client.post(
        f"/v1/payout-disputes/{case['id']}/vendor-response",
        json={"response": "not_paid"},
        headers=vendor,
    )
    assert answer.status_code == 200, answer.text
    failed = payment_record("ORD-1", "P-1", SMALL, status="failed", direction="to_customer")
    assert (await post_records(client, service, failed))["cases"] == []
