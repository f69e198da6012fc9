"""Answers made from a case's rows read with its running clocks (app.cases.case_rows) stay
what a GET shows when a watcher holds or fires a clock, when a deadlock or a lost connection
makes the request run again, and when writes on one case race."""

import asyncio
from typing import Any

import asyncpg
import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.api import idempotency
from app.api.limits import RateLimiter
from app.cases import case_rows, lifecycle
from app.cases import deadlines as firing
from app.db import driver
from app.keys import service as keys
from tests.conftest import Headers, KeyMaker, running_app, suite_settings
from tests.factories import (
    HIGH,
    file_fail_reason,
    open_dispute,
    put_completed_order,
    put_order,
    same_as_shown,
    verdict_body,
)
from tests.faults import deadlock


async def test_a_breached_resolution_clock_then_a_verdict(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    async with db_engine.begin() as c:
        await c.execute(
            text("UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE case_id = :id"),
            {"id": case["id"]},
        )
    body = await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/fail-reviews/{case['id']}/verdict", json=verdict_body("customer"), headers=ops
        ),
    )
    assert [d["outcome"] for d in body["deadlines"]] == ["missed"]


async def test_a_clock_held_by_a_watcher_while_a_verdict_runs_is_settled_once(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    db_engine: AsyncEngine,
    app: Any,
) -> None:
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    cid = case["id"]
    async with db_engine.begin() as c:
        await c.execute(
            text("UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE case_id = :id"),
            {"id": cid},
        )
    async with db_engine.connect() as holder:
        await holder.execute(
            text("SELECT 1 FROM deadlines WHERE case_id = :id FOR UPDATE"), {"id": cid}
        )
        answer = await client.post(
            f"/v1/fail-reviews/{cid}/verdict", json=verdict_body("customer"), headers=ops
        )
        body = await same_as_shown(client, ops, answer)
        assert [d["outcome"] for d in body["deadlines"]] == [None]
        await holder.rollback()
    # The watcher now fires it: once.
    async with app.state.sessionmaker() as session, session.begin():
        await firing.fire_due(session, app.state.rules_engine, "watcher:test", 10)
    async with app.state.sessionmaker() as session, session.begin():
        await firing.fire_due(session, app.state.rules_engine, "watcher:test", 10)
    shown = (await client.get(f"/v1/cases/{cid}", headers=ops)).json()
    assert [d["outcome"] for d in shown["deadlines"]] == ["missed"]
    feed = (await client.get("/v1/events?limit=100", headers=ops)).json()["items"]
    assert len([e for e in feed if e["type"] == "case.breached" and e["case_id"] == cid]) == 1


