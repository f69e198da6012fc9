"""The queues people work from: cases by team, person, escalation and deadline; notes and
assignment; the finance manager's payouts and ops's wallet refunds."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker
from tests.factories import (
    file_complaint,
    file_fail_reason,
    open_dispute,
    put_completed_order,
    put_order,
    vendor_response,
    verdict,
)


async def ids(client: AsyncClient, headers: Headers, query: str) -> list[str]:
    response = await client.get(f"/v1/cases?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [case["id"] for case in response.json()["items"]]


async def test_cases_by_team_follow_each_escalation(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    await put_completed_order(
        client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=150_000
    )
    await put_order(client, service, "ORD-2", vendor_id="V-1")
    dispute = await open_dispute(client, support, "ORD-1")
    fail = await file_fail_reason(client, ops, "ORD-2", "customer_not_available")
    complaint = await file_complaint(client, support, order_id="ORD-2")
    assert await ids(client, ops, "assignee_team=ops") == [fail["id"], dispute["id"]]
    assert await ids(client, ops, "assignee_team=cx_team") == [complaint["id"]]
    assert await ids(client, ops, "escalated_to=ops_manager") == []
    escalated = await vendor_response(client, ops, dispute["id"], "denies")
    assert escalated["ticket"]["assignee_team"] == "ops_manager"
    assert await ids(client, ops, "assignee_team=ops") == [fail["id"]]
    assert await ids(client, ops, "escalated_to=ops_manager") == [dispute["id"]]
    assert await ids(client, ops, "assignee_team=ops_manager&case_type=payout_dispute") == [
        dispute["id"]
    ]


async def test_a_queue_soonest_deadline_first_pages_without_gaps(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    opened = []
    for n in range(5):
        await put_completed_order(
            client, service, f"ORD-{n}", vendor_id=f"V-{n}", final_invoice_amount=150_000
        )
        opened.append(await open_dispute(client, support, f"ORD-{n}"))
    # The second's vendor denies: its vendor clock stops, its resolution clock runs on.
    await vendor_response(client, ops, opened[1]["id"], "denies")
    # The fourth is decided: no clock runs, it is in no deadline queue.
    await vendor_response(client, ops, opened[3]["id"], "not_paid")
    first = (await client.get("/v1/cases?sort=due_at&limit=2", headers=ops)).json()
    second = (
        await client.get(
            f"/v1/cases?sort=due_at&limit=2&cursor={first['next_cursor']}", headers=ops
        )
    ).json()
    seen = [c["id"] for c in first["items"] + second["items"]]
    # A cursor pages the order it was made in: in the other it would skip or repeat rows.
    other_order = await client.get(f"/v1/cases?limit=2&cursor={first['next_cursor']}", headers=ops)
    assert other_order.status_code == 422
    assert [e["field"] for e in other_order.json()["errors"]] == ["cursor"]
    newest = (await client.get("/v1/cases?limit=2", headers=ops)).json()
    by_due = await client.get(f"/v1/cases?sort=due_at&cursor={newest['next_cursor']}", headers=ops)
    assert by_due.status_code == 422 and "sort=due_at" in by_due.json()["detail"]
    # Vendor clocks (6 h) come before the resolution clock (48 h) of the answered one.
    assert seen == [opened[0]["id"], opened[2]["id"], opened[4]["id"], opened[1]["id"]]
    assert second["next_cursor"] is None
    soon = datetime.fromisoformat(opened[0]["vendor_response_due_at"]) + timedelta(minutes=1)
    due_before = soon.isoformat().replace("+00:00", "Z")
    listed = await ids(client, ops, f"sort=due_at&due_before={due_before}")
    assert listed == [opened[0]["id"], opened[2]["id"], opened[4]["id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "status"),
        ("case_type=refund", "case_type"),
        ("assignee_team=sales", "assignee_team"),
        ("escalated_to=ceo", "escalated_to"),
        ("sort=priority", "sort"),
        ("due_before=0001-01-01T00:00:00Z", "due_before"),
        # PostgreSQL cannot compare text with U+0000: refused here, never a 500.
        ("assignee=Priya%00Nair", "assignee"),
    ],
)
async def test_an_unknown_filter_value_is_a_422_listing_the_known_ones(
    client: AsyncClient, ops: Headers, query: str, field: str
) -> None:
    response = await client.get(f"/v1/cases?{query}", headers=ops)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == field
    if field == "status":
        assert "'awaiting_approval'" in error["message"] and "'escalated'" in error["message"]


async def test_notes_and_assignment_carry_the_persons_name(
    client: AsyncClient, service: Headers, make_key: KeyMaker
) -> None:
    agent = await make_key("support", name="Priya Nair")
    await put_completed_order(client, service, "ORD-1")
    case = await open_dispute(client, agent, "ORD-1")
    noted = await client.post(
        f"/v1/cases/{case['id']}/notes",
        json={
            "text": "Customer sent the bank statement.",
            "attachments": [{"kind": "statement", "ref": "file-9"}],
        },
        headers=agent,
    )
    assert noted.status_code == 201, noted.text
    [note] = noted.json()["notes"]
    assert note["text"] == "Customer sent the bank statement."
    assert note["attachments"] == [{"kind": "statement", "ref": "file-9"}]
    assert note["name"] == "Priya Nair" and note["by"].startswith("support:")
    assigned = await client.post(
        f"/v1/cases/{case['id']}/assign", json={"assignee": "Priya Nair"}, headers=agent
    )
    assert assigned.json()["ticket"]["assignee"] == "Priya Nair"
    assert await ids(client, service, "assignee=Priya%20Nair") == [case["id"]]
    cleared = await client.post(
        f"/v1/cases/{case['id']}/assign", json={"assignee": None}, headers=agent
    )
    assert cleared.json()["ticket"]["assignee"] is None
    assert await ids(client, service, "assignee=Priya%20Nair") == []
    events = (await client.get("/v1/events", headers=service)).json()["items"]
    assigned_events = [e for e in events if e["type"] == "case.assigned"]
    assert [e["data"]["assignee"] for e in assigned_events] == ["Priya Nair", None]
    assert assigned_events[0]["data"]["name"] == "Priya Nair"


@pytest.mark.parametrize("role", ["vendor", "service", "finance_manager"])
async def test_who_may_not_write_notes_or_assign(
    client: AsyncClient, service: Headers, support: Headers, make_key: KeyMaker, role: str
) -> None:
    await put_completed_order(client, service, "ORD-1", vendor_id="V-1")
    case = await open_dispute(client, support, "ORD-1")
    headers = await make_key(role, "V-1" if role == "vendor" else None)
    for path, body in (("notes", {"text": "x"}), ("assign", {"assignee": "x"})):
        response = await client.post(f"/v1/cases/{case['id']}/{path}", json=body, headers=headers)
        assert response.status_code == 403, (path, response.text)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x", "attachments": [{"kind": "photo"}]}, "attachments[0].ref"),
        ({"text": "x", "extra": 1}, "extra"),
    ],
)
async def test_a_bad_note_is_refused_by_name(
    client: AsyncClient, service: Headers, support: Headers, body: dict[str, Any], field: str
) -> None:
    await put_completed_order(client, service, "ORD-1")
    case = await open_dispute(client, support, "ORD-1")
    response = await client.post(f"/v1/cases/{case['id']}/notes", json=body, headers=support)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


async def test_the_finance_managers_queue_shows_what_waits_for_approval(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    finance = await make_key("finance_manager")
    for n, invoice in enumerate((600_000, 100_000, 700_000)):
        await put_completed_order(
            client, service, f"ORD-{n}", vendor_id=f"V-{n % 2}", final_invoice_amount=invoice
        )
        case = await open_dispute(client, support, f"ORD-{n}")
        await vendor_response(client, ops, case["id"], "not_paid")
    waiting = (await client.get("/v1/payouts?status=pending_approval", headers=finance)).json()
    assert [p["amount"] for p in waiting["items"]] == [700_000, 600_000]  # newest first
    assert all(p["status"] == "pending_approval" for p in waiting["items"])
    released = (await client.get("/v1/payouts?status=released", headers=finance)).json()
    assert [p["amount"] for p in released["items"]] == [100_000]
    mine = (await client.get("/v1/payouts?vendor_id=V-0", headers=service)).json()
    assert sorted(p["amount"] for p in mine["items"]) == [600_000, 700_000]
    approved = await client.post(
        f"/v1/payouts/{waiting['items'][0]['id']}/approve", json={}, headers=finance
    )
    assert approved.status_code == 200
    still = (await client.get("/v1/payouts?status=pending_approval", headers=finance)).json()
    assert [p["amount"] for p in still["items"]] == [600_000]
    paged = (await client.get("/v1/payouts?limit=2", headers=finance)).json()
    rest = (
        await client.get(f"/v1/payouts?limit=2&cursor={paged['next_cursor']}", headers=finance)
    ).json()
    assert len(paged["items"]) + len(rest["items"]) == 3 and rest["next_cursor"] is None
    refused = await client.get("/v1/payouts?status=paid", headers=finance)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "status"
    for role in ("support", "vendor"):
        headers = await make_key(role, "V-0" if role == "vendor" else None)
        assert (await client.get("/v1/payouts", headers=headers)).status_code == 403


async def test_ops_sees_the_wallet_refunds_to_release(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_fail_reason(
        client,
        ops,
        "ORD-1",
        "customer_changed_mind",
        vendor_paid_customer=True,
        amount_paid_to_customer=120_000,
    )
    await verdict(client, ops, case["id"], "customer", vendor_paid_customer=True)
    [eligible] = (await client.get("/v1/wallet-refunds?status=eligible", headers=ops)).json()[
        "items"
    ]
    assert (eligible["amount"], eligible["status"]) == (120_000, "eligible")
    await client.post(f"/v1/wallet-refunds/{eligible['id']}/release", json={}, headers=ops)
    assert (await client.get("/v1/wallet-refunds?status=eligible", headers=ops)).json()[
        "items"
    ] == []
    [released] = (await client.get("/v1/wallet-refunds?status=released", headers=ops)).json()[
        "items"
    ]
    assert released["id"] == eligible["id"] and released["settled_by"].startswith("ops:")


async def test_an_assignee_is_kept_as_one_line_with_single_spaces(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1")
    case = await open_dispute(client, support, "ORD-1")
    assigned = await client.post(
        f"/v1/cases/{case['id']}/assign", json={"assignee": "  Priya   Nair "}, headers=support
    )
    assert assigned.json()["ticket"]["assignee"] == "Priya Nair"
    # The queue finds the person however the filter spaces the name.
    assert await ids(client, service, "assignee=Priya%20%20Nair") == [case["id"]]


@pytest.mark.parametrize("name", ["Priya\nNair", "Priya\u202eNair", "Priya\u200bNair", "   "])
async def test_an_assignee_with_invisible_characters_is_refused(
    client: AsyncClient, service: Headers, support: Headers, name: str
) -> None:
    await put_completed_order(client, service, "ORD-1")
    case = await open_dispute(client, support, "ORD-1")
    response = await client.post(
        f"/v1/cases/{case['id']}/assign", json={"assignee": name}, headers=support
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["assignee"]
    shown = (await client.get(f"/v1/cases/{case['id']}", headers=support)).json()
    assert shown["ticket"]["assignee"] is None
