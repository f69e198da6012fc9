"""The rows a flush adds, written in one round trip instead of one INSERT per table.

A decision adds four to six rows of three to five tables (its case and clocks, the
decision, its ledger entries, its outbox events). The ORM's unit of work sends one INSERT
per table, each a round trip with a large fixed cost in SQLAlchemy; here one statement does
them all: the rows go as one JSON document, each table's INSERT is a data-modifying CTE that
reads its rows from it, and the values the server makes (times, identities, the transaction
id) come back in the same answer. The rows then join the session as if the ORM had written
them, so a later change to one is an UPDATE as usual.

Only what is safe in any order is taken: new rows of the tables in :data:`TAKEN`, when no
other kind of row is added in the same flush (it might be one they refer to); not the rows
of a table with a changed or deleted row in the flush (the ORM updates before it inserts,
and a unique index such as one running clock of a kind per case may need that order), nor
of one that refers to such a table; and nothing in a savepoint (whose rollback would not
forget rows attached this way). The ORM writes everything else, as before.
"""

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, UOWTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.models import Case, Deadline, Decision, Event, LedgerEntry
from app.models.event import Xid8

TAKEN: tuple[type[Any], ...] = (Case, Deadline, Decision, Event, LedgerEntry)

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
        (self.primary_key,) = [k for k, column in self.columns.items() if column.primary_key]
        referred = {fk.column.table.name for fk in table.foreign_keys}
        self.refers_to = {other for other in TAKEN if other.__table__.name in referred}

    def given(self, row: Any) -> tuple[str, ...]:
        """The columns the row sets: a server-made one left unset (or None) is the server's;
        any other left unset is NULL, as the ORM writes it."""
        values = row.__dict__
        return tuple(
            key
            for key in self.columns
            if values.get(key) is not None or key not in self.made_by_server
        )

    def returned(self, given: tuple[str, ...]) -> list[str]:
        """The primary key, then what the server made for a row setting ``given``."""
        made = sorted(self.made_by_server - set(given) - {self.primary_key})
        return [self.primary_key, *made]

    def insert(self, given: tuple[str, ...], index: int) -> str:
        """The CTE ``t<index>`` that inserts the rows of the document's member ``index``."""
        names = [self.columns[key].name for key in given]
        # JSONB values travel as their text and are cast, so None is JSON null, as the ORM
        # writes it (the record would read a JSON null as SQL NULL).
        jsonb = [isinstance(self.columns[key].type, JSONB) for key in given]
        record = ", ".join(
            f"{name} {'text' if is_jsonb else self.columns[key].type.compile(dialect=_DIALECT)}"
            for key, name, is_jsonb in zip(given, names, jsonb, strict=True)
        )
        values = ", ".join(
            f"r.{name}::jsonb" if is_jsonb else f"r.{name}"
            for name, is_jsonb in zip(names, jsonb, strict=True)
        )
        returning = ", ".join(self.columns[key].name for key in self.returned(given))
        return (
            f"t{index} AS (INSERT INTO {self.name} ({', '.join(names)}) SELECT {values} "
            f"FROM ROWS FROM (jsonb_to_recordset($1::jsonb -> {index}) AS ({record})) "
            f"WITH ORDINALITY AS r({', '.join(names)}, n) ORDER BY r.n RETURNING {returning})"
        )

    def encode(self, row: Any, given: tuple[str, ...]) -> dict[str, Any]:
        values = row.__dict__
        encoded = {}
        for key in given:
            value, column = values.get(key), self.columns[key]
            if isinstance(column.type, JSONB):
                value = json.dumps(value)
            elif isinstance(value, datetime):
                value = value.isoformat()
            encoded[column.name] = value
        return encoded

    def decode(self, key: str, value: Any) -> Any:
        kind = self.columns[key].type
        if value is None:
            return None
        if isinstance(kind, DateTime):
            return datetime.fromisoformat(value)
        if isinstance(kind, BigInteger | Xid8):
            return int(value)
        return value


_TABLES = {cls: _Table(cls) for cls in TAKEN}
_STATEMENTS: dict[tuple[tuple[type[Any], tuple[str, ...]], ...], str] = {}


def _statement(groups: tuple[tuple[type[Any], tuple[str, ...]], ...]) -> str:
    known = _STATEMENTS.get(groups)
    if known is None:
        ctes = [_TABLES[cls].insert(given, i) for i, (cls, given) in enumerate(groups)]
        rows = [f"SELECT {i} AS g, to_jsonb(t{i}) AS r FROM t{i}" for i in range(len(groups))]
        known = _STATEMENTS[groups] = f"WITH {', '.join(ctes)} {' UNION ALL '.join(rows)}"
    return known


def _takeable(session: Session) -> list[Any]:
    """The new rows this module writes, in the order they were added."""
    if session.in_nested_transaction():
        return []
    new = list(session.new)
    if not all(isinstance(row, TAKEN) for row in new):
        return []
    added = {type(row) for row in new}
    taken = added - {type(row) for row in (*session.dirty, *session.deleted)}
    # A row can only go first if every new row it may refer to goes with it.
    while refused := {cls for cls in taken if _TABLES[cls].refers_to & (added - taken)}:
        taken -= refused
    rows = [row for row in new if type(row) in taken]
    return rows if len(rows) > 1 else []


def _write(session: Session, new: list[Any]) -> None:
    groups: dict[tuple[type[Any], tuple[str, ...]], list[Any]] = defaultdict(list)
    for row in new:
        groups[(type(row), _TABLES[type(row)].given(row))].append(row)
    document = [
        [_TABLES[cls].encode(row, given) for row in rows] for (cls, given), rows in groups.items()
    ]
    statement = _statement(tuple(groups))
    answer = session.connection().exec_driver_sql(statement, (json.dumps(document),)).all()
    back: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for index, returned in answer:
        back[index].append(returned if isinstance(returned, dict) else json.loads(returned))
    for index, ((cls, given), rows) in enumerate(groups.items()):
        table = _TABLES[cls]
        key_name = table.columns[table.primary_key].name
        if table.primary_key in given:
            by_id = {values[key_name]: values for values in back[index]}
            matched = [by_id[getattr(row, table.primary_key)] for row in rows]
        else:
            # A key the server draws is drawn in insertion order (ORDER BY r.n): ascending.
            matched = sorted(back[index], key=lambda values: int(values[key_name]))
        for row, values in zip(rows, matched, strict=True):
            for key in given:
                if key not in row.__dict__:
                    set_committed_value(row, key, None)
            for key in table.returned(given):
                set_committed_value(row, key, table.decode(key, values[table.columns[key].name]))
    for row in new:
        # Pending, then as if loaded: every value the row holds is now what is stored.
        session.expunge(row)
        make_transient_to_detached(row)
        session.add(row)


class OneTripSession(Session):
    """The session of the service's writing transactions (app.db.engine)."""


@event.listens_for(OneTripSession, "before_flush")
def _one_trip(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    new = _takeable(session)
    if new:
        _write(session, new)
