"""The process's connection pool, made once from the settings."""

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from app.db.embedded import start_embedded
from app.db.one_trip import OneTripSession
from app.db.url import async_url
from app.settings import Settings


def database_url(settings: Settings) -> str:
    """The plain URL of the database this process uses, starting the embedded one if needed."""
    return settings.database_url or start_embedded(settings.data_dir)


def make_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    return create_async_engine(
        async_url(url or database_url(settings)),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # No ping before each checkout: it costs two round trips per request. A connection the
        # server dropped (a restart) fails its request with a 503 instead, and that error
        # makes the pool discard every connection older than it.
        pool_pre_ping=False,
        # A failed statement's error (logged with an internal error's traceback) names the
        # statement but not its values: they hold customers' names, phones and notes.
        hide_parameters=True,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            # asyncpg's own limit, so it also cancels the statement on the server.
            "command_timeout": settings.db_statement_timeout_seconds,
        },
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=OneTripSession)


def make_snapshot_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    """Read-only transactions that see one snapshot for all their statements.

    A read of several statements (a case, then its deadlines and decisions) under READ
    COMMITTED can show the halves of two commits: a deadline already missed beside a case not
    yet escalated. asyncpg starts these with one ``BEGIN ISOLATION LEVEL REPEATABLE READ READ
    ONLY``, so the snapshot costs no extra round trip.
    """
    snapshot = engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return async_sessionmaker(snapshot, expire_on_commit=False)
