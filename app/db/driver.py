"""The hot paths' statements, sent straight to asyncpg on the session's own connection.

Each statement SQLAlchemy runs costs about 0.4 ms of CPU in its execution machinery (the
greenlet hop, the cursor adapter, result and ORM loading), four times asyncpg's own call;
a decision's few reads spent more there than in PostgreSQL. Here a statement goes to the
asyncpg connection of the session's transaction, inside that transaction, and what it
returns is made into rows the session tracks (:func:`attach`), so the rest of the code
changes them and the flush writes them as if the ORM had loaded them.

What stays as with SQLAlchemy: the transaction (begun here if no statement has begun it
yet, committed or rolled back by the session), the statement timeout (asyncpg's own), the
engine's ``before_cursor_execute`` and ``after_cursor_execute`` events (traces and tests see
every statement; after a failed one the context's ``error`` is set), and the errors: a
database error is raised as the ``sqlalchemy.exc.DBAPIError`` SQLAlchemy would raise, by
SQLAlchemy's own handling, so deadlock retries and 503s treat both paths alike and a lost
connection leaves the pool.

That takes a few of SQLAlchemy's private names (the asyncpg adapter's transaction, its error
mapping, the connection's error handling, the session's registration of a row), pinned by the
lock file; tests/schema/test_driver.py fails if any of them changes what it does, and is the
test to run on upgrading SQLAlchemy (with tests/schema/test_one_trip.py, for app.db.one_trip).
"""

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any, NoReturn

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.sql import ClauseElement
from sqlalchemy.util import await_only

from app.db import json_rows

_DIALECT = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]


class Statement:
    """A Core statement compiled once for asyncpg: ``$n`` placeholders and the order of its
    parameters' names. Written with SQLAlchemy, so a column's name is checked by mypy and
    its type cast in the SQL, and run without it. Its rows are asyncpg records, with the
    values SQLAlchemy's driver gives (JSON decoded, times in UTC)."""

    def __init__(self, statement: ClauseElement | str, names: Sequence[str] = ()) -> None:
        # The values the statement itself holds (a kind compared with a literal).
        self.values: dict[str, Any] = {}
        if isinstance(statement, str):
            self.sql, self.names = statement, tuple(names)
        else:
            compiled = statement.compile(dialect=_DIALECT)
            if "POSTCOMPILE" in compiled.string:
                # An IN list SQLAlchemy expands per execution; = ANY(an array) is one value.
                raise ValueError(f"write IN (...) as = ANY(...) to run it here: {statement}")
            self.sql = compiled.string
            self.names = tuple(compiled.positiontup or ())  # type: ignore[attr-defined]
            self.values = {k: v for k, v in compiled.params.items() if v is not None}

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        values = self.values
        return [parameters[n] if n in parameters else values[n] for n in self.names]


async def fetch(
    session: AsyncSession, statement: Statement, parameters: Mapping[str, Any]
) -> list[Any]:
    """The rows ``statement`` returns (asyncpg records), run in the session's transaction
    after the session's pending changes are flushed, as a query of the session would be."""
    sync = session.sync_session
    if sync.autoflush and (sync.new or sync.dirty or sync.deleted):
        await session.flush()
    return await _sent(await _connection(session), statement.sql, statement.arguments(parameters))


_CONNECTION = "app.db.driver.connection"


async def _connection(session: AsyncSession) -> Connection:
    """The connection of the session's transaction. Asked of the session once per
    transaction: each ask is a hop into SQLAlchemy's greenlet and back, which cost a hot
    statement more than its own parameters. A connection the transaction has let go of
    (committed, rolled back, lost) is closed or invalidated, and a new one is asked for."""
    info = session.sync_session.info
    found: Connection | None = info.get(_CONNECTION)
    if found is None or found.closed or found.invalidated:
        found = (await session.connection()).sync_connection
        assert found is not None  # a session's connection is made with its sync side
        info[_CONNECTION] = found
    return found


def fetch_in_flush(session: Session, sql: str, arguments: list[Any]) -> list[Any]:
    """:func:`fetch` for a flush's own statement: a flush runs in SQLAlchemy's greenlet,
    where a coroutine is awaited through ``await_only``."""
    return await_only(_sent(session.connection(), sql, arguments))


