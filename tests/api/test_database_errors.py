"""Database errors that mean "not now" are 503 problems; any other database error is a 500.

asyncpg reports a server that is shutting down, starting up or that closed the connection
mid-query as plain database errors with a SQLSTATE, and a full pool times out in SQLAlchemy:
found by tests/reliability/test_database_outage.py, which saw them answered 500.
"""

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.api import problems


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


def _raising(exc: Exception) -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return app


async def _status(exc: Exception) -> tuple[int, str]:
    app = _raising(exc)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    return response.status_code, response.headers["content-type"]


@pytest.mark.parametrize(
    "sqlstate",
    [
        "57P01",  # terminating connection due to administrator command
        "57P03",  # the database system is shutting down / starting up
        "08003",  # connection was closed in the middle of operation
        "08006",  # connection failure
        "53300",  # too many connections
    ],
)
async def test_database_not_serving_is_503(sqlstate: str) -> None:
    error = DBAPIError("SELECT 1", None, _DriverError(sqlstate))
    assert await _status(error) == (503, "application/problem+json")


async def test_full_pool_is_503() -> None:
    assert (await _status(PoolTimeout("QueuePool limit reached")))[0] == 503


async def test_other_database_errors_stay_500() -> None:
    error = DBAPIError("INSERT", None, _DriverError("23505"))  # unique violation: our bug
    assert await _status(error) == (500, "application/problem+json")
