"""Firing due deadlines: what each instance's watcher runs every tick.

The caller owns the transaction (app.watcher); due rows are claimed with SKIP LOCKED, so
instances sweeping at once share the work and never fire one deadline twice.
"""

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Deadline
from app.observability import metrics
from app.observability.context import on_commit
from app.repositories import deadlines
from app.rules_engine.engine import RulesEngine
from app.services import cases, payout_disputes

log = logging.getLogger(__name__)

# Fires one claimed deadline; returns whether it was missed (False: the awaited thing turned
# out to be done, or no longer awaited, and the deadline was settled so).
Fire = Callable[[AsyncSession, RulesEngine, Deadline, str], Awaitable[bool]]

# What a missed deadline of each kind does. Kinds not listed are never claimed, so an
# instance running older code leaves newer kinds to instances that know them.
HANDLERS: dict[str, Fire] = {
    cases.VENDOR_RESPONSE: payout_disputes.vendor_response_missed,
    cases.RESOLUTION: cases.resolution_missed,
}


async def fire_due(session: AsyncSession, engine: RulesEngine, watcher: str, limit: int) -> int:
    """Claims up to ``limit`` due deadlines and fires each; returns how many fired."""
    fired = 0
    for deadline in await deadlines.claim_due(session, tuple(HANDLERS), limit):
        try:
            # A savepoint each: one deadline that cannot fire leaves the rest of the batch to
            # commit, and stays due for the next tick.
            async with session.begin_nested():
                missed = await HANDLERS[deadline.kind](session, engine, deadline, watcher)
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
