"""POST /v1/fail-reviews/{case_id}/verdict: ops decides, and the decision is applied once."""

from typing import Any

import pytest
from httpx import AsyncClient

from tests.conftest import Headers
from tests.domain import CUSTOMER_CODES, DISPUTED_CODES, FRAUD_CODES, VENDOR_CODES
from tests.factories import file_fail_reason, put_order, standing, verdict


async def ledger_kinds(client: AsyncClient, headers: Headers) -> list[tuple[str, int | None]]:
    items = (await client.get("/v1/vendors/V-1/ledger", headers=headers)).json()["items"]
    return [(e["kind"], e["amount"]) for e in items]


async def notifications(client: AsyncClient, headers: Headers) -> list[dict[str, Any]]:
    feed = (await client.get("/v1/events", headers=headers)).json()["items"]
    return [e for e in feed if e["type"] == "notification.requested"]


async def open_case(
    client: AsyncClient,
    service: Headers,
    vendor: Headers,
    code: str,
    order_id: str = "ORD-1",
    **extra: Any,
) -> str:
    await put_order(client, service, order_id, vendor_id="V-1", unlock_credits=40)
    case_id: str = (await file_fail_reason(client, vendor, order_id, code, **extra))["id"]
    return case_id


@pytest.mark.parametrize("code", CUSTOMER_CODES + DISPUTED_CODES)
async def test_customer_fault_refunds_credits_in_full(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers, code: str
) -> None:
    case_id = await open_case(client, service, vendor, code)
    case = await verdict(client, ops, case_id, "customer")
    decision = case["decision"]
    assert decision["stage"] == "final" and decision["outcome"] == "failed_customer_fault"
    assert case["status"] == "resolved" and case["ticket"]["status"] == "failed_customer_fault"
    assert decision["supersedes"] is not None  # the proposal stays on record
    assert await ledger_kinds(client, service) == [("credit_refund", 40)]
    after = await standing(client, service)
    assert after["credits_refunded"] == 40 and after["active_strikes"] == 0
    assert after["status"] == "active"
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert order["status"] == "failed"
    sent = await notifications(client, service)
    assert [(n["data"]["audience"], n["vendor_id"]) for n in sent] == [("vendor", "V-1")]


@pytest.mark.parametrize(
    "code", [c for c in VENDOR_CODES + DISPUTED_CODES if c != "fraud_suspicion"]
)
async def test_vendor_fault_keeps_credits_and_adds_one_strike(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers, code: str
) -> None:
    case_id = await open_case(client, service, vendor, code)
    case = await verdict(client, ops, case_id, "vendor")
    assert case["decision"]["outcome"] == "failed_vendor_fault"
    assert await ledger_kinds(client, service) == [("sla_strike", None)]
    after = await standing(client, service)
    assert after["active_strikes"] == 1 and after["credits_refunded"] == 0
    assert after["status"] == "active"
    assert (await client.get("/v1/orders/ORD-1", headers=service)).json()["status"] == "failed"
    assert len(await notifications(client, service)) == 1


@pytest.mark.parametrize("code", [*FRAUD_CODES, "fraud_suspicion"])
async def test_fraud_puts_vendor_on_hold_and_up_for_deactivation_at_once(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers, code: str
) -> None:
    case_id = await open_case(client, service, vendor, code)
    await verdict(client, ops, case_id, "vendor")
    assert await ledger_kinds(client, service) == [
        ("sla_strike", None),
        ("hold_vendor", None),
        ("deactivation_review", None),
    ]
    after = await standing(client, service)
    assert after["active_strikes"] == 1 and after["status"] == "deactivation_review"
    feed = (await client.get("/v1/events", headers=service)).json()["items"]
    # One event per decision: the status it leaves the vendor in.
    changes = [
        (e["data"]["previous"], e["data"]["status"])
        for e in feed
        if e["type"] == "vendor.status_changed"
    ]
    assert changes == [("active", "deactivation_review")]


