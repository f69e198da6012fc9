"""POST /v1/payout-disputes/{id}/vendor-response refused: a second answer, another vendor or
role, an unknown case, a bad body; and answers sent at once decide the dispute once."""

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient

from tests.api.disputing import INVOICE, PROOF, dispute, kinds
from tests.conftest import Headers, KeyMaker
from tests.factories import (
    ledger,
    put_order,
    vendor_response,
)


async def test_answers_after_the_decision_are_409_and_change_nothing(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers, ops: Headers
) -> None:
    case_id = await dispute(client, service, support)
    decided = await vendor_response(client, vendor, case_id, "not_paid")
    before = await ledger(client, service)
    for headers in (vendor, ops):
        again = await client.post(
            f"/v1/payout-disputes/{case_id}/vendor-response",
            json={"response": "paid_full", "proof": PROOF},
            headers=headers,
        )
        assert again.status_code == 409
        assert decided["decision"]["id"] in again.json()["detail"]
    assert await ledger(client, service) == before
    case = (await client.get(f"/v1/cases/{case_id}", headers=service)).json()
    assert case["decision"]["id"] == decided["decision"]["id"]


async def test_only_the_orders_vendor_or_ops_may_answer(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    case_id = await dispute(client, service, support)
    other = await make_key("vendor", "V-2")
    path = f"/v1/payout-disputes/{case_id}/vendor-response"
    body = {"response": "not_paid"}
    assert (await client.post(path, json=body, headers=other)).status_code == 403
    assert (await client.post(path, json=body, headers=support)).status_code == 403
    assert (await client.post(path, json=body, headers={})).status_code == 401
    answered = await vendor_response(client, ops, case_id, "paid_full", proof=PROOF)
    assert answered["decision"]["decided_by"]["answered_by"].startswith("ops:")


async def test_unknown_or_other_cases_are_404(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-9")
    fail_case = await client.post(
        "/v1/orders/ORD-9/fail-reasons",
        json={"reason": "customer_changed_mind", "explanation": "x"},
        headers=ops,
    )
    for case_id in ("case_NOPE", fail_case.json()["id"]):
        response = await client.post(
            f"/v1/payout-disputes/{case_id}/vendor-response",
            json={"response": "not_paid"},
            headers=ops,
        )
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"response": "paid_partial"}, "amount_paid"),
        ({"response": "paid_partial", "amount_paid": INVOICE}, "amount_paid"),
        ({"response": "paid_full", "amount_paid": INVOICE - 1}, "amount_paid"),
        ({"response": "not_paid", "amount_paid": 100}, "amount_paid"),
        (
            {"response": "paid_partial", "amount_paid": 1, "deduction_reason": "bad_mood"},
            "deduction_reason",
        ),
        ({"response": "paid_full", "deduction_reason": "screen_damage"}, "deduction_reason"),
        ({"response": "denied"}, "response"),
        ({"response": "paid_full", "proof": {"kind": "payment_proof"}}, "proof.ref"),
        ({"response": "paid_full", "amount_paid": "150000"}, "amount_paid"),
    ],
)
async def test_bad_answers_are_refused_naming_the_field_and_write_nothing(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    body: dict[str, Any],
    field: str,
) -> None:
    case_id = await dispute(client, service, support)
    response = await client.post(
        f"/v1/payout-disputes/{case_id}/vendor-response", json=body, headers=vendor
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    case = (await client.get(f"/v1/cases/{case_id}", headers=service)).json()
    assert case["status"] == "awaiting_vendor" and case["decision"]["stage"] == "interim"
    assert case["details"]["vendor_responses"] == []
    assert await ledger(client, service) == []


async def test_simultaneous_answers_decide_once(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers, ops: Headers
) -> None:
    case_id = await dispute(client, service, support)
    path = f"/v1/payout-disputes/{case_id}/vendor-response"
    answers = await asyncio.gather(
        *(
            client.post(path, json={"response": "not_paid"}, headers=headers)
            for headers in (vendor, ops, vendor)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409]
    assert [k for k, _ in await kinds(client, service)].count("platform_payout") == 1
