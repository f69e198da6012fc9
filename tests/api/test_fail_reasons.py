"""POST /v1/orders/{order_id}/fail-reasons: the vendor files, the order becomes to_be_failed."""

import pytest
from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker
from tests.domain import CUSTOMER_CODES, DISPUTED_CODES, FRAUD_CODES, VENDOR_CODES
from tests.factories import file_fail_reason, put_order


@pytest.mark.parametrize("code", CUSTOMER_CODES)
async def test_customer_code_proposes_refund(
    client: AsyncClient, service: Headers, vendor: Headers, code: str
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case = await file_fail_reason(client, vendor, "ORD-1", code)
    assert case["case_type"] == "fail_reason" and case["status"] == "pending_review"
    proposal = case["decision"]
    assert proposal["stage"] == "proposed"
    assert proposal["outcome"] == "failed_customer_fault"
    assert {"type": "credit_refund", "amount": 40} in proposal["actions"]
    assert proposal["facts"]["reason"] == code and proposal["facts"]["fault"] == "customer"
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert order["status"] == "to_be_failed"
    # A proposal applies nothing.
    vendor_now = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert vendor_now["credits_refunded"] == 0
    assert (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"] == []


@pytest.mark.parametrize("code", VENDOR_CODES + FRAUD_CODES)
async def test_vendor_side_code_proposes_strike(
    client: AsyncClient, service: Headers, vendor: Headers, code: str
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    proposal = (await file_fail_reason(client, vendor, "ORD-1", code))["decision"]
    assert proposal["outcome"] == "failed_vendor_fault"
    types = [a["type"] for a in proposal["actions"]]
    assert "sla_strike" in types and "credit_refund" not in types
    assert ("hold_vendor" in types) == (code in FRAUD_CODES)
    vendor_now = (await client.get("/v1/vendors/V-1", headers=service)).json()
    assert vendor_now["active_strikes"] == 0 and vendor_now["status"] == "active"


@pytest.mark.parametrize("code", DISPUTED_CODES)
async def test_disputed_code_waits_for_verdict(
    client: AsyncClient, service: Headers, vendor: Headers, code: str
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_fail_reason(client, vendor, "ORD-1", code)
    assert case["decision"]["outcome"] == "pending_verdict"
    assert case["decision"]["actions"] == []
    assert case["ticket"]["priority"] == "high"


async def test_unknown_code_is_refused_naming_reason(
    client: AsyncClient, service: Headers, vendor: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    response = await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        json={"reason": "dog_ate_phone", "explanation": "x"},
        headers=vendor,
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "reason"
    assert "customer_changed_mind" in problem["errors"][0]["message"]  # names the valid codes
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert order["status"] == "open" and order["cases"] == []


async def test_missing_explanation_is_named(
    client: AsyncClient, service: Headers, vendor: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    response = await client.post(
        "/v1/orders/ORD-1/fail-reasons", json={"reason": "customer_changed_mind"}, headers=vendor
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["explanation"]


async def test_another_vendors_order_is_403(
    client: AsyncClient, service: Headers, make_key: KeyMaker
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    other = await make_key("vendor", "V-2")
    response = await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        json={"reason": "customer_changed_mind", "explanation": "x"},
        headers=other,
    )
    assert response.status_code == 403
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert order["status"] == "open"


@pytest.mark.parametrize("role", ["support", "service"])
async def test_only_vendor_or_ops_may_file(
    client: AsyncClient, service: Headers, make_key: KeyMaker, role: str
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    response = await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        json={"reason": "customer_changed_mind", "explanation": "x"},
        headers=await make_key(role),
    )
    assert response.status_code == 403


async def test_ops_may_file_for_the_vendor(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    assert case["vendor_id"] == "V-1"


async def test_unknown_order_is_404(client: AsyncClient, ops: Headers) -> None:
    response = await client.post(
        "/v1/orders/NOPE/fail-reasons",
        json={"reason": "customer_changed_mind", "explanation": "x"},
        headers=ops,
    )
    assert response.status_code == 404


async def test_second_fail_reason_on_same_order_is_409(
    client: AsyncClient, service: Headers, vendor: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    await file_fail_reason(client, vendor, "ORD-1", "customer_changed_mind")
    response = await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        json={"reason": "customer_not_available", "explanation": "x"},
        headers=vendor,
    )
    assert response.status_code == 409
    assert "to_be_failed" in response.json()["detail"]


async def test_paid_vendor_needs_an_amount(
    client: AsyncClient, service: Headers, vendor: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    response = await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        json={"reason": "customer_changed_mind", "explanation": "x", "vendor_paid_customer": True},
        headers=vendor,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "amount_paid_to_customer"


async def test_paid_amount_defaults_to_recorded_payment(
    client: AsyncClient, service: Headers, vendor: Headers
) -> None:
    await put_order(
        client,
        service,
        "ORD-1",
        vendor_id="V-1",
        payment={"marked": True, "amount": 1_500_000, "method": "upi", "reference": "U1"},
    )
    case = await file_fail_reason(
        client, vendor, "ORD-1", "customer_changed_mind", vendor_paid_customer=True
    )
    assert {"type": "wallet_refund_eligible", "amount": 1_500_000} in case["decision"]["actions"]


async def test_opening_is_in_the_events_feed(
    client: AsyncClient, service: Headers, vendor: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_fail_reason(client, vendor, "ORD-1", "customer_changed_mind")
    feed = (await client.get("/v1/events", headers=service)).json()["items"]
    opened = [e for e in feed if e["type"] == "case.opened"]
    assert len(opened) == 1 and opened[0]["case_id"] == case["id"]


async def test_a_body_that_is_not_json_is_named_as_the_body(
    client: AsyncClient, service: Headers, vendor: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    response = await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        content=b'{"reason": "customer_changed_mind",,}',
        headers={**vendor, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == "body" and error["type"] == "json_invalid"
    assert "at character 35" in error["message"]
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert order["status"] == "open" and order["cases"] == []
