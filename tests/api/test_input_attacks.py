"""Regressions of bad input a careless client sent that the service took, or answered badly:
each is a 4xx problem naming the field now (docs/README.md, API conventions)."""

import pytest
from httpx import AsyncClient

from tests.conftest import Headers


@pytest.mark.parametrize("field", ["case_type", "outcome"])
async def test_an_unknown_decision_filter_value_is_refused(
    client: AsyncClient, service: Headers, field: str
) -> None:
    response = await client.get(f"/v1/decisions?{field}=bogus", headers=service)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["field"] == field


async def test_a_known_decision_filter_value_is_taken(
    client: AsyncClient, service: Headers
) -> None:
    for query in ("case_type=fail_reason", "outcome=resolved_paid", "outcome=refund"):
        response = await client.get(f"/v1/decisions?{query}", headers=service)
        assert response.status_code == 200, (query, response.text)


async def test_a_number_too_long_to_read_is_bad_json_naming_the_body(
    client: AsyncClient, service: Headers
) -> None:
    body = '{"vendor_id": "V-1", "unlock_credits": ' + "9" * 5000 + "}"
    response = await client.put(
        "/v1/orders/ORD-1",
        content=body,
        headers={**service, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["type"]) == ("body", "json_invalid")
    assert "digits" in error["message"]
