"""PostgreSQL stops, or freezes, under load and comes back.

While it is down the service answers 503 problem+json within a bound (never a 500, never a
hang), and /ready fails; when it is back the same process serves again, without a restart,
and nothing it answered 2xx is lost or half-written.
"""

import asyncio
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil
import pytest

from tests.db import embedded_server, migrated_database, new_key
from tests.factories import fail_reason_body, order_body
from tests.reliability.invariants import half_written, missing_answers
from tests.reliability.load import Answer, Call, drive, wait_until
from tests.server import env_with, serving

REQUEST_BOUND = 10.0  # seconds: a request slower than this counts as a hang
PROBLEM = "application/problem+json"


@pytest.fixture
def postgres() -> Iterator[Any]:
    """A PostgreSQL of this test's own, which it may stop and start."""
    with embedded_server() as server:
        yield server


def _jobs(service: dict[str, str], ops: dict[str, str]) -> Iterator[tuple[Call, Call]]:
    """Each order is put, then failed: reads, writes and decisions, for as long as it runs."""
    for n in itertools.count():
        yield (
            Call("PUT", f"/v1/orders/ORD-{n}", order_body(f"V-{n % 3}"), service),
            Call(
                "POST",
                f"/v1/orders/ORD-{n}/fail-reasons",
                fail_reason_body("customer_not_available"),
                {**ops, "Idempotency-Key": f"file-{n}"},
            ),
        )


@dataclass(frozen=True)
class Fault:
    name: str
    down: Callable[[Any], None]
    up: Callable[[Any], None]
    answers_while_down: int  # 503s to see before the database comes back
    env: dict[str, str] = field(default_factory=dict)


def _processes(postgres: Any) -> list[psutil.Process]:
    postmaster = psutil.Process(postgres.get_pid())
    return [postmaster, *postmaster.children(recursive=True)]


def _freeze(postgres: Any) -> None:
    for process in _processes(postgres):
        process.suspend()


def _thaw(postgres: Any) -> None:
    for process in _processes(postgres):
        process.resume()


FAULTS = [
    # A clean stop: connections are closed, new ones refused; then a start on the same data.
    Fault("stopped", lambda pg: pg.stop(), lambda pg: pg.ensure_postgres_running(), 20),
    # A server that stops answering without closing anything (SIGSTOP: a hung host, a
    # partition): only the service's own time limits can bound the wait.
    Fault(
        "frozen",
        _freeze,
        _thaw,
        6,
        {
            "DB_CONNECT_TIMEOUT_SECONDS": "1",
            "DB_STATEMENT_TIMEOUT_SECONDS": "2",
            "DB_POOL_TIMEOUT_SECONDS": "2",
        },
    ),
]


async def _outage(
    base: str, postgres: Any, fault: Fault, service: dict[str, str], ops: dict[str, str]
) -> tuple[list[Answer], list[int]]:
    """Load, take the database down, keep loading, bring it back; returns the answers and
    the /ready codes seen while down and after."""
    answers: list[Answer] = []
    ready: list[int] = []
    stop = asyncio.Event()

    async def record(answer: Answer) -> None:
        answers.append(answer)

    def count(status: int) -> int:
        return sum(a.status == status for a in answers)

    load = asyncio.create_task(
        drive(
            base,
            _jobs(service, ops),
            clients=6,
            request_timeout=REQUEST_BOUND,
            on_answer=record,
            stop=stop,
        )
    )
    down = False
    try:
        async with httpx.AsyncClient(base_url=base, timeout=REQUEST_BOUND) as client:
            await wait_until(lambda: count(201) >= 20, within=20, what="load before the fault")
            await asyncio.to_thread(fault.down, postgres)
            down = True
            await wait_until(
                lambda: count(503) >= fault.answers_while_down, within=30, what="503s while down"
            )
            ready.append((await client.get("/ready")).status_code)
            await asyncio.to_thread(fault.up, postgres)
            down = False
            back_at = len(answers)

            async def is_ready() -> bool:
                status = (await client.get("/ready")).status_code
                ready.append(status)
                return status == 200

            for _ in range(100):
                if await is_ready():
                    break
                await asyncio.sleep(0.2)
            await wait_until(
                lambda: sum(a.ok for a in answers[back_at:]) >= 20,
                within=30,
                what="2xx again after the database came back",
            )
    finally:
        if down:
            await asyncio.to_thread(fault.up, postgres)
        stop.set()
        await load
    return answers, ready


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_database_outage_answers_503_and_recovers_without_restart(
    postgres: Any, fault: Fault
) -> None:
    with migrated_database(str(postgres.get_uri()), "dispute_outage") as database_url:
        env = env_with(DATABASE_URL=database_url, **fault.env)
        service, ops = new_key(database_url, "service"), new_key(database_url, "ops")
        with serving(env) as server:
            pid = server.process.pid
            answers, ready = asyncio.run(_outage(server.base, postgres, fault, service, ops))
            assert server.process.poll() is None and server.process.pid == pid
            errors = [line for line in server.output().splitlines() if '"ERROR"' in line]

        statuses = {a.status for a in answers}
        assert statuses <= {200, 201, 503}, (statuses, errors)
        for answer in answers:
            if answer.status == 503:
                assert answer.headers["content-type"] == PROBLEM
                assert answer.headers["retry-after"] == "1"
                assert answer.json()["type"].endswith("/problems/unavailable")
        assert max(a.seconds for a in answers) < REQUEST_BOUND
        assert ready[0] == 503 and ready[-1] == 200

        fail_reasons = [a for a in answers if a.call.method == "POST"]
        assert asyncio.run(missing_answers(database_url, fail_reasons)) == []
        assert asyncio.run(half_written(database_url)) == {}
