"""Firing due deadlines: what each instance's watcher runs every tick.

The caller owns the transaction (app.watcher); due rows are claimed with SKIP LOCKED, so
instances sweeping at once share the work and never fire one deadline twice.
"""

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import customers, lifecycle, locks
from app.cases import deadline_repository as deadlines
from app.cases.case_type import Fire
from app.cases.locks import Locked
from app.cases.registry import CASE_TYPES
from app.models import Deadline
from app.observability import metrics
from app.observability.context import on_commit
from app.rules_engine.engine import RulesEngine

log = logging.getLogger(__name__)


async def _resolution_missed(
    session: AsyncSession, _: RulesEngine, locked: Locked, deadline: Deadline, watcher: str
) -> bool:
    return await lifecycle.resolution_missed(session, locked, deadline, watcher)


# What a due deadline of each kind does: the clocks every case has, then each case type's
# own. Kinds not listed are never claimed, so an instance running older code leaves newer
# kinds to instances that know them.
HANDLERS: dict[str, Fire] = {
    lifecycle.RESOLUTION: _resolution_missed,
    customers.CUSTOMER_UPDATE: customers.update_due,
    **{
        kind: fire for case_type in CASE_TYPES.values() for kind, fire in case_type.clocks().items()
    },
}


async def fire_due(session: AsyncSession, engine: RulesEngine, watcher: str, limit: int) -> int:
    """Claims up to ``limit`` due deadlines and fires each; returns how many fired."""
    fired = 0
    for deadline in await deadlines.claim_due(session, tuple(HANDLERS), limit):
        # Read before it fires: a savepoint rolled back expires the rows it changed (this
        # deadline, settled), and an async session cannot load an attribute back on access.
        deadline_id, kind, case_id = deadline.id, deadline.kind, deadline.case_id
        try:
            # A savepoint each: one deadline that cannot fire leaves the rest of the batch to
            # commit, and stays due for the next tick.
            async with session.begin_nested():
                locked = await locks.lock_case(session, case_id)
                missed = await HANDLERS[kind](session, engine, locked, deadline, watcher)
            if missed:
                on_commit(metrics.DEADLINES_MISSED.labels(kind).inc)
            fired += 1
        except Exception:
            log.exception(
                "deadline %s (%s, case %s) could not fire; retrying next tick",
                deadline_id,
                kind,
                case_id,
            )
    return fired
