from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import case_rows
from app.db import driver, written
from app.models import Case, Deadline


async def add(session: AsyncSession, deadline: Deadline) -> None:
    # Written with the next flush (any query autoflushes first): nothing reads it back at once.
    driver.add(session, deadline)
    written.keep(session, deadline)
    known = case_rows.known(session, deadline.case_id)
    if known is not None:  # it runs from now on, as the clocks read before it
        known.running.append(deadline)


async def claim_due(session: AsyncSession, kinds: Sequence[str], limit: int) -> list[Deadline]:
    """The earliest due, unsettled deadlines of these kinds, locked until commit.

    SKIP LOCKED: rows another instance (or a request) holds are left to it, so every
    instance can sweep at once and none acts on a deadline twice. They come back in vendor
    order: firing one locks its vendor until the batch commits, and instances that lock
    vendors in one order never wait on each other in a cycle.
    """
    rows = (
        await session.execute(
            select(Deadline, Case.vendor_id)
            .join(Case, Case.id == Deadline.case_id)
            .where(
                Deadline.settled_at.is_(None),
                Deadline.due_at <= func.now(),
                Deadline.kind.in_(kinds),
            )
            .order_by(Deadline.due_at)
            .limit(limit)
            .with_for_update(of=Deadline, skip_locked=True)
        )
    ).all()
    return [deadline for deadline, _ in sorted(rows, key=lambda row: (row[1] or "", row[0].due_at))]


async def running(session: AsyncSession, case_id: str, kind: str) -> Deadline | None:
    """The case's running deadline of this kind, locked; None if none runs or it is claimed.

    SKIP LOCKED, not a wait: a watcher that claimed it holds it while it waits for the
    vendor's row, which the caller holds; waiting here would deadlock the two.
    """
    return next((d for d in await all_running(session, case_id) if d.kind == kind), None)


async def all_running(session: AsyncSession, case_id: str) -> list[Deadline]:
    """Every running clock of the case, locked; SKIP LOCKED as :func:`running`.

    Read once per transaction: a clock another transaction holds stays held until this one
    ends (its watcher waits for the vendor this caller holds), and this transaction's own
    changes are in the session (a clock settled here is no longer running, one added here is).
    """
    # Read with the rest of the case's rows, which its answer then needs not read again.
    known = case_rows.known(session, case_id) or await case_rows.read(session, case_id)
    return [deadline for deadline in known.running if deadline.settled_at is None]
