"""/ready answers 503 while the database does not, and the API says so in problem+json."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from app.main import create_app
from app.settings import Settings


@pytest.fixture
async def unreachable() -> AsyncIterator[AsyncClient]:
    # Nothing listens on port 9 of loopback: every connection is refused at once.
    app: FastAPI = create_app(Settings(), "postgresql://postgres@127.0.0.1:9/none")
    async with app.router.lifespan_context(app):
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            yield client


async def test_ready_fails_without_database(unreachable: AsyncClient) -> None:
    response = await unreachable.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert (await unreachable.get("/health")).status_code == 200


async def test_api_answers_503_without_database(unreachable: AsyncClient) -> None:
    response = await unreachable.get("/v1/orders/ORD-1", headers={"Authorization": "Bearer dsk_x"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == "http://t/problems/unavailable"
