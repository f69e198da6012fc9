"""GET /metrics: the figures operators alert on, after real requests."""

import re

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases import lifecycle
from app.db.transaction import transaction
from app.observability.context import on_commit
from tests.conftest import Headers, KeyMaker
from tests.factories import file_fail_reason, put_order, verdict, verdict_body
from tests.faults import deadlock


def sample(body: str, name: str, **labels: str) -> float:
    """The value of one sample; 0 when it is absent."""
    for line in body.splitlines():
        if line.startswith(f"{name}{{") or line.startswith(f"{name} "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


async def scrape(client: AsyncClient, headers: Headers) -> str:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_need_a_service_or_ops_key(client: AsyncClient, make_key: KeyMaker) -> None:
    assert (await client.get("/metrics")).status_code == 401
    vendor = await make_key("vendor", "V-1")
    assert (await client.get("/metrics", headers=vendor)).status_code == 403


async def test_requests_decisions_and_open_cases_are_counted(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    before = await scrape(client, service)
    await put_order(client, service, "ORD-1")
    await put_order(client, service, "ORD-2")
    first = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    await file_fail_reason(client, ops, "ORD-2", "rude_behaviour")
    await verdict(client, ops, first["id"], "customer")
    await client.post("/v1/orders/ORD-404/fail-reasons", json={}, headers=ops)  # 422
    after = await scrape(client, service)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    route = "/v1/orders/{order_id}/fail-reasons"
    assert delta("http_requests_total", route=route, method="POST", status="201") == 2
    assert delta("http_requests_total", route=route, method="POST", status="422") == 1
    assert delta("http_request_duration_seconds_count", route=route, method="POST") == 3
    assert (
        delta(
            "decisions_total",
            case_type="fail_reason",
            stage="proposed",
            outcome="failed_customer_fault",
        )
        == 1
    )
    assert (
        delta(
            "decisions_total",
            case_type="fail_reason",
            stage="final",
            outcome="failed_customer_fault",
        )
        == 1
    )
    assert delta("rule_evaluation_seconds_count", table="fail_reasons") == 3
    # Only the second case is still open.
    assert sample(after, "open_cases", case_type="fail_reason") == 1
    assert sample(after, "db_pool_connections", state="size") >= 1


async def test_only_committed_work_is_counted(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    counted: list[str] = []
    async with transaction(sessionmaker) as session:
        await session.execute(text("SELECT 1"))
        on_commit(lambda: counted.append("committed"))
        assert counted == []  # not before the commit
    assert counted == ["committed"]
    with pytest.raises(RuntimeError):
        async with transaction(sessionmaker) as session:
            on_commit(lambda: counted.append("rolled back"))
            raise RuntimeError("the request failed after deciding")
    assert counted == ["committed"]


async def test_conflicts_are_counted_as_run_again_or_given_up(
    client: AsyncClient, service: Headers, ops: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = []
    for order_id in ("ORD-1", "ORD-2"):
        await put_order(client, service, order_id)
        cases.append(await file_fail_reason(client, ops, order_id, "customer_not_available"))
    before = await scrape(client, service)

    def delta(after: str, outcome: str) -> float:
        labels = {"conflict": "deadlock", "outcome": outcome}
        name = "transaction_conflicts_total"
        return sample(after, name, **labels) - sample(before, name, **labels)

    deadlock(monkeypatch, lifecycle, "after_decision", after=True)
    await verdict(client, ops, cases[0]["id"], "customer")
    after = await scrape(client, service)
    assert (delta(after, "retried"), delta(after, "gave_up")) == (1, 0)

    deadlock(monkeypatch, lifecycle, "after_decision", after=True, times=4)
    url = f"/v1/fail-reviews/{cases[1]['id']}/verdict"
    busy = await client.post(url, json=verdict_body("customer"), headers=ops)
    assert busy.status_code == 409 and busy.json()["type"].endswith("/busy")
    after = await scrape(client, service)
    assert (delta(after, "retried"), delta(after, "gave_up")) == (1 + 3, 1)
