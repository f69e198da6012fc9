"""GET /v1/decisions: every decision, filtered and cursor-paged, newest first."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.pagination import encode_cursor
from tests.conftest import Headers, KeyMaker
from tests.factories import file_complaint, file_fail_reason, put_order, verdict

T0 = datetime(2026, 11, 1, tzinfo=UTC)


async def listed(client: AsyncClient, headers: Headers, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/v1/decisions?limit=100&{query}", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def three_cases(client: AsyncClient, service: Headers, ops: Headers) -> dict[str, str]:
    """V-1: a fail reason proposed then decided (2 decisions); V-2: one complaint."""
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    await put_order(client, service, "ORD-2", vendor_id="V-2")
    failed = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    final = await verdict(client, ops, failed["id"], "customer")
    complaint = await file_complaint(client, ops, order_id="ORD-2")
    return {
        "proposal": failed["decision"]["id"],
        "final": final["decision"]["id"],
        "complaint": complaint["decision"]["id"],
    }


async def set_decided_at(engine: AsyncEngine, times: dict[str, datetime]) -> None:
    async with engine.begin() as connection:
        for decision_id, at in times.items():
            await connection.execute(
                text("UPDATE decisions SET decided_at = :at WHERE id = :id"),
                {"at": at, "id": decision_id},
            )


async def test_newest_first_superseded_included(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    made = await three_cases(client, service, ops)
    items = await listed(client, service)
    assert [d["id"] for d in items] == [made["complaint"], made["final"], made["proposal"]]
    assert items[1]["supersedes"] == made["proposal"]
    assert items[0]["ticket"]["priority"] == "normal"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("order_id=ORD-1", ["final", "proposal"]),
        ("vendor_id=V-1", ["final", "proposal"]),
        ("vendor_id=V-2", ["complaint"]),
        ("case_type=pickup_complaint", ["complaint"]),
        ("outcome=failed_customer_fault", ["final", "proposal"]),
        ("case_type=fail_reason&outcome=escalated_to_cx", []),
        (
            "vendor_id=V-1&case_type=fail_reason&outcome=failed_customer_fault",
            ["final", "proposal"],
        ),
        ("order_id=ORD-404", []),
    ],
)
async def test_filters_combine(
    client: AsyncClient, service: Headers, ops: Headers, query: str, expected: list[str]
) -> None:
    made = await three_cases(client, service, ops)
    assert [d["id"] for d in await listed(client, service, query)] == [made[e] for e in expected]


async def test_since_is_inclusive_and_until_exclusive(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    made = await three_cases(client, service, ops)
    times = {
        made["proposal"]: T0,
        made["final"]: T0 + timedelta(hours=1),
        made["complaint"]: T0 + timedelta(hours=2),
    }
    await set_decided_at(db_engine, times)

    def q(**bounds: datetime) -> str:
        return "&".join(f"{k}={v.isoformat().replace('+00:00', 'Z')}" for k, v in bounds.items())

    hour = timedelta(hours=1)
    assert [d["id"] for d in await listed(client, service, q(since=T0 + hour))] == [
        made["complaint"],
        made["final"],
    ]
    assert [d["id"] for d in await listed(client, service, q(until=T0 + hour))] == [
        made["proposal"]
    ]
    window = q(since=T0, until=T0 + 2 * hour) + "&vendor_id=V-1"
    assert [d["id"] for d in await listed(client, service, window)] == [
        made["final"],
        made["proposal"],
    ]
    # An offset is honoured; a time without one is UTC.
    ist = (T0 + hour).astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    assert ist == "2026-11-01T06:30:00+05:30"
    plus = await client.get(
        "/v1/decisions", params={"since": ist, "until": "2026-11-01T01:30:00"}, headers=service
    )
    assert [d["id"] for d in plus.json()["items"]] == [made["final"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z", "until"),
        ("since=2026-11-01T00:00:00Z&until=2026-11-01T00:00:00Z", "until"),
        ("since=yesterday", "since"),
        ("outcome=", "outcome"),
        ("limit=0", "limit"),
    ],
)
async def test_bad_filters_are_named(
    client: AsyncClient, service: Headers, query: str, field: str
) -> None:
    response = await client.get(f"/v1/decisions?{query}", headers=service)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_pages_follow_each_other_also_through_equal_times(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    for n in range(5):
        await put_order(client, service, f"ORD-{n}", vendor_id="V-1")
        await file_complaint(client, ops, order_id=f"ORD-{n}")
    every = await listed(client, service)
    # Three decisions at the very same moment: the id decides, and no page loses one.
    same = T0 + timedelta(days=1)
    await set_decided_at(db_engine, {d["id"]: same for d in every[1:4]})
    expected = [d["id"] for d in await listed(client, service)]
    assert len(expected) == 5
    seen: list[str] = []
    cursor = ""
    while True:
        page = (
            await client.get(f"/v1/decisions?limit=2&vendor_id=V-1{cursor}", headers=service)
        ).json()
        seen.extend(d["id"] for d in page["items"])
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == expected


@pytest.mark.parametrize(
    "key",
    ["garbage", "2026-11-01T00:00:00+00:00|", "2026-11-01T00:00:00|dec_1", "|dec_1", "x|dec_1"],
)
async def test_forged_cursor_is_named_not_a_500(
    client: AsyncClient, service: Headers, key: str
) -> None:
    response = await client.get(f"/v1/decisions?cursor={encode_cursor(key)}", headers=service)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("role", ["vendor", "support"])
async def test_only_service_and_ops_list(
    client: AsyncClient, make_key: KeyMaker, role: str
) -> None:
    headers = await make_key(role, "V-1" if role == "vendor" else None)
    assert (await client.get("/v1/decisions", headers=headers)).status_code == 403


async def test_times_are_rfc3339_not_bare_numbers(client: AsyncClient, service: Headers) -> None:
    for path in ("/v1/decisions?until=5.4e-298", "/v1/reports/summary?since=1700000000"):
        response = await client.get(path, headers=service)
        assert response.status_code == 422, path
        assert "RFC 3339" in response.json()["errors"][0]["message"]
