"""What this transaction gave the cases it opened, kept as it is written.

A case opened in this transaction has no decisions, deadlines or feedback but the ones this
transaction added, so the answer that shows it needs no query to read them back.
"""

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.transaction import kept
from app.models import Case, Deadline, Decision


@dataclass
class Opened:
    decisions: list[Decision] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)


def _opened(session: AsyncSession) -> dict[str, Opened]:
    opened: dict[str, Opened] = kept(session).setdefault("opened", {})
    return opened


def case_opened(session: AsyncSession, case: Case) -> None:
    _opened(session)[case.id] = Opened()


def decision_added(session: AsyncSession, decision: Decision) -> None:
    opened = _opened(session).get(decision.case_id)
    if opened is not None:
        opened.decisions.append(decision)


def deadline_added(session: AsyncSession, deadline: Deadline) -> None:
    opened = _opened(session).get(deadline.case_id)
    if opened is not None:
        opened.deadlines.append(deadline)


def of(session: AsyncSession, case_id: str) -> Opened | None:
    """What the case has, if this transaction opened it; None for an older case."""
    return _opened(session).get(case_id)
