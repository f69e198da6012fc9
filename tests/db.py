"""Throwaway databases for tests, on the embedded PostgreSQL or the server of DATABASE_URL."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.url import async_url
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
    import asyncio

    name = f"{prefix}_{secrets.token_hex(4)}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(server_url, name)
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows in every table of the models: what "nothing was written" is checked against."""
    counts = {}
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = (
                await connection.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return counts
