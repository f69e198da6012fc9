"""GET /v1/rulesets: the version, tables and policy values every decision is made by."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from app.main import create_app
from app.rules_engine.policy import policy_names
from app.settings import Settings
from tests.conftest import Headers, KeyMaker
from tests.factories import file_complaint, put_order


@pytest.mark.parametrize("role", ["vendor", "support", "ops", "service"])
async def test_every_role_reads_the_active_ruleset(
    client: AsyncClient, make_key: KeyMaker, role: str
) -> None:
    headers = await make_key(role, "V-1" if role == "vendor" else None)
    response = await client.get("/v1/rulesets", headers=headers)
    assert response.status_code == 200
    assert (await client.get("/v1/rulesets")).status_code == 401


async def test_it_is_the_ruleset_decisions_record(
    client: AsyncClient, service: Headers, support: Headers
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case = await file_complaint(client, support)
    ruleset = (await client.get("/v1/rulesets", headers=support)).json()
    assert ruleset["version"] == case["decision"]["ruleset_version"]
    assert {p["name"]: p["value"] for p in ruleset["policy"]} == case["decision"]["policy"]


async def test_tables_show_rules_as_written(client: AsyncClient, support: Headers) -> None:
    ruleset = (await client.get("/v1/rulesets", headers=support)).json()
    tables = {t["name"]: t for t in ruleset["tables"]}
    assert {"fail_reasons", "pickup_complaints"} <= set(tables)
    complaints = tables["pickup_complaints"]
    assert complaints["case_type"] == "pickup_complaint" and complaints["mode"] == "collect"
    assert complaints["codes"]["possible_fraud"] == [
        "pickup_marked_not_attempted",
        "vendor_asked_extra_money_or_documents",
    ]
    assert complaints["facts"]["earlier_complaints"] == "int"
    assert "customer experience team" in complaints["customer"]["acknowledged"]
    rules = {r["name"]: r for r in complaints["rules"]}
    assert complaints["rules"][0]["name"] == "qualifying_issue_escalates_to_cx"
    repeat = rules["repeat_complaints_flag_vendor"]
    assert repeat["when"] == {
        "vendor_known": True,
        "earlier_complaints": {"gte": {"policy": "repeat_complaint_count"}},
    }
    assert {"type": "escalate", "to": "vendor_manager"} in repeat["actions"]
    assert repeat["description"].startswith("The vendor already had")
    assert rules["pickup_marked_not_attempted_is_possible_fraud"]["ticket"] == {"priority": "high"}
    refund = next(
        r for r in tables["fail_reasons"]["rules"] if r["name"] == "customer_fault_refunds_credits"
    )
    assert refund["actions"] == [{"type": "credit_refund", "amount": {"fact": "unlock_credits"}}]
    assert refund["outcome"] is None  # the customer_fault rule decides the outcome


async def test_policy_values_have_units_and_sources(client: AsyncClient, support: Headers) -> None:
    policy = (await client.get("/v1/rulesets", headers=support)).json()["policy"]
    assert [p["name"] for p in policy] == list(policy_names())
    by_name = {p["name"]: p for p in policy}
    assert by_name["repeat_complaint_count"] == {
        "name": "repeat_complaint_count",
        "value": 1,
        "default": 1,
        "unit": "count",
        "description": by_name["repeat_complaint_count"]["description"],
        "source": "docs/pickup-complaints.md",
    }
    assert by_name["repeat_window_days"]["unit"] == "days"
    assert all(p["source"] and p["description"] for p in policy)


@pytest.fixture
async def stricter(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, database_url: str, app: FastAPI
) -> AsyncIterator[AsyncClient]:
    """Another instance on the same database, with a policy value overridden."""
    monkeypatch.setenv("POLICY_REPEAT_COMPLAINT_COUNT", "2")
    other = create_app(settings, database_url)
    async with (
        other.router.lifespan_context(other),
        AsyncClient(transport=ASGITransport(app=other), base_url="http://test") as client,
    ):
        yield client


async def test_an_overridden_value_is_shown_and_decided_by(
    client: AsyncClient, stricter: AsyncClient, service: Headers, support: Headers
) -> None:
    default = (await client.get("/v1/rulesets", headers=support)).json()
    ruleset = (await stricter.get("/v1/rulesets", headers=support)).json()
    value = next(p for p in ruleset["policy"] if p["name"] == "repeat_complaint_count")
    assert (value["value"], value["default"]) == (2, 1)
    assert ruleset["version"] != default["version"]

    await put_order(stricter, service, "ORD-1", vendor_id="V-1")
    fired = []
    for _ in range(3):
        decision = (await file_complaint(stricter, support))["decision"]
        assert decision["ruleset_version"] == ruleset["version"]
        fired.append("repeat_complaints_flag_vendor" in decision["rules_fired"])
    assert fired == [False, False, True]
