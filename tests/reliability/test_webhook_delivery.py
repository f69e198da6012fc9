"""Webhooks delivered to a real receiver on loopback: signed, retried with the same
webhook-id, in feed order per endpoint, given up after the retry horizon, never to a deleted
endpoint, once per success with two instances, and again after an instance dies.

The in-process tests run an app of their own with a fast sender (tens of milliseconds
between polls and retries); the last two run real servers.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.events import service as events
from app.settings import Settings
from app.webhooks.delivery import RetryPolicy, new_secret
from tests.conftest import Headers, http_client, running_app, suite_settings
from tests.db import new_key
from tests.factories import events_of, order_body, put_order
from tests.receiver import Received, accept, fail_first, receiving
from tests.server import env_with, serving, serving_many

FAST = {
    "webhook_poll_interval_seconds": 0.05,
    "webhook_retry_base_seconds": 0.05,
    "webhook_retry_max_delay_seconds": 0.2,
    "webhook_request_timeout_seconds": 5,
}
# Generous: a transaction of another database on the same server holds back the feed too.
WAIT_SECONDS = 30.0


@asynccontextmanager
async def sender(database_url: str, **overrides: Any) -> AsyncIterator[AsyncClient]:
    """A client of an app instance whose webhook sender polls fast."""
    settings = suite_settings(**{**FAST, **overrides})
    async with running_app(settings, database_url) as application, http_client(application) as c:
        yield c


async def until(check: Callable[[], Any], what: str) -> Any:
    """``check()`` (awaited if it is a coroutine) once it is truthy; the test fails after
    WAIT_SECONDS."""
    give_up = time.monotonic() + WAIT_SECONDS
    while True:
        value = check()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > give_up:
            pytest.fail(f"still waiting after {WAIT_SECONDS}s for {what}")
        await asyncio.sleep(0.02)


async def add_endpoint(client: AsyncClient, ops: Headers, url: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/webhook-endpoints", json={"url": url, **body}, headers=ops)
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()
    return endpoint


async def recorded(
    client: AsyncClient, ops: Headers, endpoint_id: str, outcome: str
) -> list[dict[str, Any]]:
    """The endpoint's attempts, newest first, once the newest has this outcome (the receiver
    has a request a moment before its sender records it)."""

    async def newest() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await deliveries(client, ops, endpoint_id))["items"]
        return items if items and items[0]["outcome"] == outcome else []

    found: list[dict[str, Any]] = await until(newest, f"an attempt {outcome}")
    return found


async def deliveries(
    client: AsyncClient, ops: Headers, endpoint_id: str, query: str = "limit=100"
) -> dict[str, Any]:
    response = await client.get(
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries?{query}", headers=ops
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_the_default_retries_double_up_to_an_hour_and_end_at_24_hours() -> None:
    settings = Settings()
    retry = RetryPolicy(
        settings.webhook_retry_base_seconds,
        settings.webhook_retry_max_delay_seconds,
        settings.webhook_retry_horizon_seconds,
    )
    first = now = datetime(2026, 11, 23, tzinfo=UTC)
    waits: list[float] = []
    while (next_at := retry.next_attempt(first, len(waits) + 1, now, now)) is not None:
        waits.append((next_at - now).total_seconds())
        now = next_at
    assert now == first + timedelta(hours=24)  # the last attempt falls at the horizon
    for n, wait in enumerate(waits[:-1]):
        full = min(5 * 2**n, 3600)
        assert full / 2 <= wait <= full, (n, wait)
    # About 40 attempts: the bounds of waits all drawn at their full length, or their half.
    assert 33 <= len(waits) <= 57


async def test_a_failed_attempt_is_retried_with_the_same_id_and_a_valid_signature(
    database_url: str, ops: Headers, service: Headers
) -> None:
    with receiving() as receiver:
        async with sender(database_url) as client:
            url = receiver.url("/hooks", fail_first(2))
            endpoint = await add_endpoint(client, ops, url)
            await put_order(client, service, "ORD-1")
            items = await recorded(client, ops, endpoint["id"], "delivered")
            [event] = await events_of(client, service)
            first_page = await deliveries(client, ops, endpoint["id"], "limit=2")
            rest = await deliveries(
                client, ops, endpoint["id"], f"cursor={first_page['next_cursor']}"
            )
            metrics = (await client.get("/metrics", headers=ops)).text

    received = receiver.received("/hooks")
    assert [r.status for r in received] == [500, 500, 200]
    [webhook_id] = {r.webhook_id for r in received}
    assert webhook_id.startswith("msg_")
    signer = Webhook(endpoint["secret"])
    for request in received:
        assert request.headers["content-type"] == "application/json"
        # The body is the event as the feed shows it, signed for this attempt's timestamp.
        assert signer.verify(request.body, request.headers) == event
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(request.body, request.headers)
        with pytest.raises(WebhookVerificationError):
            signer.verify(request.body.replace(b"ORD-1", b"ORD-2"), request.headers)

    assert [a["attempt"] for a in items] == [3, 2, 1]  # newest first
    assert [a["outcome"] for a in items] == ["delivered", "retrying", "retrying"]
    assert [a["response_status"] for a in items] == [200, 500, 500]
    assert [a["response_body"] for a in items] == ['{"ok": true}', "receiver down", "receiver down"]
    assert {(a["webhook_id"], a["event_id"], a["event_type"]) for a in items} == {
        (webhook_id, event["id"], "order.created")
    }
    assert items[0]["next_attempt_at"] is None and items[0]["error"] is None
    # Each retry waited for the time its failure set.
    for later, earlier in pairwise(items):
        assert at(later["attempted_at"]) >= at(earlier["next_attempt_at"])
    assert [a["id"] for a in first_page["items"] + rest["items"]] == [a["id"] for a in items]
    assert rest["next_cursor"] is None
    assert 'webhook_attempts_total{outcome="retrying"}' in metrics


async def test_each_endpoint_gets_the_feed_in_order_and_only_its_types(
    database_url: str,
    ops: Headers,
    service: Headers,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    with receiving() as receiver:
        async with sender(database_url) as client:
            # Every message fails once: a later one must still wait for the one before it.
            await add_endpoint(client, ops, receiver.url("/every", fail_first(1)))
            await add_endpoint(
                client, ops, receiver.url("/updates"), event_types=["order.updated", "test.late"]
            )
            # Writers that commit out of order: the feed (and so each endpoint) follows the
            # writing transactions, and holds back what a running one may still precede.
            async with sessionmaker() as first, first.begin():
                await events.emit(first, "test.early")
                await first.flush()
                for n in range(3):
                    await put_order(client, service, f"ORD-{n}")
                await put_order(client, service, "ORD-0", final_invoice_amount=1_400_000)
                await events.emit(first, "test.late")
                await first.flush()
                await asyncio.sleep(0.3)  # several polls: nothing may go out yet
                assert receiver.received("/every") == receiver.received("/updates") == []
            await put_order(client, service, "ORD-2", final_invoice_amount=1_300_000)
            # The feed itself may hold the events back a moment longer: any transaction of
            # the server's, in any database, that took its id before they committed does.
            everything = await until(
                lambda: _all_seven(client, service), "the seven events in the feed"
            )
            await until(
                lambda: (
                    len(receiver.accepted("/every")) == len(everything)
                    and len(receiver.accepted("/updates")) == 3
                ),
                "every event at both endpoints",
            )

    types = [e["type"] for e in everything]
    assert types == ["test.early", "test.late", *["order.created"] * 3, *["order.updated"] * 2]
    every = receiver.accepted("/every")
    assert [r.event for r in every] == everything
    assert len({r.webhook_id for r in every}) == len(everything)
    assert len(receiver.received("/every")) == 2 * len(everything)
    updates = [r.event for r in receiver.accepted("/updates")]
    assert updates == [e for e in everything if e["type"] in ("order.updated", "test.late")]


async def _all_seven(client: AsyncClient, service: Headers) -> list[dict[str, Any]]:
    items = await events_of(client, service)
    return items if len(items) == 7 else []


async def test_a_message_is_given_up_after_the_retry_horizon_and_the_next_one_follows(
    database_url: str, ops: Headers, service: Headers
) -> None:
    horizon = 0.6

    def down_for_ord_1(request: Received, _: list[Received]) -> int:
        return 500 if request.event["order_id"] == "ORD-1" else 200

    with receiving() as receiver:
        async with sender(database_url, webhook_retry_horizon_seconds=horizon) as client:
            endpoint = await add_endpoint(client, ops, receiver.url("/hooks", down_for_ord_1))
            await put_order(client, service, "ORD-1")
            await put_order(client, service, "ORD-2")
            items = await recorded(client, ops, endpoint["id"], "delivered")

    received = receiver.received("/hooks")
    assert [r.event["order_id"] for r in received[-1:]] == ["ORD-2"]
    tried = [r for r in received if r.event["order_id"] == "ORD-1"]
    assert len(tried) >= 3 and {r.status for r in tried} == {500}
    assert len({r.webhook_id for r in tried}) == 1
    delivered, given_up, *earlier = items
    assert delivered["outcome"] == "delivered" and delivered["attempt"] == 1
    assert given_up["outcome"] == "gave_up" and given_up["next_attempt_at"] is None
    assert given_up["attempt"] == len(tried)
    assert {a["outcome"] for a in earlier} == {"retrying"}
    # Retried until the horizon (the last attempt begins there), not much past it.
    span = at(given_up["attempted_at"]) - at(items[-1]["attempted_at"])
    assert timedelta(seconds=horizon) <= span < timedelta(seconds=horizon + 1)


async def test_a_deleted_endpoint_gets_nothing_more(
    database_url: str, ops: Headers, service: Headers
) -> None:
    with receiving() as receiver:
        async with sender(database_url) as client:
            await add_endpoint(client, ops, receiver.url("/keep"))
            gone = await add_endpoint(client, ops, receiver.url("/gone", lambda _, __: 500))
            await put_order(client, service, "ORD-1")
            await until(
                lambda: receiver.accepted("/keep") and len(receiver.received("/gone")) >= 2,
                "a retry to the failing endpoint",
            )
            deleted = await client.delete(f"/v1/webhook-endpoints/{gone['id']}", headers=ops)
            assert deleted.status_code == 200
            await asyncio.sleep(0.2)  # an attempt already under way may still land
            tried = len(receiver.received("/gone"))
            await put_order(client, service, "ORD-2")
            await until(lambda: len(receiver.accepted("/keep")) == 2, "ORD-2 at the other one")
            await asyncio.sleep(0.5)  # the failed message's retries would be due by now
            attempts = (await deliveries(client, ops, gone["id"]))["items"]

    assert len(receiver.received("/gone")) == tried
    assert len(attempts) == tried
    assert {a["event_type"] for a in attempts} == {"order.created"}


def _wait(check: Callable[[], bool], what: str) -> None:
    give_up = time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > give_up:
            pytest.fail(f"still waiting after {WAIT_SECONDS}s for {what}")
        time.sleep(0.05)


def _server_env(database_url: str, **extra: str) -> dict[str, str]:
    return env_with(
        DATABASE_URL=database_url,
        WEBHOOK_POLL_INTERVAL_SECONDS="0.05",
        WEBHOOK_RETRY_BASE_SECONDS="0.05",
        WEBHOOK_RETRY_MAX_DELAY_SECONDS="0.2",
        **extra,
    )


def test_two_instances_deliver_each_message_once_per_success(own_database: str) -> None:
    ops, service = new_key(own_database, "ops"), new_key(own_database, "service")
    paths = ["/a", "/b", "/c"]
    orders = 12
    with receiving() as receiver, serving_many(_server_env(own_database), 2) as servers:
        bases = [s.base for s in servers]
        with httpx.Client(timeout=10) as http:
            for path in paths:
                url = receiver.url(path, fail_first(1))
                made = http.post(f"{bases[0]}/v1/webhook-endpoints", json={"url": url}, headers=ops)
                assert made.status_code == 201, made.text
            for n in range(orders):
                put = http.put(
                    f"{bases[n % 2]}/v1/orders/ORD-{n}", json=order_body(), headers=service
                )
                assert put.status_code == 201, put.text
            _wait(
                lambda: all(len(receiver.accepted(p)) >= orders for p in paths),
                "every order at every endpoint",
            )
            time.sleep(0.3)  # a duplicate would have come by now
            everything = http.get(f"{bases[1]}/v1/events?limit=1000", headers=service).json()

    assert len(everything["items"]) == orders
    for path in paths:
        accepted = receiver.accepted(path)
        assert [r.event for r in accepted] == everything["items"], path
        assert len({r.webhook_id for r in accepted}) == orders, path
        # One failure and one success per message: no instance sent one a second time.
        assert len(receiver.received(path)) == 2 * orders, path


def test_a_message_under_way_when_its_instance_dies_is_sent_again_with_its_id(
    own_database: str,
) -> None:
    ops, service = new_key(own_database, "ops"), new_key(own_database, "service")
    # An attempt may take 2 s (the instance is killed well before), so the dead instance's
    # lease runs out 4 s after it sent; the receiver holds that first request past both.
    env = _server_env(own_database, WEBHOOK_REQUEST_TIMEOUT_SECONDS="2")
    with receiving() as receiver, httpx.Client(timeout=10) as http:
        url = receiver.url("/hooks", accept, hold_first=10.0)
        with serving(env) as first:
            made = http.post(f"{first.base}/v1/webhook-endpoints", json={"url": url}, headers=ops)
            assert made.status_code == 201, made.text
            put = http.put(f"{first.base}/v1/orders/ORD-1", json=order_body(), headers=service)
            assert put.status_code == 201, put.text
            _wait(lambda: bool(receiver.received("/hooks")), "the first attempt")
            first.kill()
        with serving(env) as second:
            listing = f"{second.base}/v1/webhook-endpoints/{made.json()['id']}/deliveries"

            def attempts() -> list[dict[str, Any]]:
                items: list[dict[str, Any]] = http.get(listing, headers=ops).json()["items"]
                return items

            _wait(lambda: bool(attempts()), "the attempt after the lease")
            recorded = attempts()

    held, again = receiver.received("/hooks")
    assert held.webhook_id == again.webhook_id
    assert held.body == again.body
    # The dead instance recorded nothing; the one that took over recorded its own attempt.
    assert [(a["attempt"], a["outcome"]) for a in recorded] == [(1, "delivered")]
    assert recorded[0]["webhook_id"] == held.webhook_id
