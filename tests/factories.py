"""Request bodies and set-up steps that many tests share, made through the HTTP API."""

from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import text

Headers = dict[str, str]


# Amounts in paise either side of the policy's high-value threshold (rules/policy.yaml).
HIGH = 1_000_000  # ₹10,000: a payout of it waits for finance's approval
SMALL = 300_000  # ₹3,000: a payout of it leaves with its decision
PROOF = {"kind": "payment_proof", "ref": "UPI-1"}


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


async def put_completed_order(
    client: AsyncClient, headers: Headers, order_id: str = "ORD-1", **overrides: Any
) -> dict[str, Any]:
    """An order whose pickup the order system records as completed: one a payout dispute
    may be opened on."""
    return await put_order(client, headers, order_id, **{"pickup_status": "completed", **overrides})


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


def dispute_body(
    order_id: str = "ORD-1", claim: str = "not_paid", **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": order_id,
        "claim": claim,
        "channel": "whatsapp",
        "customer": {"name": "Asha Rao", "phone": "+919812345678"},
        "evidence": [{"kind": "bill_screenshot", "ref": "file-77"}],
        "summary": "Customer claims no payment received",
    }
    body.update(overrides)
    return body


async def open_dispute(
    client: AsyncClient,
    headers: Headers,
    order_id: str = "ORD-1",
    claim: str = "not_paid",
    **overrides: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/payout-disputes", json=dispute_body(order_id, claim, **overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def vendor_response(
    client: AsyncClient, headers: Headers, case_id: str, response: str, **extra: Any
) -> dict[str, Any]:
    answer = await client.post(
        f"/v1/payout-disputes/{case_id}/vendor-response",
        json={"response": response, **extra},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def complaint_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": "ORD-1",
        "customer": {"name": "Asha Rao", "phone": "+919812345678"},
        "device": {"model": "iPhone XR", "variant": "128GB"},
        "pickup_slot": "2026-11-21T10:00:00Z/12:00",
        "issues": ["vendor_rude_late_unprofessional"],
        "description": "Vendor came 3 hours late, didn't explain price drop.",
    }
    body.update(overrides)
    return body


async def file_complaint(client: AsyncClient, headers: Headers, **overrides: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/pickup-complaints", json=complaint_body(**overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def payment_record(
    order_id: str,
    reference: str,
    amount: Any = 1_500_000,
    status: str = "succeeded",
    direction: str = "from_customer",
    **overrides: Any,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "order_id": order_id,
        "reference": reference,
        "amount": amount,
        "status": status,
        "direction": direction,
        "occurred_at": "2026-11-21T10:00:00Z",
    }
    record.update(overrides)
    return record


async def post_records(
    client: AsyncClient, headers: Headers, *records: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        "/v1/payment-records", json={"records": list(records)}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# Rows of the report's data sets, written straight to the tables: cases whose times and
# outcomes a test chooses, which no request could make.
ORDER_ROW = text(
    """
    INSERT INTO orders (id, vendor_id, customer, device, unlock_credits,
                        final_invoice_amount, payment, pickup_notes, created_at)
    VALUES (:id, 'V-1', '{}', '{}', 40, 150000, '{}', '[]', :created_at)
    """
)
CASE_ROW = text(
    """
    INSERT INTO cases (id, case_type, order_id, vendor_id, status, ticket_status, details,
                       outcome, reason, created_at, acknowledged_at, resolved_at, detected_at)
    VALUES (:id, :case_type, :order_id, :vendor_id, :status, :status, '{}', :outcome, :reason,
            :created_at, :acknowledged_at, :resolved_at, :detected_at)
    """
)
FEEDBACK_ROW = text(
    """
    INSERT INTO case_feedback (case_id, score, communication_score, given_by, created_at)
    VALUES (:case_id, :score, :communication_score, 'support:test', :created_at)
    """
)


def case_row(**values: Any) -> dict[str, Any]:
    """CASE_ROW's parameters: what a test leaves out is NULL (resolved: status resolved)."""
    row: dict[str, Any] = {
        "order_id": None,
        "vendor_id": None,
        "outcome": None,
        "reason": None,
        "acknowledged_at": None,
        "resolved_at": None,
        "detected_at": None,
        **values,
    }
    row.setdefault("status", "open" if row["resolved_at"] is None else "resolved")
    return row


async def ledger(client: AsyncClient, headers: Headers) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await client.get("/v1/vendors/V-1/ledger?limit=100", headers=headers)
    ).json()["items"]
    return items


