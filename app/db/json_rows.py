"""Rows that PostgreSQL sent as JSON (``to_jsonb(row)``), read back into their columns' values.

Several tables' rows in one statement cost one round trip where an ORM query per table costs
one each; JSON carries them all, and this turns them back into what the driver would have
given: times as aware datetimes, big integers and transaction ids as ints, JSONB as is.
app.db.one_trip reads what its statement wrote this way, and app.cases.views a case's
decisions, clocks and feedback.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Integer, SmallInteger

from app.models.event import Xid8


def _time(value: str) -> datetime:
    # Written in the session's time zone; the driver gives UTC.
    return datetime.fromisoformat(value).astimezone(UTC)


def decoder(column: Column[Any]) -> Callable[[Any], Any] | None:
    """How a column's JSON value becomes its Python value; None when it already is."""
    if isinstance(column.type, DateTime):
        return _time
    if isinstance(column.type, BigInteger | Integer | SmallInteger | Xid8):
        return int
    return None


def decode(column: Column[Any], value: Any) -> Any:
    return _applied(decoder(column), value)


def _applied(convert: Callable[[Any], Any] | None, value: Any) -> Any:
    return value if value is None or convert is None else convert(value)


_READERS: dict[type[Any], list[tuple[str, str, Callable[[Any], Any] | None]]] = {}


def columns_of(cls: type[Any]) -> list[tuple[str, str, Callable[[Any], Any] | None]]:
    """Each column of ``cls``'s table in table order: its mapped attribute's name, its own
    name, and its decoder."""
    reader = _READERS.get(cls)
    if reader is None:
        mapper = cls.__mapper__
        reader = _READERS[cls] = [
            (mapper.get_property_by_column(c).key, c.name, decoder(c))
            for c in cls.__table__.columns
        ]
    return reader


def row(cls: type[Any], values: dict[str, Any]) -> SimpleNamespace:
    """A row of ``cls``'s table as a plain object with the mapped attributes' names: what a
    view reads, not a row the session tracks."""
    reader = columns_of(cls)
    return SimpleNamespace(
        **{key: _applied(convert, values[name]) for key, name, convert in reader}
    )
