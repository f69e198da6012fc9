"""Request bodies and set-up steps that many tests share, made through the HTTP API."""

from typing import Any

from httpx import AsyncClient

Headers = dict[str, str]


def order_body(vendor_id: str = "V-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "vendor_id": vendor_id,
        "customer": {"name": "Asha Rao", "phone": "+919812345678"},
        "device": {"model": "iPhone XR", "variant": "128GB"},
        "pickup_slot": "2026-11-21T10:00:00Z/12:00",
        "unlock_credits": 40,
        "quoted_amount": 1_800_000,
        "final_invoice_amount": 1_500_000,
        "payment": {"marked": False},
        "pickup_notes": [],
    }
    body.update(overrides)
    return body


async def put_order(
    client: AsyncClient, headers: Headers, order_id: str = "ORD-1", **overrides: Any
) -> dict[str, Any]:
    response = await client.put(
        f"/v1/orders/{order_id}", json=order_body(**overrides), headers=headers
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def fail_reason_body(reason: str, **extra: Any) -> dict[str, Any]:
    return {"reason": reason, "explanation": "could not complete", **extra}


def verdict_body(fault: str, **extra: Any) -> dict[str, Any]:
    return {"fault": fault, "checks": ["call_logs", "vendor_gps"], **extra}


async def file_fail_reason(
    client: AsyncClient, headers: Headers, order_id: str, reason: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/orders/{order_id}/fail-reasons",
        json=fail_reason_body(reason, **extra),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def verdict(
    client: AsyncClient, headers: Headers, case_id: str, fault: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/fail-reviews/{case_id}/verdict",
        json=verdict_body(fault, **extra),
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
