"""What one client may ask of a process: a body must arrive within BODY_TIMEOUT_SECONDS
(408), and an API key may make RATE_LIMIT_PER_MINUTE requests a minute (429)."""

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.conftest import KeyMaker, http_client, running_app, suite_settings
from tests.factories import order_body

PROBLEM = "application/problem+json"
BODY_TIMEOUT = 0.5
PER_MINUTE = 3


@pytest.fixture(scope="module")
async def limited(database_url: str) -> AsyncIterator[FastAPI]:
    settings = suite_settings(body_timeout_seconds=BODY_TIMEOUT, rate_limit_per_minute=PER_MINUTE)
    async with running_app(settings, database_url) as application:
        yield application


@pytest.fixture
async def limited_client(limited: FastAPI) -> AsyncIterator[AsyncClient]:
    async with http_client(limited) as c:
        yield c


async def _sent_in(chunks: list[bytes], pause: float) -> AsyncIterator[bytes]:
    for n, chunk in enumerate(chunks):
        if n:
            await asyncio.sleep(pause)
        yield chunk


def _halves(body: dict[str, object]) -> list[bytes]:
    raw = json.dumps(body).encode()
    return [raw[: len(raw) // 2], raw[len(raw) // 2 :]]


async def test_a_body_that_trickles_in_is_cut_off_with_408(
    limited_client: AsyncClient, make_key: KeyMaker
) -> None:
    service = await make_key("service")
    response = await limited_client.put(
        "/v1/orders/ORD-SLOW",
        content=_sent_in(_halves(order_body()), pause=BODY_TIMEOUT * 4),
        headers={**service, "Content-Type": "application/json"},
    )
    assert response.status_code == 408
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["connection"] == "close"
    assert response.json()["type"] == "http://test/problems/request-timeout"
    # Nothing of it was stored.
    assert (await limited_client.get("/v1/orders/ORD-SLOW", headers=service)).status_code == 404


async def test_a_body_sent_in_pieces_within_the_time_is_served(
    limited_client: AsyncClient, make_key: KeyMaker
) -> None:
    service = await make_key("service")
    response = await limited_client.put(
        "/v1/orders/ORD-STEADY",
        content=_sent_in(_halves(order_body()), pause=BODY_TIMEOUT / 10),
        headers={**service, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


async def test_a_key_past_its_rate_gets_429_with_retry_after_and_others_go_on(
    limited_client: AsyncClient, make_key: KeyMaker
) -> None:
    busy, other = await make_key("service"), await make_key("service")
    for _ in range(PER_MINUTE):
        assert (await limited_client.get("/v1/vendors/V-1", headers=busy)).status_code == 404
    refused = await limited_client.get("/v1/vendors/V-1", headers=busy)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"] == "http://test/problems/rate-limited"
    # One request comes back every 60 / PER_MINUTE seconds.
    assert 1 <= int(refused.headers["retry-after"]) <= 60 // PER_MINUTE
    assert (await limited_client.get("/v1/vendors/V-1", headers=other)).status_code == 404
    # Probes and a key-less request are not counted against anyone.
    assert (await limited_client.get("/health")).status_code == 200
    assert (await limited_client.get("/v1/vendors/V-1")).status_code == 401


async def test_the_default_limit_is_generous(client: AsyncClient, make_key: KeyMaker) -> None:
    service = await make_key("service")
    for _ in range(100):  # a burst far beyond what a person clicks, well within the default
        assert (await client.get("/v1/vendors/V-1", headers=service)).status_code == 404
