"""Alembic makes the schema: upgrade, downgrade and upgrade again work, and match the models."""

import asyncio
import subprocess
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.migrate import downgrade, upgrade
from app.db.url import async_url
from app.models import Base
from app.orders.phones import normalise
from app.settings import PROJECT_ROOT
from tests.db import asyncpg_dsn, fresh_database
from tests.server import COMMAND, env_with


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    with fresh_database(server_url, "dispute_migrations") as url:
        yield url


T = TypeVar("T")


def _inspect(url: str, check: Callable[[Connection], T]) -> T:
    async def run() -> T:
        engine = create_async_engine(async_url(url))
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(check)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _revision(connection: Connection) -> str | None:
    value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    upgrade(empty_database)
    model_tables = {t.name for t in Base.metadata.sorted_tables}
    assert model_tables <= _inspect(empty_database, _tables)
    downgrade(empty_database, "base")
    assert _inspect(empty_database, _tables) == {"alembic_version"}
    upgrade(empty_database)
    assert model_tables <= _inspect(empty_database, _tables)


def test_models_and_migrations_do_not_drift(empty_database: str) -> None:
    upgrade(empty_database)
    assert _inspect(empty_database, _drift) == []


def test_single_head(empty_database: str) -> None:
    from alembic.script import ScriptDirectory

    from app.db.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config(empty_database)).get_heads()
    assert len(heads) == 1
    upgrade(empty_database)
    assert _inspect(empty_database, _revision) == heads[0]


PHONES = [
    "+919812345678",
    "09812345678",
    "9812345678",
    "919812345678",
    "+14155550123",
    "14155550123",
]


async def _run(url: str, statements: list[str], query: str) -> list[tuple[Any, ...]]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for statement in statements:
            await connection.execute(statement)
        return [tuple(row) for row in await connection.fetch(query)]
    finally:
        await connection.close()


def test_keys_and_orders_from_before_people_get_names_and_one_spelling_of_each_phone(
    empty_database: str,
) -> None:
    upgrade(empty_database, "0007")
    orders = ", ".join(
        f"('ORD-{n}', 'V-1', '{{\"name\": \"A\", \"phone\": \"{phone}\"}}', '{{}}', 10, 100, "
        "'{}', '[]')"
        for n, phone in enumerate(PHONES)
    )
    asyncio.run(
        _run(
            empty_database,
            [
                "INSERT INTO api_keys (id, key_hash, role, vendor_id) VALUES "
                "('key_OLD1', 'h1', 'ops', NULL), ('key_OLD2', 'h2', 'vendor', 'V-1')",
                "INSERT INTO vendors (id, max_leads) VALUES ('V-1', 10)",
                "INSERT INTO orders (id, vendor_id, customer, device, unlock_credits, "
                f"final_invoice_amount, payment, pickup_notes) VALUES {orders}",
            ],
            "SELECT 1",
        )
    )
    upgrade(empty_database)
    names = asyncio.run(_run(empty_database, [], "SELECT id, name FROM api_keys ORDER BY id"))
    assert names == [("key_OLD1", "ops key key_OLD1"), ("key_OLD2", "vendor key key_OLD2")]
    spelled = asyncio.run(
        _run(empty_database, [], "SELECT id, customer_phone FROM orders ORDER BY id")
    )
    assert spelled == [(f"ORD-{n}", normalise(phone)) for n, phone in enumerate(PHONES)]


INSTANCES = 4


def test_instances_starting_at_once_migrate_once(empty_database: str) -> None:
    """As a deploy starts several instances of a new release against one database: each runs
    `migrate` at start; one migrates, the others wait for it and find nothing left to do."""
    env = env_with(DATABASE_URL=empty_database)
    starting = [
        subprocess.Popen(
            [*COMMAND, "migrate"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(INSTANCES)
    ]
    said = []
    for process in starting:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        said.append(stderr.strip().splitlines()[-1])
    assert sorted(said) == [
        "database migrated to the latest schema",
        *["database was already at the latest schema"] * (INSTANCES - 1),
    ]
    assert _inspect(empty_database, _drift) == []
