"""A submission's writes go out in few statements, and its events in the order emitted.

The load benchmark (bench/load_bench.py) showed the fail-reason path bound by round trips
to PostgreSQL: events now go out together at the next flush, and the decision just written
is not selected again. These tests keep it so without timing anything.
"""

from typing import Any

from httpx import AsyncClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Headers
from tests.factories import fail_reason_body, file_fail_reason, put_order, verdict

# What filing sends: the key, the order (locked), the vendor, the opening time; the case, its
# resolution clock, its events with the order's new status and the decision; the case's
# decision id and last event; for the answer, its feedback, history and deadlines.
FILING_STATEMENTS = 14


async def test_filing_a_fail_reason_sends_few_statements(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service, "ORD-1")
    sent: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, _p: Any, _x: Any, _m: bool) -> None:
        sent.append(statement)

    event.listen(db_engine.sync_engine, "before_cursor_execute", count)
    try:
        response = await client.post(
            "/v1/orders/ORD-1/fail-reasons",
            json=fail_reason_body("customer_not_available"),
            headers=ops,
        )
    finally:
        event.remove(db_engine.sync_engine, "before_cursor_execute", count)
    assert response.status_code == 201
    assert len(sent) <= FILING_STATEMENTS, "\n".join(s.split("\n")[0] for s in sent)
    # The answer carries the case's whole history, read in one query for any number of
    # decisions; nothing else is read back.
    assert len([s for s in sent if s.startswith("SELECT decisions")]) == 1


async def test_events_keep_the_order_they_were_emitted_in(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    await verdict(client, ops, case["id"], "customer")
    feed = (await client.get("/v1/events", headers=service)).json()["items"]
    assert [e["type"] for e in feed] == [
        "order.created",
        "case.opened",
        "order.status_changed",
        "decision.made",
        "decision.made",
        "notification.requested",
        "order.status_changed",
        "case.resolved",
    ]
    ids = [e["id"] for e in feed]
    assert ids == sorted(ids)
