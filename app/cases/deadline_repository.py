from collections.abc import Sequence

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import written
from app.models import Case, Deadline


async def add(session: AsyncSession, deadline: Deadline) -> None:
    # Written with the next flush (any query autoflushes first): nothing reads it back at once.
    session.add(deadline)
    written.keep(session, deadline)


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


# Built once (building a statement costs more CPU than running one already built): the
# running clocks of a case, locked, SKIP LOCKED; of one kind, or all of them.
_ALL_RUNNING = (
    select(Deadline)
    .where(Deadline.case_id == bindparam("case_id", type_=String()), Deadline.settled_at.is_(None))
    .with_for_update(skip_locked=True)
    .execution_options(populate_existing=True)
)
_RUNNING = _ALL_RUNNING.where(Deadline.kind == bindparam("kind", type_=String()))


async def running(session: AsyncSession, case_id: str, kind: str) -> Deadline | None:
    """The case's running deadline of this kind, locked; None if none runs or it is claimed.

    SKIP LOCKED, not a wait: a watcher that claimed it holds it while it waits for the
    vendor's row, which the caller holds; waiting here would deadlock the two.
    """
    deadline: Deadline | None = await session.scalar(_RUNNING, {"case_id": case_id, "kind": kind})
    return deadline


async def all_running(session: AsyncSession, case_id: str) -> Sequence[Deadline]:
    """Every running clock of the case, locked; SKIP LOCKED as :func:`running`."""
    return (await session.scalars(_ALL_RUNNING, {"case_id": case_id})).all()
