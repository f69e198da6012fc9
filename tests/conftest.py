"""A real PostgreSQL for every test: the embedded one, or DATABASE_URL's server when set.

The schema is made once by Alembic; each test starts from empty tables.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.keys import service as keys
from app.main import create_app
from app.models import Base
from app.settings import Settings
from tests.db import migrated_database, past_other_databases_writers, postgres_server

Headers = dict[str, str]


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server tests may create databases on."""
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    with migrated_database(server_url) as url:
        yield url


def suite_settings(**overrides: Any) -> Settings:
    """The settings of the apps tests run in process. The watcher sweeps once, at start:
    tests of the clock give a short interval (and tiny policy hours). No background rolls of
    the report: its tests see what the reports roll themselves, or run the roller. No webhook
    sender: the endpoints tests make point nowhere; delivery tests start their own."""
    values: dict[str, Any] = {
        "database_url": None,
        "watch_interval_seconds": 3600,
        "report_roll_interval_seconds": 0,
        # Keys' last use is written when the app stops, or when a test ticks the recorder.
        "api_key_last_used_seconds": 3600,
        "webhook_poll_interval_seconds": 0,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture(scope="session")
def settings() -> Settings:
    return suite_settings()


@asynccontextmanager
async def running_app(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    """An app instance with its lifespan (rules, pool, watcher) started, as a server runs it.

    The lifespan reads POLICY_* from os.environ when it starts: set them before.
    """
    application = create_app(settings, database_url)
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def http_client(application: FastAPI) -> AsyncIterator[AsyncClient]:
    async def feed_caught_up(request: Request) -> None:
        if request.url.path == "/v1/events":
            await past_other_databases_writers(application.state.db_engine)

    transport = ASGITransport(app=application)
    hooks = {"request": [feed_caught_up]}
    async with AsyncClient(transport=transport, base_url="http://test", event_hooks=hooks) as c:
        yield c


@pytest.fixture(scope="session")
async def app(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    async with running_app(settings, database_url) as application:
        yield application


@pytest.fixture(scope="session")
def sessionmaker(app: FastAPI) -> async_sessionmaker:  # type: ignore[type-arg]
    maker: async_sessionmaker = app.state.sessionmaker  # type: ignore[type-arg]
    return maker


@pytest.fixture(scope="session")
def db_engine(app: FastAPI) -> AsyncEngine:
    engine: AsyncEngine = app.state.db_engine
    return engine


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> None:
    if "app" not in request.fixturenames:
        return
    engine: AsyncEngine = request.getfixturevalue("db_engine")
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with http_client(app) as c:
        yield c


KeyMaker = Callable[..., Awaitable[Headers]]


@pytest.fixture
def make_key(sessionmaker: async_sessionmaker) -> KeyMaker:  # type: ignore[type-arg]
    async def make(role: str, vendor_id: str | None = None, name: str | None = None) -> Headers:
        async with sessionmaker() as session, session.begin():
            token = await keys.create(session, role, vendor_id, name=name or f"test {role}")
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
async def vendor(make_key: KeyMaker) -> Headers:
    """A key of vendor V-1, whose orders the factories make by default."""
    return await make_key("vendor", "V-1")


@pytest.fixture
async def ops(make_key: KeyMaker) -> Headers:
    return await make_key("ops")


@pytest.fixture
async def ops_manager(make_key: KeyMaker) -> Headers:
    return await make_key("ops_manager")


@pytest.fixture
async def finance_manager(make_key: KeyMaker) -> Headers:
    return await make_key("finance_manager")


@pytest.fixture
async def service(make_key: KeyMaker) -> Headers:
    return await make_key("service")


@pytest.fixture
async def support(make_key: KeyMaker) -> Headers:
    return await make_key("support")
