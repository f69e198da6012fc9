"""One batch of the deadline watcher: each deadline fires in a savepoint of its own, so one
that cannot fire leaves the rest of the batch to commit and stays due for the next tick."""

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases import deadlines
from tests.conftest import Headers
from tests.factories import dispute_body, put_completed_order

# A dispute's clocks, made due in this order: one batch claims them all.
OVERDUE = (("vendor_response", 3), ("customer_update", 2), ("resolution", 1))


async def _overdue_dispute(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    sessionmaker: async_sessionmaker[AsyncSession],
    order_id: str,
) -> str:
    await put_completed_order(client, service, order_id, final_invoice_amount=150_000)
    opened = await client.post("/v1/payout-disputes", json=dispute_body(order_id), headers=support)
    assert opened.status_code == 201, opened.text
    case_id: str = opened.json()["id"]
    async with sessionmaker() as session, session.begin():
        for kind, hours in OVERDUE:
            await session.execute(
                text(
                    "UPDATE deadlines SET due_at = now() - make_interval(hours => :hours)"
                    " WHERE case_id = :case_id AND kind = :kind"
                ),
                {"hours": hours, "case_id": case_id, "kind": kind},
            )
    return case_id


@pytest.mark.parametrize("failing", [kind for kind, _ in OVERDUE])
async def test_a_deadline_that_fails_after_settling_leaves_the_rest_of_its_batch_to_fire(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    sessionmaker: async_sessionmaker[AsyncSession],
    app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failing: str,
) -> None:
    """The failing firing had settled its clock when it raised: its savepoint's rollback
    expires the row, which an async session cannot load back on attribute access. The
    watcher must still log it and go on, not fail the whole batch (every tick, for ever)."""
    case_id = await _overdue_dispute(client, service, support, sessionmaker, "ORD-1")
    fires = deadlines.HANDLERS[failing]

    async def fires_then_fails(*args: Any) -> bool:
        await fires(*args)
        raise RuntimeError("the firing failed after it settled its clock")

    monkeypatch.setitem(deadlines.HANDLERS, failing, fires_then_fails)
    caplog.set_level(logging.ERROR, logger="app.cases.deadlines")
    async with sessionmaker() as session, session.begin():
        fired = await deadlines.fire_due(session, app.state.rules_engine, "test", 50)
    assert fired == len(OVERDUE) - 1
    [logged] = [r for r in caplog.records if "could not fire" in r.getMessage()]
    assert f"({failing}, case {case_id})" in logged.getMessage()

    case = (await client.get(f"/v1/cases/{case_id}", headers=ops)).json()
    first = {d["kind"]: d for d in reversed(case["deadlines"])}  # the first clock of each kind
    assert first[failing]["outcome"] is None  # still due: the next tick tries it again
    for kind, _ in OVERDUE:
        if kind != failing:
            assert first[kind]["outcome"] is not None, case["deadlines"]