async def _sent(connection: Connection, sql: str, arguments: list[Any]) -> list[Any]:
    dispatch = connection.dispatch
    # What a listener keeps from before to after; ``error`` is set when the statement
    # failed (app.observability.tracing marks its span so).
    context = SimpleNamespace(error=None)
    if dispatch.before_cursor_execute:
        dispatch.before_cursor_execute(connection, None, sql, arguments, context, False)
    try:
        adapted: Any = connection.connection.dbapi_connection
        # SQLAlchemy's adapter sends BEGIN with its first statement; a statement sent around
        # it would otherwise run, and let go of its locks, outside the transaction.
        if adapted._transaction is None:
            await adapted._start_transaction()
        rows: list[Any] = await adapted.driver_connection.fetch(sql, *arguments)
    except Exception as error:
        context.error = error
        _raise_as_sqlalchemy(connection, sql, arguments, error)
    finally:
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(connection, None, sql, arguments, context, False)
    return rows


def _raise_as_sqlalchemy(
    connection: Connection, sql: str, arguments: list[Any], error: Exception
) -> NoReturn:
    """Raises ``error`` as SQLAlchemy would have: the DBAPI error asyncpg's maps to, wrapped
    in its ``DBAPIError``, through the connection's own handling, which on a lost connection
    invalidates it and the pool's older ones (a restarted server leaves none usable)."""
    adapted: Any = connection.connection.dbapi_connection
    try:
        adapted._handle_exception(error)  # raises the DBAPI error; any other error as it is
    except connection.dialect.loaded_dbapi.Error as dbapi_error:
        connection._handle_dbapi_exception(dbapi_error, sql, arguments, None, None)
    raise error  # pragma: no cover - both calls above always raise


async def one(session: AsyncSession, statement: Statement, parameters: Mapping[str, Any]) -> Any:
    """The one row ``statement`` returns."""
    (row,) = await fetch(session, statement, parameters)
    return row


async def scalar(session: AsyncSession, statement: Statement, parameters: Mapping[str, Any]) -> Any:
    """The first value of the first row, or None when there is no row."""
    rows = await fetch(session, statement, parameters)
    return rows[0][0] if rows else None


async def instances(
    session: AsyncSession, cls: type[Any], statement: Statement, parameters: Mapping[str, Any]
) -> list[Any]:
    """The rows of ``select(cls)...`` as the session's instances (see :func:`attach_row`)."""
    return [attach_row(session, cls, row) for row in await fetch(session, statement, parameters)]


def attach_row(session: AsyncSession, cls: type[Any], row: Sequence[Any]) -> Any:
    """The session's instance of a row whose first values are ``cls``'s columns in table
    order, as ``select(cls, ...)`` gives them (see :func:`_attach`)."""
    # The row may hold more after them (what settles a ledger entry): zip stops at the columns.
    columns = json_rows.columns_of(cls)
    values = zip(columns, row, strict=False)
    return _attach(session, cls, {key: value for (key, _, _), value in values})


def attach(session: AsyncSession, cls: type[Any], values: Mapping[str, Any]) -> Any:
    """A row of ``cls`` that PostgreSQL sent as ``to_jsonb(row)`` (the driver decodes the
    JSON), as the session's instance of it (see :func:`_attach`)."""
    return _attach(session, cls, vars(json_rows.row(cls, dict(values))))


def _attach(session: AsyncSession, cls: type[Any], attributes: dict[str, Any]) -> Any:
    """The session's instance of the row whose mapped attributes are ``attributes``, holding
    what is stored now, as a query with ``populate_existing`` would leave it."""
    mapper = cls.__mapper__
    identity = mapper.identity_key_from_primary_key(
        tuple(attributes[mapper.get_property_by_column(c).key] for c in mapper.primary_key)
    )
    sync = session.sync_session
    instance = sync.identity_map.get(identity)
    if instance is not None:
        for key, value in attributes.items():
            set_committed_value(instance, key, value)
        return instance
    # A new instance's values go straight into its __dict__, as the ORM's own loading puts
    # them: setting them one by one through the attributes costs several times as much.
    instance = mapper.class_manager.new_instance()
    instance.__dict__.update(attributes)
    instance_state(instance).key = identity  # as loaded: nothing to write, identity known
    _added(sync, instance)
    return instance


def add(session: AsyncSession, row: Any) -> None:
    """``session.add(row)``, for the rows a request makes many of (see :func:`_added`)."""
    _added(session.sync_session, row)


def _added(sync: Session, row: Any) -> None:
    # Session.add walks every column of the row's class for relationships to cascade to;
    # the models have none (a decision adds half a dozen rows, and the walk cost more than
    # the rest of the add), so the row goes to the session's own registration directly, new
    # or loaded alike. A class with relationships takes the full path.
    if type(row).__mapper__.relationships:
        sync.add(row)
    else:
        sync._save_or_update_impl(instance_state(row))