def paid_out(entries: list[dict[str, Any]]) -> int:
    """Paise the platform pays (waiting or released) that no later entry cancelled."""
    cancelled = {
        e["settles_entry_id"] for e in entries if e["kind"] in ("reversal", "payout_rejected")
    }
    return sum(
        e["amount"] for e in entries if e["kind"] == "platform_payout" and e["id"] not in cancelled
    )


async def override(
    client: AsyncClient, headers: Headers, case_id: str, outcome: str, *actions: dict[str, Any]
) -> Any:
    return await client.post(
        f"/v1/cases/{case_id}/override",
        json={"outcome": outcome, "reason": "checked by phone", "actions": list(actions)},
        headers=headers,
    )


async def same_as_shown(client: AsyncClient, headers: Headers, response: Response, *ok: int) -> Any:
    """The case a POST answered, checked equal to a GET right after it, each deadline and
    decision shown once."""
    assert response.status_code in (ok or (200, 201)), response.text
    body = response.json()
    shown = (await client.get(f"/v1/cases/{body['id']}", headers=headers)).json()
    assert body == shown
    ids = [repr(sorted(d.items())) for d in body["deadlines"]]
    assert len(ids) == len(set(ids)), ids
    hist = [d["id"] for d in body["history"]]
    assert len(hist) == len(set(hist)), hist
    return body


def payout(amount: int, **extra: Any) -> dict[str, Any]:
    """A platform payout action, as an override or a manager's decision names it."""
    return {"type": "platform_payout", "amount": amount, **extra}


def answered(response: Response, *codes: int) -> Any:
    """The JSON of an answer with one of ``codes`` (200 by default)."""
    assert response.status_code in (codes or (200,)), response.text
    return response.json()


async def waiting_payouts(client: AsyncClient, finance: Headers) -> list[dict[str, Any]]:
    """The payouts waiting for finance's approval."""
    found = (await client.get("/v1/payouts", headers=finance)).json()["items"]
    return [p for p in found if p["status"] == "pending_approval"]


async def approve_the_waiting_payout(client: AsyncClient, finance: Headers) -> dict[str, Any]:
    """Finance approves the first payout waiting for it; the approval's answer."""
    waiting = (await waiting_payouts(client, finance))[0]
    approved = await client.post(
        f"/v1/payouts/{waiting['id']}/approve", json={"note": "ok"}, headers=finance
    )
    assert approved.status_code == 200, approved.text
    body: dict[str, Any] = approved.json()
    return body


async def events_of(
    client: AsyncClient, headers: Headers, *, type: str | None = None, case_id: str | None = None
) -> list[dict[str, Any]]:
    """The events feed from its start (its first 1,000), only those of ``type`` or of
    ``case_id`` when given."""
    page = (await client.get("/v1/events", params={"limit": 1000}, headers=headers)).json()
    return [
        event
        for event in page["items"]
        if (type is None or event["type"] == type)
        and (case_id is None or event["case_id"] == case_id)
    ]


async def standing(client: AsyncClient, headers: Headers, vendor_id: str = "V-1") -> dict[str, Any]:
    """The vendor's record as GET /v1/vendors/{id} shows it."""
    body: dict[str, Any] = (await client.get(f"/v1/vendors/{vendor_id}", headers=headers)).json()
    return body


async def platform_payout(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    invoice: int = 750_000,
) -> dict[str, Any]:
    """A dispute of ORD-1 (vendor V-1) the vendor admits it did not pay: the platform pays
    the invoice (waiting for finance at the threshold, released at once below it)."""
    await put_completed_order(
        client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=invoice
    )
    case = await open_dispute(client, support, "ORD-1")
    await vendor_response(client, vendor, case["id"], "not_paid")
    ledger = (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"]
    [payout] = [e for e in ledger if e["kind"] == "platform_payout"]
    found: dict[str, Any] = payout
    return found
