"""POST /v1/decisions/simulate: the decision a case body would get, with nothing stored."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Headers, KeyMaker
from tests.db import row_counts
from tests.factories import (
    complaint_body,
    dispute_body,
    file_complaint,
    open_dispute,
    put_completed_order,
    put_order,
)

DECISION_FIELDS = ("outcome", "actions", "ticket", "rules_fired", "ruleset_version", "facts")


async def simulate(client: AsyncClient, headers: Headers, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/decisions/simulate", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_complaint_is_decided_as_the_real_endpoint_would_and_nothing_is_stored(
    client: AsyncClient, service: Headers, support: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    await file_complaint(client, support)
    before = await row_counts(db_engine)
    body = complaint_body(issues=["pickup_marked_not_attempted"])
    result = await simulate(client, service, case_type="pickup_complaint", **body)
    assert await row_counts(db_engine) == before
    assert (result["stage"], result["outcome"]) == ("final", "escalated_to_cx")
    assert (result["order_id"], result["vendor_id"]) == ("ORD-1", "V-1")
    assert result["ticket"]["priority"] == "high"
    # The vendor's real history is counted: this would be its second complaint.
    assert result["facts"]["earlier_complaints"] == 1
    assert "repeat_complaints_flag_vendor" in result["rules_fired"]
    assert result["overridden_facts"] == []

    real = await file_complaint(client, support, issues=["pickup_marked_not_attempted"])
    assert {k: real["decision"][k] for k in DECISION_FIELDS} == {
        k: result[k] for k in DECISION_FIELDS
    }


@pytest.mark.parametrize("earlier", [4, 4.0])
async def test_facts_can_be_overridden(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine, earlier: Any
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    before = await row_counts(db_engine)
    result = await simulate(
        client,
        ops,
        case_type="pickup_complaint",
        # An integer fact reads 4.0 as 4, as every integer of a body does.
        facts={"earlier_complaints": earlier, "vendor_rude_late_unprofessional": False},
        **complaint_body(),
    )
    assert result["facts"]["earlier_complaints"] == 4
    assert isinstance(result["facts"]["earlier_complaints"], int)
    assert {"type": "flag_vendor", "reason": "repeat_pickup_complaints"} in result["actions"]
    assert sorted(result["overridden_facts"]) == [
        "earlier_complaints",
        "vendor_rude_late_unprofessional",
    ]
    assert await row_counts(db_engine) == before


async def test_a_fail_reason_shows_its_proposal_for_any_standing(
    client: AsyncClient, service: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    before = await row_counts(db_engine)
    plain = await simulate(
        client,
        service,
        case_type="fail_reason",
        order_id="ORD-1",
        reason="intentional_delay",
        explanation="late",
    )
    assert (plain["stage"], plain["outcome"]) == ("proposed", "failed_vendor_fault")
    assert [a["type"] for a in plain["actions"]] == ["sla_strike", "notify"]
    third = await simulate(
        client,
        service,
        case_type="fail_reason",
        order_id="ORD-1",
        reason="intentional_delay",
        explanation="late",
        facts={"active_strikes": 2, "strikes_if_vendor_fault": 3},
    )
    assert [a["type"] for a in third["actions"]] == ["sla_strike", "hold_vendor", "notify"]
    customer = await simulate(
        client,
        service,
        case_type="fail_reason",
        order_id="ORD-1",
        reason="intentional_delay",
        explanation="late",
        facts={"fault": "customer"},
    )
    assert {"type": "credit_refund", "amount": 40} in customer["actions"]
    assert await row_counts(db_engine) == before
    order = (await client.get("/v1/orders/ORD-1", headers=service)).json()
    assert order["status"] == "open" and order["cases"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"case_type": "payout_fraud"}, "case_type"),
        ({"case_type": "pickup_complaint", "facts": {"mood": "bad"}}, "facts.mood"),
        (
            {"case_type": "pickup_complaint", "facts": {"earlier_complaints": "2"}},
            "facts.earlier_complaints",
        ),
        ({"case_type": "pickup_complaint", "facts": {"vendor_known": 1}}, "facts.vendor_known"),
        ({"case_type": "pickup_complaint", "issues": ["nope"]}, "issues[0]"),
        ({"case_type": "pickup_complaint", "pickup_slot": ""}, "pickup_slot"),
        (
            {"case_type": "fail_reason", "order_id": "ORD-404", "reason": "intentional_delay"},
            "order_id",
        ),
        (
            {"case_type": "fail_reason", "order_id": "ORD-1", "reason": "dog_ate_it"},
            "reason",
        ),
    ],
)
async def test_bad_bodies_are_named(
    client: AsyncClient,
    service: Headers,
    db_engine: AsyncEngine,
    body: dict[str, Any],
    field: str,
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    if body["case_type"] == "fail_reason":
        body = {"explanation": "x", **body}
    else:
        body = {**complaint_body(), **body}
    before = await row_counts(db_engine)
    response = await client.post("/v1/decisions/simulate", json=body, headers=service)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await row_counts(db_engine) == before


@pytest.mark.parametrize("role", ["support", "vendor"])
async def test_only_ops_and_service_simulate(
    client: AsyncClient, make_key: KeyMaker, role: str
) -> None:
    headers = await make_key(role, "V-1" if role == "vendor" else None)
    response = await client.post(
        "/v1/decisions/simulate",
        json={"case_type": "pickup_complaint", **complaint_body()},
        headers=headers,
    )
    assert response.status_code == 403


async def test_a_payout_dispute_shows_the_decision_it_would_open_with(
    client: AsyncClient, service: Headers, support: Headers, db_engine: AsyncEngine
) -> None:
    await put_completed_order(
        client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=500_000
    )
    before = await row_counts(db_engine)
    body = dispute_body("ORD-1", "not_paid")
    result = await simulate(client, service, case_type="payout_dispute", **body)
    assert await row_counts(db_engine) == before
    assert result["facts"]["event"] == "opened" and result["facts"]["disputed_amount"] == 500_000
    # Exactly the threshold: finance hears of it at once, as the real opening would do.
    assert {"type": "escalate", "to": "finance_manager"} in result["actions"]
    real = (await open_dispute(client, support, "ORD-1")).get("history", [{}])[0]
    assert (real["outcome"], real["actions"]) == (result["outcome"], result["actions"])
