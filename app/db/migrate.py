"""Alembic, called from the command line and the tests: the only way the schema is made.

Every migration runs under one PostgreSQL advisory lock, so any number of instances starting
at once against a new release migrate once: the first takes the lock and migrates, the
others wait for it and then find the schema already at the latest revision. The lock is held
by the migrating connection's session, so a process killed while migrating releases it.
"""

import asyncio
import logging
import time
from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, func, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.url import async_url
from app.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

# Distinct from the application's own advisory locks (the repositories').
MIGRATION_LOCK = 0x6D6967726174  # "migrat"
LOCK_POLL_SECONDS = 0.2


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # "%" would be read as interpolation by configparser (passwords may hold one).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(url: str, revision: str = "head") -> bool:
    """Brings the database to ``revision``; True when this call applied any migration."""
    return _locked(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str, revision: str) -> bool:
    return _locked(url, lambda config: command.downgrade(config, revision))


def _locked(url: str, run: Callable[[Config], None]) -> bool:
    config = alembic_config(url)

    def migrate(connection: Connection) -> bool:
        _take_lock(connection)
        try:
            before = _revisions(connection)
            config.attributes["connection"] = connection
            run(config)
            return _revisions(connection) != before
        finally:
            connection.rollback()  # a failed migration leaves its transaction aborted
            connection.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK)))
            connection.commit()

    async def connect_and_migrate() -> bool:
        engine = create_async_engine(async_url(url))
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(migrate)
        finally:
            await engine.dispose()

    return asyncio.run(connect_and_migrate())


def _take_lock(connection: Connection) -> None:
    """Waits for the lock by asking again, never inside one long statement: a migration that
    builds an index CONCURRENTLY waits for every statement older than it to finish, and a
    waiter blocked in pg_advisory_lock would be one, which PostgreSQL breaks as a deadlock."""
    waited = False
    while True:
        taken = connection.execute(select(func.pg_try_advisory_lock(MIGRATION_LOCK))).scalar()
        # A session lock outlives transactions; alembic runs its own on this connection.
        connection.commit()
        if taken:
            return
        if not waited:
            waited = True
            log.info("another instance is migrating the database; waiting for it")
        time.sleep(LOCK_POLL_SECONDS)


def _revisions(connection: Connection) -> tuple[str, ...]:
    heads = MigrationContext.configure(connection).get_current_heads()
    connection.commit()
    return heads
