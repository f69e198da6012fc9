"""kill -9 in the middle of fail-reason filings and verdicts.

Every request answered 2xx is stored whole (case, decision, ledger entries, events); nothing
is half-written; and a client that got no answer can retry with its Idempotency-Key after
the restart and gets exactly one decision.
"""

import asyncio
from collections.abc import Iterator

import httpx

from tests.db import new_key
from tests.factories import fail_reason_body, file_fail_reason, put_order, verdict_body
from tests.reliability.invariants import count, half_written, missing_answers
from tests.reliability.load import Answer, Call, drive, send
from tests.server import Server, env_with, serving

VENDORS = [f"V-K{n}" for n in range(4)]
TO_FILE = 120  # orders that get a fail reason during the load
TO_DECIDE = 60  # cases filed before the load that get a verdict during it
KILL_AFTER = 40  # answered requests before the kill: it lands in the middle of the load
# (code the vendor gave, fault ops finds): both sides, so verdicts write strikes and refunds.
VERDICTS = [
    ("customer_not_available", "customer"),
    ("intentional_delay", "vendor"),
    ("device_mismatch", "customer"),
]


def _vendor(n: int) -> str:
    return VENDORS[n % len(VENDORS)]


async def _set_up(base: str, service: dict[str, str], ops: dict[str, str]) -> list[str]:
    """Orders to file against, and filed cases to decide; returns the case ids."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        await asyncio.gather(
            *(
                put_order(client, service, f"ORD-F{n}", vendor_id=_vendor(n))
                for n in range(TO_FILE)
            ),
            *(
                put_order(client, service, f"ORD-D{n}", vendor_id=_vendor(n))
                for n in range(TO_DECIDE)
            ),
        )
        filed = await asyncio.gather(
            *(
                file_fail_reason(client, ops, f"ORD-D{n}", VERDICTS[n % len(VERDICTS)][0])
                for n in range(TO_DECIDE)
            )
        )
    return [case["id"] for case in filed]


def _calls(ops: dict[str, str], cases: list[str]) -> Iterator[tuple[Call]]:
    """Filings and verdicts interleaved, each with its own Idempotency-Key."""
    for n in range(max(TO_FILE, TO_DECIDE)):
        if n < TO_FILE:
            yield (
                Call(
                    "POST",
                    f"/v1/orders/ORD-F{n}/fail-reasons",
                    fail_reason_body("customer_changed_mind"),
                    {**ops, "Idempotency-Key": f"file-{n}"},
                ),
            )
        if n < TO_DECIDE:
            yield (
                Call(
                    "POST",
                    f"/v1/fail-reviews/{cases[n]}/verdict",
                    verdict_body(VERDICTS[n % len(VERDICTS)][1]),
                    {**ops, "Idempotency-Key": f"verdict-{n}"},
                ),
            )


async def _load_then_kill(server: Server, calls: Iterator[tuple[Call]]) -> list[Answer]:
    answered = 0

    async def kill_midway(answer: Answer) -> None:
        nonlocal answered
        answered += answer.status is not None
        if answered == KILL_AFTER:
            await asyncio.to_thread(server.kill)

    return await drive(server.base, calls, clients=12, request_timeout=10, on_answer=kill_midway)


async def _retry(base: str, calls: list[Call]) -> list[Answer]:
    async with httpx.AsyncClient(timeout=10) as client:
        return [await send(client, base, call) for call in calls]


def test_kill_9_under_load_leaves_only_whole_decisions(own_database: str) -> None:
    env = env_with(DATABASE_URL=own_database)
    ops, service = new_key(own_database, "ops"), new_key(own_database, "service")
    with serving(env) as server:
        cases = asyncio.run(_set_up(server.base, service, ops))
        answers = asyncio.run(_load_then_kill(server, _calls(ops, cases)))
        assert server.process.returncode == -9

    answered = [a for a in answers if a.status is not None]
    unanswered = [a.call for a in answers if a.status is None]
    assert len(answered) >= KILL_AFTER and unanswered, "the kill did not land mid-load"
    assert {a.status for a in answered} <= {200, 201}, [a.body for a in answered if not a.ok]
    assert asyncio.run(missing_answers(own_database, answered)) == []
    assert asyncio.run(half_written(own_database)) == {}

    # After a restart, every client that got no answer retries with its key: each gets its
    # one decision, fresh or replayed, and still nothing is doubled or half-written.
    with serving(env) as server:
        retried = asyncio.run(_retry(server.base, unanswered))
    assert {a.status for a in retried} <= {200, 201}, [a.body for a in retried if not a.ok]
    assert asyncio.run(missing_answers(own_database, answered + retried)) == []
    assert asyncio.run(half_written(own_database)) == {}
    filed = "SELECT count(*) FROM cases WHERE order_id LIKE 'ORD-F%'"
    assert asyncio.run(count(own_database, filed)) == TO_FILE
    final = "SELECT count(*) FROM decisions WHERE stage = 'final'"
    assert asyncio.run(count(own_database, final)) == TO_DECIDE
