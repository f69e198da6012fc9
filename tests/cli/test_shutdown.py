"""SIGTERM under load: the service stops taking requests, finishes those it accepted, exits."""

import asyncio
import signal
import socket
import time

import asyncpg
import httpx
import yaml

from app.settings import PROJECT_ROOT
from app.watcher import STOP_TIMEOUT_SECONDS
from tests.db import asyncpg_dsn
from tests.factories import order_body
from tests.server import env_with, run, serving

# After a graceful shutdown uvicorn re-raises the signal it caught, as a process killed by
# SIGTERM would exit, so supervisors see the usual status.
CLEAN_EXIT = (0, -signal.SIGTERM)


async def _load(base: str, headers: dict[str, str], stop_after: float) -> dict[str, int]:
    """Sends PUTs from 8 clients until the server stops answering; returns id -> status."""
    answered: dict[str, int] = {}
    counter = iter(range(100_000))

    async def client_loop(client: httpx.AsyncClient) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + stop_after
        while loop.time() < deadline:
            order_id = f"SD-{next(counter)}"
            try:
                response = await client.put(
                    f"{base}/v1/orders/{order_id}", json=order_body(), headers=headers
                )
            except httpx.HTTPError:
                return  # refused or closed before a response: not accepted
            answered[order_id] = response.status_code

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(8)))
    return answered


async def _stored(database_url: str) -> set[str]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await connection.fetch("SELECT id FROM orders WHERE id LIKE 'SD-%'")
    finally:
        await connection.close()
    return {row["id"] for row in rows}


def test_sigterm_loses_no_accepted_request(database_url: str) -> None:
    env = env_with(DATABASE_URL=database_url)
    key = run("keys", "create", "--role", "service", "--name", "load", env=env).stdout.strip()
    headers = {"Authorization": f"Bearer {key}"}
    with serving(env) as server:
        process = server.process
        loop = asyncio.new_event_loop()
        try:
            load = loop.create_task(_load(server.base, headers, stop_after=20))
            loop.run_until_complete(asyncio.sleep(1.0))
            process.send_signal(signal.SIGTERM)
            answered = loop.run_until_complete(load)
        finally:
            loop.close()
        assert process.wait(timeout=30) in CLEAN_EXIT
    ok = {order_id for order_id, status in answered.items() if status in (200, 201)}
    assert ok, "the load never got through"
    assert set(answered.values()) <= {200, 201}, answered
    # Every answered request is stored, and nothing is stored that was not answered.
    assert asyncio.run(_stored(database_url)) == ok


def test_serve_exits_cleanly_on_sigterm_when_idle(database_url: str) -> None:
    env = env_with(DATABASE_URL=database_url)
    with serving(env) as server:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) in CLEAN_EXIT
        output = server.output()
    # The lifespan's shutdown ran: the process did not just die of the signal.
    assert "Application shutdown complete" in output


def _stalled_request(base: str) -> socket.socket:
    """A POST whose body stops after its first byte: in flight until the server ends it."""
    host, port = base.removeprefix("http://").split(":")
    stalled = socket.create_connection((host, int(port)), timeout=5)
    stalled.sendall(
        b"POST /v1/orders/ORD-1/fail-reasons HTTP/1.1\r\nHost: test\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    return stalled


def test_sigterm_waits_for_requests_in_flight_only_shutdown_grace_seconds(
    database_url: str,
) -> None:
    grace = 2
    # The stalled body alone would hold the request a minute; the grace is what ends it.
    env = env_with(
        DATABASE_URL=database_url, SHUTDOWN_GRACE_SECONDS=str(grace), BODY_TIMEOUT_SECONDS="60"
    )
    with serving(env) as server:
        stalled = _stalled_request(server.base)
        try:
            time.sleep(0.5)  # the server has taken the request
            stopped_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=60) in CLEAN_EXIT
            took = time.monotonic() - stopped_at
        finally:
            stalled.close()
    # uvicorn's own default was 30 s; the watcher takes a moment more to stop.
    assert grace <= took < grace + 8, took


def test_compose_gives_the_service_more_time_to_stop_than_it_takes() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
    service = compose["services"]["service"]
    grace = int(service["environment"]["SHUTDOWN_GRACE_SECONDS"])
    period = service["stop_grace_period"]
    assert period.endswith("s"), period
    # Requests get their grace, then the background tasks theirs, then the pool closes:
    # only after all that may the supervisor's SIGKILL come.
    assert int(period.removesuffix("s")) >= grace + STOP_TIMEOUT_SECONDS + 5, period
