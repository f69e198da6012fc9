"""POST /v1/cases/{id}/feedback: the customer's satisfaction, once, after resolution."""

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker
from tests.factories import (
    file_fail_reason,
    open_dispute,
    put_completed_order,
    put_order,
    vendor_response,
)

PROOF = {"kind": "payment_proof", "ref": "UPI-1"}


async def resolved_dispute(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> dict[str, Any]:
    await put_completed_order(client, service, "ORD-1", final_invoice_amount=150_000)
    case = await open_dispute(client, support, "ORD-1")
    return await vendor_response(client, vendor, case["id"], "paid_full", proof=PROOF)


def url(case: dict[str, Any]) -> str:
    return f"/v1/cases/{case['id']}/feedback"


async def test_feedback_after_resolution_is_stored_once_and_shown_on_the_case(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, vendor: Headers
) -> None:
    case = await resolved_dispute(client, service, support, vendor)
    response = await client.post(
        url(case), json={"score": 4, "comment": "Sorted in a day"}, headers=support
    )
    assert response.status_code == 201, response.text
    given = response.json()["feedback"]
    assert (given["score"], given["comment"]) == (4, "Sorted in a day")
    assert given["given_by"].startswith("support:")
    shown = (await client.get(f"/v1/cases/{case['id']}", headers=ops)).json()
    assert shown["feedback"] == given
    feed = (await client.get("/v1/events", headers=service)).json()["items"]
    [event] = [e for e in feed if e["type"] == "case.feedback_received"]
    assert (event["case_id"], event["data"]) == (case["id"], {"score": 4})

    again = await client.post(url(case), json={"score": 5}, headers=ops)
    assert again.status_code == 409
    assert "already" in again.json()["detail"]
    shown = (await client.get(f"/v1/cases/{case['id']}", headers=ops)).json()
    assert shown["feedback"]["score"] == 4


async def test_no_feedback_before_resolution(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_completed_order(client, service, "ORD-1")
    case = await open_dispute(client, support, "ORD-1")
    response = await client.post(url(case), json={"score": 5}, headers=support)
    assert response.status_code == 409
    assert "not resolved" in response.json()["detail"]
    shown = (await client.get(f"/v1/cases/{case['id']}", headers=support)).json()
    assert shown["feedback"] is None


async def test_simultaneous_feedback_is_taken_once(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    case = await resolved_dispute(client, service, support, vendor)
    answers = await asyncio.gather(
        *(client.post(url(case), json={"score": n}, headers=support) for n in (1, 5))
    )
    assert sorted(a.status_code for a in answers) == [201, 409]


async def test_a_score_reads_numbers_as_every_body_does(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    case = await resolved_dispute(client, service, support, vendor)
    body = {"score": 5.0, "communication_score": 4e0}
    response = await client.post(url(case), json=body, headers=support)
    assert response.status_code == 201, response.text
    shown = (await client.get(f"/v1/cases/{case['id']}", headers=support)).json()
    assert (shown["feedback"]["score"], shown["feedback"]["communication_score"]) == (5, 4)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score": 0}, "score"),
        ({"score": 6}, "score"),
        ({"score": 4.5}, "score"),
        ({"score": "5"}, "score"),
        ({"score": True}, "score"),
        ({}, "score"),
        ({"score": 5, "comment": ""}, "comment"),
        ({"score": 5, "mood": "happy"}, "mood"),
    ],
)
async def test_bad_feedback_is_refused_naming_the_field(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    body: dict[str, Any],
    field: str,
) -> None:
    case = await resolved_dispute(client, service, support, vendor)
    response = await client.post(url(case), json=body, headers=support)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    shown = (await client.get(f"/v1/cases/{case['id']}", headers=support)).json()
    assert shown["feedback"] is None


async def test_a_case_no_customer_raised_takes_no_feedback(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    response = await client.post(url(case), json={"score": 5}, headers=ops)
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "case_id",
        "in": "path",
        "message": response.json()["detail"],
        "type": "refused",
    }


async def test_who_may_give_feedback(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    vendor: Headers,
    make_key: KeyMaker,
) -> None:
    case = await resolved_dispute(client, service, support, vendor)
    for headers, status in ((vendor, 403), (service, 403), ({}, 401)):
        response = await client.post(url(case), json={"score": 5}, headers=headers)
        assert response.status_code == status
    missing = await client.post(
        "/v1/cases/case_NOSUCHCASE/feedback", json={"score": 5}, headers=support
    )
    assert missing.status_code == 404


async def test_a_communication_score_beside_the_score_is_stored_and_shown(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, vendor: Headers
) -> None:
    case = await resolved_dispute(client, service, support, vendor)
    response = await client.post(
        url(case), json={"score": 3, "communication_score": 5}, headers=support
    )
    assert response.status_code == 201, response.text
    given = response.json()["feedback"]
    assert (given["score"], given["communication_score"]) == (3, 5)
    shown = (await client.get(f"/v1/cases/{case['id']}", headers=ops)).json()
    assert shown["feedback"]["communication_score"] == 5
    report = (await client.get("/v1/reports/summary", headers=service)).json()
    assert (report["satisfaction"]["count"], report["satisfaction"]["of"]) == (0, 1)
    satisfied = report["communication_satisfaction"]
    assert (satisfied["count"], satisfied["of"], satisfied["share"]["target"]) == (1, 1, 0.95)


@pytest.mark.parametrize("bad", [0, 6, "5", 4.5])
async def test_a_bad_communication_score_is_refused_by_name_and_nothing_is_stored(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    vendor: Headers,
    bad: object,
) -> None:
    case = await resolved_dispute(client, service, support, vendor)
    response = await client.post(
        url(case), json={"score": 4, "communication_score": bad}, headers=support
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "communication_score"
    shown = (await client.get(f"/v1/cases/{case['id']}", headers=ops)).json()
    assert shown["feedback"] is None


async def test_without_a_communication_score_it_is_null_and_not_counted(
    client: AsyncClient, service: Headers, support: Headers, vendor: Headers
) -> None:
    case = await resolved_dispute(client, service, support, vendor)
    given = (await client.post(url(case), json={"score": 5}, headers=support)).json()["feedback"]
    assert given["communication_score"] is None
    report = (await client.get("/v1/reports/summary", headers=service)).json()
    assert report["satisfaction"]["count"] == 1
    assert report["communication_satisfaction"]["of"] == 0
