"""What a flush writes, sent in one round trip instead of one statement per table and row.

A decision adds four to six rows of three to five tables (its case and clocks, the
decision, its ledger entries, its outbox events) and changes up to four (the case, its
clocks, the order, the vendor's standing). The ORM's unit of work sends one INSERT per table
and one UPDATE per row, each a round trip with a large fixed cost in SQLAlchemy; here one
statement does them all: the rows go as one JSON document, each table's INSERT or UPDATE is
a data-modifying CTE that reads its rows from it, and the values the server makes (times,
identities, the transaction id) come back in the same answer. The rows are then in the
session as if the ORM had written them, so a later change to one is written as usual.

Only what is safe in any order is taken (the parts of one statement run in no set order):
- new rows of :data:`TAKEN` tables, when no other kind of row is added (it might be one they
  refer to), except those of a table with a changed row in the flush (the ORM updates before
  it inserts, and a unique index such as one running clock of a kind per case may need that
  order) and those that refer to rows left to the ORM;
- changed rows of :data:`TAKEN` and :data:`CHANGED` tables, unless they refer to a table
  whose new rows are left to the ORM;
- nothing when a row is deleted, or in a savepoint (whose rollback would not forget rows
  attached this way).
The ORM writes everything else, as before, after this statement.
"""

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Column, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.exc import StaleDataError

from app.db import driver, json_rows
from app.models import Case, Deadline, Decision, Event, LedgerEntry, Order, Vendor

TAKEN: tuple[type[Any], ...] = (Case, Deadline, Decision, Event, LedgerEntry)
CHANGED: tuple[type[Any], ...] = (Order, Vendor)

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


class _Table:
    """How the rows of one mapped class are written, and what the server gives back."""

    def __init__(self, cls: type[Any]) -> None:
        table = cls.__table__
        mapper = cls.__mapper__
        self.name: str = table.name
        self.columns: dict[str, Column[Any]] = {
            mapper.get_property_by_column(column).key: column for column in table.columns
        }
        self.made_by_server = {
            key
            for key, column in self.columns.items()
            if column.server_default is not None or column.identity is not None
        }
        # What an UPDATE sets by itself (updated_at = now()), and reads back.
        self.on_update = {
            key: str(column.onupdate.arg.compile(dialect=_DIALECT))  # type: ignore[attr-defined]
            for key, column in self.columns.items()
            if column.onupdate is not None
        }
        (self.primary_key,) = [k for k, column in self.columns.items() if column.primary_key]
        referred = {fk.column.table.name for fk in table.foreign_keys}
        self.refers_to = {other for other in (*TAKEN, *CHANGED) if other.__table__.name in referred}

    def given(self, row: Any) -> tuple[str, ...]:
        """The columns a new row sets: a server-made one left unset (or None) is the
        server's; any other left unset is NULL, as the ORM writes it."""
        values = row.__dict__
        return tuple(
            key
            for key in self.columns
            if values.get(key) is not None or key not in self.made_by_server
        )

    def changed(self, row: Any) -> tuple[str, ...]:
        """The columns of a loaded row set to another value since it was read."""
        state = instance_state(row)
        values = state.dict
        return tuple(
            key
            for key in self.columns
            if key in state.committed_state and values.get(key) != state.committed_state[key]
        )

    def returned(self, given: tuple[str, ...], *, new: bool) -> list[str]:
        """The primary key, then what the server made for a row setting ``given``."""
        made = self.made_by_server if new else set(self.on_update)
        return [self.primary_key, *sorted(made - set(given) - {self.primary_key})]

    def _record(self, keys: tuple[str, ...]) -> tuple[list[str], str]:
        """The columns' names, and the record that reads them from the JSON document.

        JSONB values travel as their text and are cast, so None is JSON null, as the ORM
        writes it (the record would read a JSON null as SQL NULL)."""
        names = [self.columns[key].name for key in keys]
        types = [
            "text" if self._jsonb(key) else self.columns[key].type.compile(dialect=_DIALECT)
            for key in keys
        ]
        return names, ", ".join(f"{n} {t}" for n, t in zip(names, types, strict=True))

    def _jsonb(self, key: str) -> bool:
        return isinstance(self.columns[key].type, JSONB)

    def _value(self, key: str) -> str:
        name = self.columns[key].name
        return f"r.{name}::jsonb" if self._jsonb(key) else f"r.{name}"

    def insert(self, given: tuple[str, ...], index: int) -> str:
        """The CTE ``t<index>`` that inserts the rows of the document's member ``index``."""
        names, record = self._record(given)
        values = ", ".join(self._value(key) for key in given)
        returning = ", ".join(self.columns[k].name for k in self.returned(given, new=True))
        return (
            f"t{index} AS (INSERT INTO {self.name} ({', '.join(names)}) SELECT {values} "
            f"FROM ROWS FROM (jsonb_to_recordset($1::jsonb -> {index}) AS ({record})) "
            f"WITH ORDINALITY AS r({', '.join(names)}, n) ORDER BY r.n RETURNING {returning})"
        )

    def update(self, changed: tuple[str, ...], index: int) -> str:
        """The CTE ``t<index>`` that updates the rows of the document's member ``index``."""
        _, record = self._record((self.primary_key, *changed))
        sets = [f"{self.columns[key].name} = {self._value(key)}" for key in changed]
        sets += [
            f"{self.columns[k].name} = {v}" for k, v in self.on_update.items() if k not in changed
        ]
        key = self.columns[self.primary_key].name
        returning = ", ".join(
            f"o.{self.columns[k].name}" for k in self.returned(changed, new=False)
        )
        return (
            f"t{index} AS (UPDATE {self.name} AS o SET {', '.join(sets)} "
            f"FROM jsonb_to_recordset($1::jsonb -> {index}) AS r({record}) "
            f"WHERE o.{key} = r.{key} RETURNING {returning})"
        )

    def encode(self, row: Any, keys: tuple[str, ...]) -> dict[str, Any]:
        values = row.__dict__
        encoded = {}
        for key in keys:
            value = values.get(key)
            if self._jsonb(key):
                value = json.dumps(value)
            elif isinstance(value, datetime):
                value = value.isoformat()
            encoded[self.columns[key].name] = value
        return encoded


