"""Payment-record reconciliation inserts its records (a foreign key: KEY SHARE on each
order's row) before it locks the orders' vendors. A decision locks its vendor and then the
order; were the order locked FOR UPDATE, it would wait for that KEY SHARE while holding the
vendor the reconciliation then asks for: a cycle. FOR NO KEY UPDATE (app.cases.locks) does
not wait for it."""

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases import locks
from app.payment_discrepancies import repository as payment_records
from app.payment_discrepancies.repository import NewRecord
from tests.conftest import Headers
from tests.factories import file_fail_reason, put_order, verdict_body


async def _waiting_on_a_lock(session: AsyncSession) -> bool:
    found = await session.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    return bool(found)


async def _verdict_behind_records(
    reconciling: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: AsyncClient,
    ops: Headers,
    case_id: str,
) -> "asyncio.Task[Response]":
    """Reconciliation's first steps in ``reconciling`` (its lock, then a payment record of
    ORD-1), then the case's verdict sent, once it waits on a lock (or has answered)."""
    await payment_records.lock_reconciliation(reconciling)
    await payment_records.insert_new(
        reconciling,
        # Less than the invoice (1,500,000): a shortfall, so reconcile locks the vendor.
        [NewRecord("REF-1", "ORD-1", 1_000_000, "succeeded", "to_customer", datetime.now(UTC))],
    )
    deciding = asyncio.create_task(
        client.post(f"/v1/fail-reviews/{case_id}/verdict", json=verdict_body("vendor"), headers=ops)
    )
    async with sessionmaker() as watching:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if deciding.done() or await _waiting_on_a_lock(watching):
                break
    return deciding


async def test_a_verdict_and_a_reconciliation_of_its_order_do_not_deadlock(
    app: FastAPI,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: AsyncClient,
    service: Headers,
    ops: Headers,
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case_id = (await file_fail_reason(client, ops, "ORD-1", "intentional_delay"))["id"]

    async with sessionmaker() as reconciling:
        await reconciling.begin()
        # As app.payment_discrepancies.reconciliation.reconcile does, in its order; this
        # side reports a cycle first, so the test sees it instead of the request's retry.
        await reconciling.execute(text("SET LOCAL deadlock_timeout = '100ms'"))
        deciding = await _verdict_behind_records(reconciling, sessionmaker, client, ops, case_id)
        failed: Exception | None = None
        try:
            # The vendors of the orders with a discrepancy, locked (reconcile's next step).
            await locks.lock_vendors(reconciling, {"V-1"})
        except Exception as error:
            failed = error
        await reconciling.rollback()
        answer = await asyncio.wait_for(deciding, 10)
    assert failed is None, f"the reconciliation's vendor lock failed: {failed!r}"
    assert answer.status_code == 200, answer.text


async def test_the_verdict_is_not_run_twice_for_a_deadlock_with_a_reconciliation(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The same, with PostgreSQL's own deadlock_timeout everywhere: the request, waiting
    longest, is the one PostgreSQL aborts; app.api.transaction runs it again."""
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    case_id = (await file_fail_reason(client, ops, "ORD-1", "intentional_delay"))["id"]
    caplog.set_level(logging.WARNING, logger="app.api.transaction")
    async with sessionmaker() as reconciling:
        await reconciling.begin()
        deciding = await _verdict_behind_records(reconciling, sessionmaker, client, ops, case_id)
        try:
            await locks.lock_vendors(reconciling, {"V-1"})
        finally:
            await reconciling.rollback()
        answer = await asyncio.wait_for(deciding, 10)
    assert answer.status_code == 200, answer.text
    deadlocked = [r.getMessage() for r in caplog.records if "deadlocked" in r.getMessage()]
    assert deadlocked == []
