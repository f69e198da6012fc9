"""A case's own rows, read once after its locks: its running clocks, what a new decision of
it replaces, and what its answer shows.

A request that acts on a case it did not open (a verdict, the vendor's answer, a manager's
decision) reads the case's running clocks, locked, to settle them; the ledger entries its
decisions made, locked, which a new decision reverses (app.effects.repository); and at the
end answers the case with every decision, clock and feedback it has. All of it is read here
in one statement, when the clocks are first asked for
(app.cases.deadline_repository.all_running): the entries are not read again until the
transaction adds one, and the answer is made from these rows and what the transaction
itself wrote (app.cases.views), without reading them back.

These rows cannot change under the transaction that read them but by its own hand: every
write of a case's decisions, clocks, feedback and ledger entries is made under its vendor's
lock (a case with no vendor, under its own row's), which the caller holds (app.cases.locks),
and a clock a watcher has claimed is not among the running ones (SKIP LOCKED) and stays as
it was until this transaction ends. What the transaction changes in them is in the
instances; what it adds is in app.db.written.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import driver, per_transaction
from app.effects import repository as ledger_rows
from app.models import CaseFeedback, Deadline, Decision, LedgerEntry

# The parts run in the order written, and the last two take locks in the one lock order
# (app.cases.locks): the entries the case's decisions made (app.effects.repository: what a
# new decision replaces), then the running clocks, SKIP LOCKED. Their rows come after the
# unlocked ones, so an instance holds the row as it was locked.
_CASE_ROWS = driver.Statement(
    """SELECT 0, to_jsonb(d) FROM decisions d WHERE d.case_id = $1
    UNION ALL
    SELECT 1, to_jsonb(c) FROM deadlines c WHERE c.case_id = $1
    UNION ALL
    SELECT 2, to_jsonb(f) FROM case_feedback f WHERE f.case_id = $1
    UNION ALL
    SELECT 3, to_jsonb(m) FROM ("""
    + ledger_rows.MADE_FOR_CASE.sql
    + """) m
    UNION ALL
    SELECT 4, to_jsonb(r) FROM (
        SELECT * FROM deadlines WHERE case_id = $1 AND settled_at IS NULL
        FOR UPDATE SKIP LOCKED
    ) r""",
    ["case_id"],
)
_TABLES = (Decision, Deadline, CaseFeedback, LedgerEntry, Deadline)
# The column MADE_FOR_CASE names what settles an entry (SQLAlchemy's label for it).
_SETTLED_BY = ledger_rows.MADE_FOR_CASE_SETTLEMENT

# session.info: the rows read of each case (kept here: the identity map holds rows weakly).
_KNOWN = per_transaction.key("case_rows")


@dataclass
class Known:
    """A case's rows as the session holds them: changes made since are in them."""

    decisions: list[Any] = field(default_factory=list)
    deadlines: list[Any] = field(default_factory=list)
    feedback: Any = None
    running: list[Any] = field(default_factory=list)


async def read(session: AsyncSession, case_id: str) -> Known:
    """The case's decisions, clocks and feedback, as the session's instances, and which of
    its clocks run (locked)."""
    known = Known()
    made: list[tuple[Any, str | None]] = []
    for table, values in await driver.fetch(session, _CASE_ROWS, {"case_id": case_id}):
        row = driver.attach(session, _TABLES[table], values)
        if table == 0:
            known.decisions.append(row)
        elif table == 1:
            known.deadlines.append(row)
        elif table == 2:
            known.feedback = row
        elif table == 3:
            made.append((row, values[_SETTLED_BY]))
        else:
            known.running.append(row)
    made.sort(key=lambda m: m[0].seq)  # ledger order, as MADE_FOR_CASE gives it
    ledger_rows.remember_in_force(session, case_id, made)
    session.info.setdefault(_KNOWN, {})[case_id] = known
    return known


def known(session: AsyncSession, case_id: str) -> Known | None:
    """The rows :func:`read` read of the case in this transaction, if it did."""
    found: Known | None = session.info.get(_KNOWN, {}).get(case_id)
    return found