async def test_a_deadlock_after_the_rows_were_read_is_retried_fresh(
    client: AsyncClient, service: Headers, ops: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    calls = deadlock(monkeypatch, lifecycle, "after_decision", after=True)
    body = await same_as_shown(
        client,
        ops,
        await client.post(
            f"/v1/fail-reviews/{case['id']}/verdict", json=verdict_body("customer"), headers=ops
        ),
    )
    assert len(calls) == 2
    assert len(body["history"]) == 2


async def test_a_verdict_racing_the_watcher_settles_each_clock_once(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine, app: Any
) -> None:
    await put_order(client, service, "ORD-1")
    cases = []
    for n in range(6):
        await put_order(client, service, f"ORD-{n + 2}")
        cases.append(await file_fail_reason(client, ops, f"ORD-{n + 2}", "customer_not_available"))
    async with db_engine.begin() as connection:
        await connection.execute(text("UPDATE deadlines SET due_at = now() - interval '1 hour'"))

    async def fire() -> None:
        async with app.state.sessionmaker() as session, session.begin():
            await firing.fire_due(session, app.state.rules_engine, "watcher:test", 100)

    posts = [
        client.post(
            f"/v1/fail-reviews/{c['id']}/verdict", json=verdict_body("customer"), headers=ops
        )
        for c in cases
    ]
    answers = (await asyncio.gather(*posts, fire(), fire()))[: len(cases)]
    await fire()
    feed = (await client.get("/v1/events?limit=100", headers=ops)).json()["items"]
    for c, answer in zip(cases, answers, strict=True):
        assert isinstance(answer, Response) and answer.status_code == 200, answer
        shown = (await client.get(f"/v1/cases/{c['id']}", headers=ops)).json()
        assert [d["outcome"] for d in shown["deadlines"]] == ["missed"]
        breached = [e for e in feed if e["type"] == "case.breached" and e["case_id"] == c["id"]]
        assert len(breached) == 1, breached
        body = answer.json()
        # What the answer said of the clock is either what is stored, or still running
        # (the watcher held it and settles it after).
        assert body["deadlines"][0]["outcome"] in (None, "missed")
        if body["deadlines"][0]["outcome"] == "missed":
            assert body["deadlines"] == shown["deadlines"]
        assert body["history"] == shown["history"][: len(body["history"])]


async def test_a_deadlock_after_the_answer_was_made_is_retried_fresh_and_replays_equal(
    client: AsyncClient, service: Headers, ops: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    calls = deadlock(monkeypatch, idempotency, "add", after=False)
    headers = {**ops, "Idempotency-Key": "k-1"}
    url = f"/v1/fail-reviews/{case['id']}/verdict"
    first = await same_as_shown(
        client, ops, await client.post(url, json=verdict_body("customer"), headers=headers)
    )
    assert len(calls) == 2 and len(first["history"]) == 2
    replay = await client.post(url, json=verdict_body("customer"), headers=headers)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first


async def test_a_connection_lost_after_the_rows_were_read_then_the_retry_is_fresh(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:

    settings = suite_settings(db_pool_size=1, db_max_overflow=0)
    async with running_app(settings, database_url) as app:
        async with app.state.sessionmaker() as session, session.begin():
            service = {"Authorization": f"Bearer {await keys.create(session, 'service', None)}"}
            ops = {"Authorization": f"Bearer {await keys.create(session, 'ops', None)}"}
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            await put_order(client, service, "ORD-C1", vendor_id="V-C")
            case = await file_fail_reason(client, ops, "ORD-C1", "customer_not_available")
            real = case_rows.read
            killed: list[int] = []

            async def read_then_die(session: AsyncSession, case_id: str) -> Any:
                known = await real(session, case_id)
                if not killed:
                    pid = await driver.scalar(
                        session, driver.Statement("SELECT pg_backend_pid()"), {}
                    )
                    admin = await asyncpg.connect(database_url)
                    try:
                        await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
                    finally:
                        await admin.close()
                    await asyncio.sleep(0.2)
                    killed.append(pid)
                return known

            monkeypatch.setattr(case_rows, "read", read_then_die)
            url = f"/v1/fail-reviews/{case['id']}/verdict"
            first = await client.post(url, json=verdict_body("customer"), headers=ops)
            assert first.status_code == 503, first.text
            again = await client.post(url, json=verdict_body("customer"), headers=ops)
            body = await same_as_shown(client, ops, again)
            assert len(body["history"]) == 2
            assert [d["outcome"] for d in body["deadlines"]] == ["met"]
        await app.state.db_engine.dispose()


async def test_racing_writes_on_one_case_the_last_answer_equals_get(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:

    for round_ in range(3):
        order = f"ORD-R{round_}"
        await put_order(client, service, order)
        case = await file_fail_reason(client, ops, order, "customer_not_available")
        cid = case["id"]
        posts = [
            client.post(f"/v1/cases/{cid}/notes", json={"text": f"n{n}"}, headers=ops)
            for n in range(3)
        ]
        posts.insert(
            round_,
            client.post(
                f"/v1/fail-reviews/{cid}/verdict", json=verdict_body("customer"), headers=ops
            ),
        )
        answers = await asyncio.gather(*posts)
        bodies = [a.json() for a in answers]
        assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
        last = max(bodies, key=lambda b: (len(b["notes"]), len(b["history"])))
        shown = (await client.get(f"/v1/cases/{cid}", headers=ops)).json()
        assert last == shown


OVERRIDE = {
    "outcome": "resolved_paid_by_platform",
    "reason": "damage before pickup",
    "actions": [{"type": "platform_payout", "amount": 900_000}],
}


async def _resolved_with_a_claimed_clock(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers, engine: AsyncEngine
) -> tuple[str, str]:
    """A resolved payout dispute whose customer-update clock still runs, as one a watcher
    claimed just before the resolve (which skipped it, SKIP LOCKED) leaves it; the case's id
    and the clock's."""
    notes = [{"reason": "screen_damage", "amount": 900_000}]
    await put_completed_order(
        client, service, "ORD-1", final_invoice_amount=HIGH, pickup_notes=notes
    )
    cid = (await open_dispute(client, support, "ORD-1", "paid_less", amount_received=100_000))["id"]
    answer = {
        "response": "paid_partial",
        "amount_paid": 100_000,
        "deduction_reason": "screen_damage",
    }
    resolved = await client.post(
        f"/v1/payout-disputes/{cid}/vendor-response", json=answer, headers=ops
    )
    assert resolved.json()["status"] == "resolved", resolved.text
    held = "SELECT id FROM deadlines WHERE case_id = :c AND kind = 'customer_update'"
    async with engine.begin() as connection:
        (clock,) = (await connection.execute(text(held + " LIMIT 1"), {"c": cid})).scalars()
        await connection.execute(
            text("UPDATE deadlines SET settled_at = NULL, outcome = NULL WHERE id = :id"),
            {"id": clock},
        )
    return cid, clock


def _hold(watcher: Any, clock: str) -> Any:
    return watcher.execute(text("SELECT 1 FROM deadlines WHERE id = :id FOR UPDATE"), {"id": clock})


async def test_a_reopening_that_meets_a_clock_a_watcher_still_holds_is_run_again(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    make_key: KeyMaker,
    db_engine: AsyncEngine,
) -> None:
    """An override reopens the case while the watcher still holds that clock: the
    reopening's new clock meets the one still running. The request is run again, as for a
    deadlock, and answers 409 (busy: retry it) only while the watcher keeps holding the
    clock; once the watcher has settled it, the same request goes through."""
    manager = await make_key("ops_manager")
    cid, clock = await _resolved_with_a_claimed_clock(client, service, support, ops, db_engine)
    url = f"/v1/cases/{cid}/override"
    async with db_engine.connect() as watcher:
        await _hold(watcher, clock)
        busy = await client.post(url, json=OVERRIDE, headers=manager)
        assert busy.status_code == 409, busy.text  # busy: retry it
        assert busy.headers["content-type"] == "application/problem+json"
        await watcher.execute(
            text("UPDATE deadlines SET settled_at = now(), outcome = 'cancelled' WHERE id = :id"),
            {"id": clock},
        )
        await watcher.commit()
    reopened = await same_as_shown(
        client, ops, await client.post(url, json=OVERRIDE, headers=manager)
    )
    assert reopened["status"] == "awaiting_approval"
    running = [
        d for d in reopened["deadlines"] if d["kind"] == "customer_update" and not d["settled_at"]
    ]
    assert len(running) == 1, reopened["deadlines"]


async def test_a_request_run_again_counts_once_against_the_rate_limit(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    make_key: KeyMaker,
    db_engine: AsyncEngine,
    app: Any,
) -> None:
    """Its attempts are the client's one request: with 3 requests a minute, a request run
    again 4 times still answers 409 busy, not 429, and leaves the key its other 2."""
    manager = await make_key("ops_manager")
    cid, clock = await _resolved_with_a_claimed_clock(client, service, support, ops, db_engine)
    kept, app.state.rate_limiter = app.state.rate_limiter, RateLimiter(3)
    try:
        url = f"/v1/cases/{cid}/override"
        async with db_engine.connect() as watcher:
            await _hold(watcher, clock)
            busy = await client.post(url, json=OVERRIDE, headers=manager)
            await watcher.rollback()
        assert busy.status_code == 409, busy.text
        for _ in range(2):
            read = await client.get(f"/v1/cases/{cid}", headers=manager)
            assert read.status_code == 200, read.text
        limited = await client.get(f"/v1/cases/{cid}", headers=manager)
        assert limited.status_code == 429, limited.text
    finally:
        app.state.rate_limiter = kept
