"""Firing due deadlines: what each instance's watcher runs every tick.

The caller owns the transaction (app.watcher); due rows are claimed with SKIP LOCKED, so
instances sweeping at once share the work and never fire one deadline twice.
"""

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import lifecycle, locks
from app.cases.locks import Locked
from app.models import Deadline
from app.observability import metrics
from app.observability.context import on_commit
from app.repositories import deadlines
from app.rules_engine.engine import RulesEngine
from app.services import payout_disputes

log = logging.getLogger(__name__)

# Fires one claimed deadline, its case locked in the one order; returns whether it was
# missed (False: the awaited thing turned out to be done, or no longer awaited, and the
# deadline was settled so).
Fire = Callable[[AsyncSession, RulesEngine, Locked, Deadline, str], Awaitable[bool]]


async def _resolution_missed(
    session: AsyncSession, _: RulesEngine, locked: Locked, deadline: Deadline, watcher: str
) -> bool:
    return await lifecycle.resolution_missed(session, locked, deadline, watcher)


# What a missed deadline of each kind does. Kinds not listed are never claimed, so an
# instance running older code leaves newer kinds to instances that know them.
HANDLERS: dict[str, Fire] = {
    lifecycle.VENDOR_RESPONSE: payout_disputes.vendor_response_missed,
    lifecycle.RESOLUTION: _resolution_missed,
}


async def fire_due(session: AsyncSession, engine: RulesEngine, watcher: str, limit: int) -> int:
    """Claims up to ``limit`` due deadlines and fires each; returns how many fired."""
    fired = 0
    for deadline in await deadlines.claim_due(session, tuple(HANDLERS), limit):
        try:
            # A savepoint each: one deadline that cannot fire leaves the rest of the batch to
            # commit, and stays due for the next tick.
            async with session.begin_nested():
                locked = await locks.lock_case(session, deadline.case_id)
                fire = HANDLERS[deadline.kind]
                missed = await fire(session, engine, locked, deadline, watcher)
            if missed:
                on_commit(metrics.DEADLINES_MISSED.labels(deadline.kind).inc)
            fired += 1
        except Exception:
            log.exception(
                "deadline %s (%s, case %s) could not fire; retrying next tick",
                deadline.id,
                deadline.kind,
                deadline.case_id,
            )
    return fired