_TABLES = {cls: _Table(cls) for cls in (*TAKEN, *CHANGED)}
# A part of the statement: inserted (True) or updated rows of a class, and their columns.
_Part = tuple[bool, type[Any], tuple[str, ...]]
_STATEMENTS: dict[tuple[_Part, ...], str] = {}


def _statement(parts: tuple[_Part, ...]) -> str:
    known = _STATEMENTS.get(parts)
    if known is None:
        ctes = [
            _TABLES[cls].insert(keys, i) if new else _TABLES[cls].update(keys, i)
            for i, (new, cls, keys) in enumerate(parts)
        ]
        rows = [f"SELECT {i} AS g, to_jsonb(t{i}) AS r FROM t{i}" for i in range(len(parts))]
        known = _STATEMENTS[parts] = f"WITH {', '.join(ctes)} {' UNION ALL '.join(rows)}"
    return known


def _takeable(session: Session) -> tuple[list[Any], list[Any]]:
    """The new rows, in the order they were added, and the changed rows this module writes."""
    if session.in_nested_transaction() or session.deleted:
        return [], []
    new = list(session.new)
    if not all(isinstance(row, TAKEN) for row in new):
        return [], []
    dirty = [row for row in session.dirty if isinstance(row, (*TAKEN, *CHANGED))]
    added = {type(row) for row in new}
    taken = added - {type(row) for row in session.dirty}
    # A row can only go first if every new row it may refer to goes with it.
    while refused := {cls for cls in taken if _TABLES[cls].refers_to & (added - taken)}:
        taken -= refused
    left = added - taken
    changed = [row for row in dirty if not _TABLES[type(row)].refers_to & left]
    return [row for row in new if type(row) in taken], changed


def _write(session: Session, new: list[Any], dirty: list[Any]) -> None:
    parts: dict[_Part, list[Any]] = defaultdict(list)
    for row in new:
        parts[(True, type(row), _TABLES[type(row)].given(row))].append(row)
    for row in dirty:
        changed = _TABLES[type(row)].changed(row)
        if changed:  # set to what it was: the ORM writes nothing either
            parts[(False, type(row), changed)].append(row)
    if sum(len(rows) for rows in parts.values()) < 2:
        return  # one row: the ORM's own statement is as good
    # The parts in a fixed order (the session's changed rows come in no set order): the same
    # rows make the same statement text, which asyncpg and PostgreSQL have prepared already
    # after its first time on a connection. In the order they came, a verdict made 24 texts
    # in 60 requests, each new one an extra round trip and a fresh plan.
    parts = dict(sorted(parts.items(), key=_part_order))
    document = [
        [
            _TABLES[cls].encode(row, keys if new else (_TABLES[cls].primary_key, *keys))
            for row in rows
        ]
        for (new, cls, keys), rows in parts.items()
    ]
    statement = _statement(tuple(parts))
    answer = driver.fetch_in_flush(session, statement, [json.dumps(document)])
    back: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for index, returned in answer:
        back[index].append(returned)
    for index, ((is_new, cls, keys), rows) in enumerate(parts.items()):
        _settle(_TABLES[cls], is_new, keys, rows, back[index])
    # What the ORM's flush does with the rows it wrote: every value each row holds is now
    # what is stored, a new row is persistent, and the transaction remembers both, so that
    # its rollback forgets the new rows and expires the changed ones.
    session._register_persistent({instance_state(row) for rows in parts.values() for row in rows})


def _part_order(item: tuple[_Part, list[Any]]) -> tuple[bool, str, tuple[str, ...]]:
    (new, cls, keys), _ = item
    return (not new, _TABLES[cls].name, keys)


def _settle(
    table: _Table, new: bool, keys: tuple[str, ...], rows: list[Any], back: list[Any]
) -> None:
    """Gives each row what the server made for it (see :func:`_write` for the rest)."""
    key_name = table.columns[table.primary_key].name
    if len(back) != len(rows):
        raise StaleDataError(
            f"{table.name}: {len(rows)} rows written in one trip, {len(back)} matched"
        )
    if not new or table.primary_key in keys:
        by_id = {values[key_name]: values for values in back}
        matched = [by_id[getattr(row, table.primary_key)] for row in rows]
    else:
        # A key the server draws is drawn in insertion order (ORDER BY r.n): ascending.
        matched = sorted(back, key=lambda values: int(values[key_name]))
    returned = [(key, table.columns[key]) for key in table.returned(keys, new=new)]
    for row, values in zip(rows, matched, strict=True):
        stored = row.__dict__
        for key in keys:
            stored.setdefault(key, None)  # a column a new row left unset was written as NULL
        for key, column in returned:
            stored[key] = json_rows.decode(column, values[column.name])


class OneTripSession(Session):
    """The session of the service's writing transactions (app.db.engine)."""


@event.listens_for(OneTripSession, "before_flush")
def _one_trip(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    new, dirty = _takeable(session)
    if new or dirty:
        _write(session, new, dirty)