@pytest.mark.parametrize("code", CUSTOMER_CODES)
async def test_vendor_fault_on_customer_code_needs_the_found_reason(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers, code: str
) -> None:
    case_id = await open_case(client, service, vendor, code)
    refused = await client.post(
        f"/v1/fail-reviews/{case_id}/verdict",
        json={"fault": "vendor", "checks": ["vendor_gps"]},
        headers=ops,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "reason"
    assert (await standing(client, service))["active_strikes"] == 0
    case = await verdict(client, ops, case_id, "vendor", reason="vendor_not_visiting")
    assert case["decision"]["outcome"] == "failed_vendor_fault"
    assert case["decision"]["facts"]["reason"] == "vendor_not_visiting"
    assert (await standing(client, service))["active_strikes"] == 1


@pytest.mark.parametrize("code", VENDOR_CODES + FRAUD_CODES)
async def test_customer_fault_on_vendor_code_needs_the_found_reason(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers, code: str
) -> None:
    case_id = await open_case(client, service, vendor, code)
    refused = await client.post(
        f"/v1/fail-reviews/{case_id}/verdict",
        json={"fault": "customer", "checks": ["call_logs"]},
        headers=ops,
    )
    assert refused.status_code == 422
    case = await verdict(client, ops, case_id, "customer", reason="customer_changed_mind")
    assert case["decision"]["outcome"] == "failed_customer_fault"
    assert await ledger_kinds(client, service) == [("credit_refund", 40)]


async def test_hold_at_third_strike_and_review_at_fifth_each_once(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers
) -> None:
    statuses = []
    for n in range(1, 7):
        case_id = await open_case(client, service, vendor, "arrived_late_beyond_sla", f"ORD-{n}")
        await verdict(client, ops, case_id, "vendor")
        statuses.append((await standing(client, service))["status"])
    assert statuses == [
        "active",
        "active",
        "on_hold",
        "on_hold",
        "deactivation_review",
        "deactivation_review",
    ]
    kinds = [k for k, _ in await ledger_kinds(client, service)]
    assert kinds.count("sla_strike") == 6
    assert kinds.count("hold_vendor") == 1 and kinds.count("deactivation_review") == 1


async def test_second_verdict_is_409_and_changes_nothing(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers
) -> None:
    case_id = await open_case(client, service, vendor, "customer_changed_mind")
    first = await verdict(client, ops, case_id, "customer")
    again = await client.post(
        f"/v1/fail-reviews/{case_id}/verdict",
        json={"fault": "customer", "checks": ["call_logs"]},
        headers=ops,
    )
    assert again.status_code == 409
    assert first["decision"]["id"] in again.json()["detail"]
    assert await ledger_kinds(client, service) == [("credit_refund", 40)]


async def test_verdict_needs_ops_and_checks(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers
) -> None:
    case_id = await open_case(client, service, vendor, "customer_changed_mind")
    body = {"fault": "customer", "checks": ["call_logs"]}
    denied = await client.post(f"/v1/fail-reviews/{case_id}/verdict", json=body, headers=vendor)
    assert denied.status_code == 403
    no_checks = await client.post(
        f"/v1/fail-reviews/{case_id}/verdict",
        json={"fault": "customer", "checks": []},
        headers=ops,
    )
    assert no_checks.status_code == 422
    assert no_checks.json()["errors"][0]["field"] == "checks"
    bad_fault = await client.post(
        f"/v1/fail-reviews/{case_id}/verdict",
        json={"fault": "nobody", "checks": ["call_logs"]},
        headers=ops,
    )
    assert bad_fault.status_code == 422
    assert bad_fault.json()["errors"][0]["field"] == "fault"


async def test_verdict_on_unknown_case_is_404(client: AsyncClient, ops: Headers) -> None:
    response = await client.post(
        "/v1/fail-reviews/case_NOPE/verdict",
        json={"fault": "customer", "checks": ["call_logs"]},
        headers=ops,
    )
    assert response.status_code == 404


@pytest.mark.parametrize("fault", ["customer", "vendor"])
async def test_wallet_refund_is_only_marked_eligible_then_released_by_ops(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers, fault: str
) -> None:
    code = "customer_changed_mind" if fault == "customer" else "wrong_inspection"
    case_id = await open_case(
        client, service, vendor, code, vendor_paid_customer=True, amount_paid_to_customer=900_000
    )
    # The vendor's word is not proof: ops confirms the payment at the verdict.
    await verdict(client, ops, case_id, fault, vendor_paid_customer=True)
    ledger = (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"]
    eligible = [e for e in ledger if e["kind"] == "wallet_refund_eligible"]
    assert [e["amount"] for e in eligible] == [900_000]
    assert not [e for e in ledger if e["kind"] == "wallet_refund_released"]

    path = f"/v1/wallet-refunds/{eligible[0]['id']}/release"
    assert (await client.post(path, json={}, headers=vendor)).status_code == 403
    released = await client.post(path, json={"note": "payment reversed"}, headers=ops)
    assert released.status_code == 200
    assert released.json()["kind"] == "wallet_refund_released"
    assert released.json()["settles_entry_id"] == eligible[0]["id"]
    assert released.json()["amount"] == 900_000
    again = await client.post(path, json={}, headers=ops)
    assert again.status_code == 409
    ledger = (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"]
    assert [e["kind"] for e in ledger].count("wallet_refund_released") == 1


async def test_no_wallet_refund_when_vendor_had_not_paid(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers
) -> None:
    case_id = await open_case(client, service, vendor, "customer_changed_mind")
    case = await verdict(client, ops, case_id, "customer")
    assert "wallet_refund_eligible" not in [a["type"] for a in case["decision"]["actions"]]


async def test_decision_record_is_whole(
    client: AsyncClient, service: Headers, ops: Headers, vendor: Headers
) -> None:
    case_id = await open_case(client, service, vendor, "arrived_late_beyond_sla")
    case = await verdict(client, ops, case_id, "vendor", note="GPS shows 3h late")
    decision = (await client.get(f"/v1/decisions/{case['decision']['id']}", headers=ops)).json()
    assert decision["outcome"] == "failed_vendor_fault"
    assert decision["rules_fired"][0] == "vendor_fault_keeps_credits_and_strikes"
    assert decision["ruleset_version"] and decision["policy"]["strike_hold_count"] == 3
    assert decision["facts"]["active_strikes"] == 0 and decision["facts"]["fault"] == "vendor"
    assert decision["decided_by"]["verdict_by"].startswith("ops:")
    assert decision["decided_by"]["checks"] == ["call_logs", "vendor_gps"]
    assert decision["decided_by"]["note"] == "GPS shows 3h late"
    proposal = (await client.get(f"/v1/decisions/{decision['supersedes']}", headers=ops)).json()
    assert proposal["stage"] == "proposed" and proposal["case_id"] == case_id
    other = await client.get(
        f"/v1/decisions/{decision['id']}", headers={"Authorization": "Bearer nope"}
    )
    assert other.status_code == 401
