"""POST /v1/pickup-complaints: checked, escalated to CX, acknowledged, repeat vendors flagged."""

import asyncio
import re
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Headers, KeyMaker
from tests.db import row_counts
from tests.factories import (
    complaint_body,
    events_of,
    file_complaint,
    file_fail_reason,
    put_order,
    standing,
)

FRAUD_INDICATORS = ["pickup_marked_not_attempted", "vendor_asked_extra_money_or_documents"]
OTHER_ISSUES = [
    "vendor_rude_late_unprofessional",
    "wrong_device_check_or_unfair_rejection",
    "price_changed_without_explanation",
    "no_show_or_unreachable",
]
PROMISES = re.compile(r"refund|compensat|reimburs|money back|cashback|pay you", re.IGNORECASE)


async def test_complaint_about_a_known_order_is_a_cx_ticket(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_complaint(client, support, attachments=[{"kind": "screenshot", "ref": "f1"}])
    assert case["case_type"] == "pickup_complaint"
    assert (case["order_id"], case["vendor_id"]) == ("ORD-1", "V-1")
    assert case["status"] == "open"
    assert case["ticket"] == {
        "type": "pickup_complaint",
        "category": "customer_pickup_complaint",
        "assignee_team": "cx_team",
        "priority": "normal",
        "status": "open",
        "assignee": None,
    }
    assert case["escalations"] == [{"to": "cx_team"}]
    decision = case["decision"]
    assert decision["stage"] == "final" and decision["outcome"] == "escalated_to_cx"
    assert decision["ticket"]["category"] == "customer_pickup_complaint"
    assert decision["rules_fired"][0] == "qualifying_issue_escalates_to_cx"
    assert decision["facts"]["vendor_rude_late_unprofessional"] is True
    assert decision["facts"]["earlier_complaints"] == 0
    assert case["details"]["attachments"] == [{"kind": "screenshot", "ref": "f1"}]
    assert case["details"]["filed_by"].startswith("support:")
    # A first complaint changes nothing about the vendor.
    assert (await standing(client, service))["flags"] == []
    assert (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"] == []
    opened = await events_of(client, service, type="case.opened")
    assert [(e["case_id"], e["data"]["issues"]) for e in opened] == [
        (case["id"], ["vendor_rude_late_unprofessional"])
    ]


@pytest.mark.parametrize("code", FRAUD_INDICATORS + OTHER_ISSUES)
async def test_priority_is_high_only_for_possible_fraud(
    client: AsyncClient, service: Headers, support: Headers, code: str
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_complaint(client, support, issues=[code])
    expected = "high" if code in FRAUD_INDICATORS else "normal"
    assert case["ticket"]["priority"] == expected
    assert case["decision"]["ticket"]["priority"] == expected


@pytest.mark.parametrize("fraud", FRAUD_INDICATORS)
async def test_rules_see_every_issue_of_a_complaint(
    client: AsyncClient, service: Headers, support: Headers, fraud: str
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    issues = ["no_show_or_unreachable", fraud, "no_show_or_unreachable"]
    case = await file_complaint(client, support, issues=issues)
    assert case["ticket"]["priority"] == "high"
    facts = case["decision"]["facts"]
    assert facts["no_show_or_unreachable"] is True and facts[fraud] is True
    assert [code for code in FRAUD_INDICATORS + OTHER_ISSUES if facts[code]] == sorted(
        {"no_show_or_unreachable", fraud}, key=(FRAUD_INDICATORS + OTHER_ISSUES).index
    )
    assert case["details"]["issues"] == ["no_show_or_unreachable", fraud]


async def test_customer_is_acknowledged_without_any_promise(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_complaint(client, support, issues=FRAUD_INDICATORS + OTHER_ISSUES)
    sent = await events_of(client, service, type="notification.requested")
    assert [(n["data"]["audience"], n["case_id"]) for n in sent] == [("customer", case["id"])]
    words = sent[0]["data"]["text"]
    assert "customer experience team" in words
    assert not PROMISES.search(words), words
    assert sent[0]["data"]["template"] == "pickup_complaint_acknowledged"


async def test_every_missing_part_is_named_at_once(
    client: AsyncClient, support: Headers, db_engine: AsyncEngine
) -> None:
    before = await row_counts(db_engine)
    response = await client.post("/v1/pickup-complaints", json={}, headers=support)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    named = {e["field"] for e in response.json()["errors"]}
    assert named == {"order_id", "customer", "device", "pickup_slot", "issues", "description"}
    assert await row_counts(db_engine) == before


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"order_id": None}, {"order_id"}),
        ({"order_id": None, "lead_id": None, "pickup_slot": " "}, {"order_id", "pickup_slot"}),
        ({"customer": {"name": "Asha Rao"}}, {"customer.phone"}),
        ({"customer": {"name": "", "phone": "12-34"}}, {"customer.name", "customer.phone"}),
        ({"device": {"model": "iPhone XR"}}, {"device.variant"}),
        ({"issues": []}, {"issues"}),
        ({"description": "   "}, {"description"}),
        ({"attachments": [{"kind": "video"}]}, {"attachments[0].kind", "attachments[0].ref"}),
        ({"summary": "typo field"}, {"summary"}),
        ({"description": "late\u0000", "issues": ["a\u0000"]}, {"description", "issues"}),
    ],
)
async def test_bad_parts_are_named(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    db_engine: AsyncEngine,
    overrides: dict[str, Any],
    fields: set[str],
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    before = await row_counts(db_engine)
    response = await client.post(
        "/v1/pickup-complaints", json=complaint_body(**overrides), headers=support
    )
    assert response.status_code == 422, response.text
    assert {e["field"] for e in response.json()["errors"]} == fields
    assert await row_counts(db_engine) == before


async def test_unknown_issue_code_is_named_and_nothing_is_written(
    client: AsyncClient, service: Headers, support: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    before = await row_counts(db_engine)
    response = await client.post(
        "/v1/pickup-complaints",
        json=complaint_body(issues=["no_show_or_unreachable", "vendor_was_grumpy"]),
        headers=support,
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "issues[1]"
    assert "vendor_was_grumpy" in problem["detail"]
    assert await row_counts(db_engine) == before


async def test_unknown_order_and_mismatched_vendor_are_named(
    client: AsyncClient, service: Headers, support: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    before = await row_counts(db_engine)
    unknown = await client.post(
        "/v1/pickup-complaints", json=complaint_body(order_id="ORD-404"), headers=support
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "order_id"
    mismatch = await client.post(
        "/v1/pickup-complaints", json=complaint_body(vendor_id="V-2"), headers=support
    )
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"][0]["field"] == "vendor_id"
    no_vendor = await client.post(
        "/v1/pickup-complaints",
        json=complaint_body(order_id=None, lead_id="LEAD-1", vendor_id="V-404"),
        headers=support,
    )
    assert no_vendor.status_code == 422
    assert no_vendor.json()["errors"][0]["field"] == "vendor_id"
    assert await row_counts(db_engine) == before


async def test_lead_unknown_here_may_name_its_vendor(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_complaint(client, support, order_id=None, lead_id="LEAD-9", vendor_id="V-1")
    assert (case["order_id"], case["vendor_id"]) == (None, "V-1")
    assert case["details"]["lead_id"] == "LEAD-9"
    # It is the vendor's history like any other complaint.
    second = await file_complaint(client, support)
    assert second["decision"]["facts"]["earlier_complaints"] == 1


async def test_lead_without_vendor_is_escalated_and_touches_no_vendor(
    client: AsyncClient, support: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    for _ in range(3):
        case = await file_complaint(client, support, order_id=None, lead_id="LEAD-9")
        assert (case["order_id"], case["vendor_id"]) == (None, None)
        assert case["decision"]["facts"]["vendor_known"] is False
        assert case["escalations"] == [{"to": "cx_team"}]
    counts = await row_counts(db_engine)
    assert counts["ledger_entries"] == 0 and counts["vendors"] == 0


async def test_repeat_complaints_flag_the_vendor_and_tell_the_vendor_manager(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    for n in range(3):
        await put_order(client, service, f"ORD-{n}", vendor_id="V-1")
    first = await file_complaint(client, support, order_id="ORD-0")
    assert "repeat_complaints_flag_vendor" not in first["decision"]["rules_fired"]
    assert [e["data"]["to"] for e in await events_of(client, service, type="case.escalated")] == [
        "cx_team"
    ]

    second = await file_complaint(client, support, order_id="ORD-1")
    assert second["decision"]["facts"]["earlier_complaints"] == 1
    assert "repeat_complaints_flag_vendor" in second["decision"]["rules_fired"]
    assert second["escalations"] == [{"to": "cx_team"}, {"to": "vendor_manager"}]
    record = await standing(client, service)
    assert record["flags"] == [{"reason": "repeat_pickup_complaints", "case_id": second["id"]}]
    assert record["status"] == "active"  # flagged for review, not held by the rules
    ledger = (await client.get("/v1/vendors/V-1/ledger", headers=service)).json()["items"]
    assert [(e["kind"], e["decision_id"]) for e in ledger] == [
        ("flag_vendor", second["decision"]["id"])
    ]
    told = [
        n
        for n in await events_of(client, service, type="notification.requested")
        if n["data"]["audience"] == "vendor_manager"
    ]
    assert [(n["case_id"], n["vendor_id"]) for n in told] == [(second["id"], "V-1")]
    assert "1 earlier pickup complaint" in told[0]["data"]["text"]

    third = await file_complaint(client, support, order_id="ORD-2")
    assert third["decision"]["facts"]["earlier_complaints"] == 2
    assert len((await standing(client, service))["flags"]) == 2


@pytest.mark.parametrize(("days_ago", "counts"), [(29, True), (31, False)])
async def test_only_complaints_in_the_repeat_window_count(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    db_engine: AsyncEngine,
    days_ago: int,
    counts: bool,
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    old = await file_complaint(client, support)
    async with db_engine.begin() as connection:
        await connection.execute(
            text("UPDATE cases SET created_at = now() - make_interval(days => :d) WHERE id = :id"),
            {"d": days_ago, "id": old["id"]},
        )
    new = await file_complaint(client, support)
    assert new["decision"]["facts"]["earlier_complaints"] == int(counts)
    assert ("repeat_complaints_flag_vendor" in new["decision"]["rules_fired"]) == counts


async def test_other_case_types_are_not_complaint_history(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    await put_order(client, service, "ORD-2", vendor_id="V-1")
    await file_fail_reason(client, ops, "ORD-2", "rude_behaviour")
    case = await file_complaint(client, support)
    assert case["decision"]["facts"]["earlier_complaints"] == 0


async def test_simultaneous_complaints_each_count_the_others_once(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    for n in range(6):
        await put_order(client, service, f"ORD-{n}", vendor_id="V-1")
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/pickup-complaints", json=complaint_body(order_id=f"ORD-{n}"), headers=support
            )
            for n in range(6)
        )
    )
    assert [r.status_code for r in responses] == [201] * 6
    seen = sorted(r.json()["decision"]["facts"]["earlier_complaints"] for r in responses)
    assert seen == list(range(6))
    assert len((await standing(client, service))["flags"]) == 5


@pytest.mark.parametrize("role", ["vendor", "service"])
async def test_only_support_and_ops_may_file(
    client: AsyncClient, service: Headers, make_key: KeyMaker, role: str
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    headers = await make_key(role, "V-1" if role == "vendor" else None)
    response = await client.post("/v1/pickup-complaints", json=complaint_body(), headers=headers)
    assert response.status_code == 403
    assert (await client.post("/v1/pickup-complaints", json=complaint_body())).status_code == 401


async def test_ops_may_file_too(client: AsyncClient, service: Headers, ops: Headers) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_complaint(client, ops)
    assert case["details"]["filed_by"].startswith("ops:")
