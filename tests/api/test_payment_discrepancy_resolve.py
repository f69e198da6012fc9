"""POST /v1/payment-discrepancies/{id}/resolve: ops confirms the resolution was carried out,
once, and the customer is told."""

from httpx import AsyncClient

from tests.api.records import INVOICE, pay
from tests.conftest import Headers
from tests.factories import events_of, post_records, put_completed_order


async def test_ops_confirms_the_resolution_once_and_the_customer_is_told(
    client: AsyncClient, service: Headers, ops: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    [opened] = (await post_records(client, service, pay("P-1", INVOICE + 5_000)))["cases"]
    url = f"/v1/payment-discrepancies/{opened['id']}/resolve"
    note = {"note": "Refunded ₹50 by UPI, ref RF-1"}
    assert (await client.post(url, json=note, headers=support)).status_code == 403
    assert (await client.post(url, json={"note": ""}, headers=ops)).status_code == 422

    response = await client.post(url, json=note, headers=ops)
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["status"] == "resolved" and case["resolved_at"]
    assert case["ticket"]["status"] == "resolved"
    assert case["decision"]["outcome"] == "refund"
    assert case["notes"][-1]["text"] == "Refunded ₹50 by UPI, ref RF-1"
    clocks = {d["kind"]: d for d in case["deadlines"]}
    assert clocks["resolution"]["outcome"] == "met"
    assert clocks["resolution"]["settled_at"] == case["resolved_at"]
    assert clocks["customer_update"]["outcome"] == "cancelled"  # the outcome is the last word
    events = await events_of(client, service, case_id=case["id"])
    assert events[-1]["type"] == "notification.requested"
    # What was done, in the table's words; ops's note stays on the ticket.
    assert events[-1]["data"] == {
        "audience": "customer",
        "template": "payment_discrepancy_resolved",
        "outcome": "refund",
        "text": "The payment problem on order ORD-1 is resolved: ₹50 has been refunded to you.",
    }
    assert events[-2]["type"] == "case.resolved"

    again = await client.post(url, json=note, headers=ops)
    assert again.status_code == 409


async def test_only_payment_discrepancies_are_resolved_here(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=INVOICE)
    [dispute] = (await post_records(client, service, pay("P-1", 1, direction="to_customer")))[
        "cases"
    ]
    for case_id in (dispute["id"], "case_NOSUCHCASE"):
        response = await client.post(
            f"/v1/payment-discrepancies/{case_id}/resolve", json={"note": "done"}, headers=ops
        )
        assert response.status_code == 404
