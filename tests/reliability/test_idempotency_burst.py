"""One Idempotency-Key sent by 50 concurrent clients to a real server with two workers.

One case and one effect; every 2xx carries the same body (those that raced the first may
get 409); once it has finished, a retry replays that body.
"""

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.db import migrated_database, new_key
from tests.factories import fail_reason_body, file_fail_reason, put_order, verdict_body
from tests.reliability.invariants import count, half_written
from tests.reliability.load import Answer, Call, send
from tests.server import Server, env_with, serving

CLIENTS = 50


@pytest.fixture(scope="module")
def two_workers(server_url: str) -> Iterator[tuple[Server, str, dict[str, str]]]:
    with migrated_database(server_url, "dispute_burst") as database_url:
        env = env_with(DATABASE_URL=database_url)
        ops = new_key(database_url, "ops")
        with serving(env, "--workers", "2") as server:
            yield server, database_url, ops


async def _burst(base: str, call: Call) -> tuple[list[Answer], Answer]:
    """CLIENTS simultaneous sends of one call, each on its own connection; then one retry."""
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        answers = await asyncio.gather(*(send(client, base, call) for _ in range(CLIENTS)))
        retry = await send(client, base, call)
    return list(answers), retry


def _assert_one_answer(answers: list[Answer], retry: Answer, created: int) -> bytes:
    assert {a.status for a in answers} <= {created, 409}, [a.body for a in answers]
    bodies = {a.body for a in answers if a.status == created}
    assert len(bodies) == 1, "every 2xx must carry the first answer's body"
    assert retry.status == created and bodies == {retry.body}
    assert retry.headers["idempotent-replayed"] == "true"
    return bodies.pop()


async def _set_up(base: str, ops: dict[str, str], order_id: str, filed: bool) -> str | None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        await put_order(client, ops, order_id, vendor_id=f"V-{order_id}")
        if filed:
            case_id: str = (await file_fail_reason(client, ops, order_id, "intentional_delay"))[
                "id"
            ]
            return case_id
    return None


def test_one_key_fifty_clients_files_one_case(
    two_workers: tuple[Server, str, dict[str, str]],
) -> None:
    server, database_url, ops = two_workers
    asyncio.run(_set_up(server.base, ops, "ORD-B1", filed=False))
    call = Call(
        "POST",
        "/v1/orders/ORD-B1/fail-reasons",
        fail_reason_body("customer_not_available"),
        {**ops, "Idempotency-Key": "burst-file"},
    )
    answers, retry = asyncio.run(_burst(server.base, call))
    _assert_one_answer(answers, retry, 201)
    cases = "SELECT count(*) FROM cases WHERE order_id = 'ORD-B1'"
    assert asyncio.run(count(database_url, cases)) == 1
    opened = "SELECT count(*) FROM events WHERE type = 'case.opened' AND order_id = 'ORD-B1'"
    assert asyncio.run(count(database_url, opened)) == 1
    assert asyncio.run(half_written(database_url)) == {}


def test_one_key_fifty_clients_applies_one_verdict(
    two_workers: tuple[Server, str, dict[str, str]],
) -> None:
    server, database_url, ops = two_workers
    case_id = asyncio.run(_set_up(server.base, ops, "ORD-B2", filed=True))
    call = Call(
        "POST",
        f"/v1/fail-reviews/{case_id}/verdict",
        verdict_body("vendor"),
        {**ops, "Idempotency-Key": "burst-verdict"},
    )
    answers, retry = asyncio.run(_burst(server.base, call))
    _assert_one_answer(answers, retry, 200)
    final = "SELECT count(*) FROM decisions WHERE case_id = $1 AND stage = 'final'"
    assert asyncio.run(count(database_url, final, case_id)) == 1
    strikes = "SELECT count(*) FROM ledger_entries WHERE case_id = $1 AND kind = 'sla_strike'"
    assert asyncio.run(count(database_url, strikes, case_id)) == 1
    standing = (
        "SELECT count(*) FROM ledger_entries WHERE vendor_id = 'V-ORD-B2' AND kind = 'sla_strike'"
    )
    assert asyncio.run(count(database_url, standing)) == 1
    assert asyncio.run(half_written(database_url)) == {}
