"""POST /v1/cases/{id}/override with a bad body, on a case it cannot act on, or by a role
that may not: refused by name, and nothing changes."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.overriding import decided_case, overridden
from tests.conftest import Headers, KeyMaker
from tests.db import row_counts
from tests.factories import (
    file_complaint,
)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "resolved_paid", "reason": "x"}, "outcome"),
        ({"outcome": "failed_vendor_fault"}, "reason"),
        ({"outcome": "failed_vendor_fault", "reason": " "}, "reason"),
        (
            {"outcome": "failed_vendor_fault", "reason": "x", "actions": [{"type": "nap"}]},
            "actions[0].type",
        ),
        (
            {"outcome": "failed_vendor_fault", "reason": "x", "actions": [{"amount": 5}]},
            "actions[0].type",
        ),
        (
            {"outcome": "failed_vendor_fault", "reason": "x", "actions": [{"type": "credit_fine"}]},
            "actions[0].amount",
        ),
        (
            {
                "outcome": "failed_vendor_fault",
                "reason": "x",
                "actions": [{"type": "credit_fine", "amount": -5}],
            },
            "actions[0].amount",
        ),
        (
            {
                "outcome": "failed_vendor_fault",
                "reason": "x",
                "actions": [{"type": "escalate", "to": "ceo"}],
            },
            "actions[0].to",
        ),
    ],
)
async def test_bad_overrides_are_named_and_change_nothing(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    db_engine: AsyncEngine,
    body: dict[str, Any],
    field: str,
) -> None:
    ruled = await decided_case(client, service, ops, "customer_changed_mind", "customer")
    before = await row_counts(db_engine)
    response = await client.post(f"/v1/cases/{ruled['id']}/override", json=body, headers=ops)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await row_counts(db_engine) == before


async def test_a_case_without_vendor_takes_no_vendor_action(
    client: AsyncClient, support: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    case = await file_complaint(client, support, order_id=None, lead_id="LEAD-1")
    before = await row_counts(db_engine)
    response = await client.post(
        f"/v1/cases/{case['id']}/override",
        json={
            "outcome": "escalated_to_cx",
            "reason": "x",
            "actions": [{"type": "escalate", "to": "cx_team"}, {"type": "hold_vendor"}],
        },
        headers=ops,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "actions[1].type"
    assert await row_counts(db_engine) == before
    fine = await overridden(
        client, ops, case["id"], "escalated_to_cx", {"type": "ticket_note", "text": "called"}
    )
    assert fine["notes"][-1]["text"] == "called"


@pytest.mark.parametrize("role", ["support", "service", "vendor"])
async def test_only_ops_overrides(
    client: AsyncClient, service: Headers, ops: Headers, make_key: KeyMaker, role: str
) -> None:
    ruled = await decided_case(client, service, ops, "customer_changed_mind", "customer")
    headers = await make_key(role, "V-1" if role == "vendor" else None)
    response = await client.post(
        f"/v1/cases/{ruled['id']}/override",
        json={"outcome": "failed_vendor_fault", "reason": "x"},
        headers=headers,
    )
    assert response.status_code == 403


async def test_unknown_case_is_404(client: AsyncClient, ops: Headers) -> None:
    response = await client.post(
        "/v1/cases/case_NOPE/override", json={"outcome": "x", "reason": "y"}, headers=ops
    )
    assert response.status_code == 404
