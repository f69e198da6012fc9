"""GET /v1/cases and GET /v1/cases/{id}: every case type, with every decision it had."""

import asyncio
import threading
from typing import Any

import asyncpg
import pytest
from httpx import AsyncClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Headers, KeyMaker
from tests.db import asyncpg_dsn
from tests.factories import file_complaint, file_fail_reason, put_order, verdict


async def listed(client: AsyncClient, headers: Headers, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/v1/cases?limit=100&{query}", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def four_cases(client: AsyncClient, service: Headers, ops: Headers) -> dict[str, str]:
    """Oldest first: a decided fail reason (V-1), a pending one (V-1), complaints (V-2, V-1)."""
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    await put_order(client, service, "ORD-2", vendor_id="V-1")
    await put_order(client, service, "ORD-3", vendor_id="V-2")
    decided = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    await verdict(client, ops, decided["id"], "customer")
    pending = await file_fail_reason(client, ops, "ORD-2", "device_mismatch")
    other = await file_complaint(client, ops, order_id="ORD-3")
    mine = await file_complaint(client, ops, order_id="ORD-1")
    return {
        "decided": decided["id"],
        "pending": pending["id"],
        "other": other["id"],
        "mine": mine["id"],
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["mine", "other", "pending", "decided"]),
        ("case_type=fail_reason", ["pending", "decided"]),
        ("case_type=pickup_complaint&vendor_id=V-1", ["mine"]),
        ("status=resolved", ["decided"]),
        ("status=open", ["mine", "other"]),
        ("vendor_id=V-1", ["mine", "pending", "decided"]),
        ("order_id=ORD-1", ["mine", "decided"]),
        ("order_id=ORD-1&status=pending_review", []),
    ],
)
async def test_lists_every_type_newest_first_with_filters(
    client: AsyncClient, service: Headers, ops: Headers, query: str, expected: list[str]
) -> None:
    made = await four_cases(client, service, ops)
    assert [c["id"] for c in await listed(client, service, query)] == [made[e] for e in expected]


async def test_list_items_carry_their_decisions(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    made = await four_cases(client, service, ops)
    by_id = {c["id"]: c for c in await listed(client, service)}
    decided = by_id[made["decided"]]
    assert [d["stage"] for d in decided["history"]] == ["proposed", "final"]
    assert decided["decision"] == decided["history"][-1]
    assert by_id[made["mine"]]["ticket"]["category"] == "customer_pickup_complaint"


async def test_a_vendor_key_lists_only_its_own(
    client: AsyncClient, service: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    made = await four_cases(client, service, ops)
    vendor = await make_key("vendor", "V-2")
    assert [c["id"] for c in await listed(client, vendor)] == [made["other"]]
    assert [c["id"] for c in await listed(client, vendor, "vendor_id=V-2")] == [made["other"]]
    assert await listed(client, vendor, "order_id=ORD-1") == []
    denied = await client.get("/v1/cases?vendor_id=V-1", headers=vendor)
    assert denied.status_code == 403
    assert (await client.get(f"/v1/cases/{made['mine']}", headers=vendor)).status_code == 403
    own = await client.get(f"/v1/cases/{made['other']}", headers=vendor)
    assert own.status_code == 200


async def test_pages_cover_every_case_once(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    made = await four_cases(client, service, ops)
    seen: list[str] = []
    cursor = ""
    while True:
        page = (await client.get(f"/v1/cases?limit=3{cursor}", headers=service)).json()
        assert len(page["items"]) <= 3
        seen.extend(c["id"] for c in page["items"])
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == [made[k] for k in ("mine", "other", "pending", "decided")]


async def test_case_shows_its_whole_history(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    made = await four_cases(client, service, ops)
    case = (await client.get(f"/v1/cases/{made['decided']}", headers=ops)).json()
    proposal, final = case["history"]
    assert (proposal["stage"], proposal["supersedes"]) == ("proposed", None)
    assert (final["stage"], final["supersedes"]) == ("final", proposal["id"])
    assert case["decision"]["id"] == final["id"]
    assert all(d["case_id"] == case["id"] for d in case["history"])
    pending = (await client.get(f"/v1/cases/{made['pending']}", headers=ops)).json()
    assert [d["outcome"] for d in pending["history"]] == ["pending_verdict"]


async def test_unknown_case_is_404(client: AsyncClient, service: Headers) -> None:
    assert (await client.get("/v1/cases/case_NOPE", headers=service)).status_code == 404


async def test_bad_filter_is_named(client: AsyncClient, service: Headers) -> None:
    response = await client.get(f"/v1/cases?status={'x' * 65}", headers=service)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "status"


async def test_filters_the_database_cannot_compare_are_refused_by_name(
    client: AsyncClient, service: Headers
) -> None:
    response = await client.get("/v1/cases?vendor_id=V%001", headers=service)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "vendor_id"


async def test_a_case_read_while_its_clock_fires_shows_one_moment(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine, database_url: str
) -> None:
    """The watcher commits a breach (deadline missed, case escalated) between the read of
    the case's row and the read of its deadlines: the answer shows the case before the
    breach, whole, not the missed deadline beside a case not yet escalated."""
    await put_order(client, service, "ORD-1")
    case_id = (await file_fail_reason(client, ops, "ORD-1", "rude_behaviour"))["id"]

    def breach() -> None:
        async def commit() -> None:
            connection = await asyncpg.connect(asyncpg_dsn(database_url))
            try:
                async with connection.transaction():
                    await connection.execute(
                        "UPDATE deadlines SET outcome = 'missed', settled_at = now()"
                        " WHERE case_id = $1",
                        case_id,
                    )
                    await connection.execute(
                        """UPDATE cases SET escalations = '[{"to": "ops_manager"}]'"""
                        " WHERE id = $1",
                        case_id,
                    )
            finally:
                await connection.close()

        asyncio.run(commit())

    fired: list[bool] = []

    def after_the_case_row(_c: Any, _k: Any, statement: str, *_: Any) -> None:
        if not fired and statement.startswith("SELECT cases."):
            fired.append(True)
            # Another thread with a loop of its own: this one waits inside the request.
            worker = threading.Thread(target=breach)
            worker.start()
            worker.join()

    event.listen(db_engine.sync_engine, "after_cursor_execute", after_the_case_row)
    try:
        during = (await client.get(f"/v1/cases/{case_id}", headers=service)).json()
    finally:
        event.remove(db_engine.sync_engine, "after_cursor_execute", after_the_case_row)
    after = (await client.get(f"/v1/cases/{case_id}", headers=service)).json()

    assert fired
    assert during["escalations"] == []
    assert [d["outcome"] for d in during["deadlines"]] == [None]
    assert after["escalations"] == [{"to": "ops_manager"}]
    assert [d["outcome"] for d in after["deadlines"]] == ["missed"]
