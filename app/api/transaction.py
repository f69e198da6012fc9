"""One transaction per request, committed once before the response is sent.

The route class, not the endpoint or a helper, opens and commits it. A GET reads in one
read-only snapshot (app.db.engine.make_snapshot_sessionmaker), so what it shows is the state
after some commit, never a mix of two. POSTs with an
Idempotency-Key store their response in the same transaction as their effects, so a replay
is exactly the first answer and a retry after a crash is a fresh, complete attempt.
"""

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.api import idempotency
from app.api.deps import authenticate
from app.api.json_body import read_exactly
from app.db.transaction import transaction
from app.errors import (
    Busy,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
)
from app.models import IdempotencyRecord
from app.observability.metrics import TRANSACTION_CONFLICTS

log = logging.getLogger(__name__)

# A deadlock or a serialization failure undoes the whole transaction and nothing else: the
# request is run again from the start, a few times, before the client is told to retry.
# Each conflict is named as /metrics counts it (transaction_conflicts_total) and the log says.
RETRIED_SQLSTATES = {"40P01": "deadlock", "40001": "serialization_failure"}
# So does a second running clock of a kind on a case (its unique index): the first is one a
# watcher claimed (a request skips those) and settles as soon as this transaction lets go
# of the vendor's row it waits for, and the request run again then finds it settled.
# And so does a first snapshot of a new order that meets the same order inserted at once
# for another vendor: each locked only the vendor it names, the order not yet saying which
# else; the one run again finds the order and locks both vendors.
RETRIED_UNIQUE = {"uq_deadlines_running": "running_clock", "pk_orders": "order_created"}
SAID = {
    "deadlock": "deadlocked",
    "serialization_failure": "not serializable",
    "running_clock": "met a clock a watcher holds",
    "order_created": "met the same new order created at once",
}
UNIQUE_VIOLATION = "23505"
ATTEMPTS = 4
BACKOFF_SECONDS = 0.02


def _conflict(exc: DBAPIError) -> str | None:
    """What a retried conflict was, or None when the error is not one to run again for."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate == UNIQUE_VIOLATION:
        # The adapter's error is raised from asyncpg's, which names the index.
        raised_from = getattr(exc.orig, "__cause__", None)
        return RETRIED_UNIQUE.get(getattr(raised_from, "constraint_name", None) or "")
    return RETRIED_SQLSTATES.get(sqlstate or "")


class TransactionRoute(APIRoute):
    # False for GETs that write as they read (a report keeps the weeks it has summed up).
    snapshot_reads: ClassVar[bool] = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = super().get_route_handler()
        snapshot_reads = self.snapshot_reads

        async def handler(request: Request) -> Response:
            await read_exactly(request)
            state = request.app.state
            reads = snapshot_reads and request.method in ("GET", "HEAD")
            sessionmaker = state.snapshot_sessionmaker if reads else state.sessionmaker
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    async with transaction(sessionmaker) as session:
                        request.state.session = session
                        return await _run(request, session, endpoint)
                except DBAPIError as exc:
                    conflict = _conflict(exc)
                    if conflict is None:
                        raise
                    last = attempt == ATTEMPTS
                    TRANSACTION_CONFLICTS.labels(conflict, "gave_up" if last else "retried").inc()
                    log.warning(
                        "transaction %s (attempt %d of %d); %s",
                        SAID[conflict],
                        attempt,
                        ATTEMPTS,
                        "answering 409 busy" if last else "running the request again",
                    )
                    if not last:
                        await asyncio.sleep(BACKOFF_SECONDS * attempt * (1 + random.random()))
            raise Busy(
                "The request kept conflicting with concurrent requests on the same case and "
                "was not applied; retry it (with its Idempotency-Key)."
            )

        return handler


async def _run(
    request: Request,
    session: AsyncSession,
    endpoint: Callable[[Request], Coroutine[Any, Any, Response]],
) -> Response:
    sent = request.headers.get("idempotency-key")
    if request.method != "POST" or sent is None:
        return await endpoint(request)
    # A stored answer is only ever given to the key that made it, after that key is checked:
    # a revoked key gets 401, not a replay. The scope is the key's id, not its header text.
    principal = (await authenticate(request, session)).key_id
    key = idempotency.key_of(sent)
    request_hash = idempotency.request_hash(request, await request.body())
    if not await idempotency.try_lock(session, principal, key):
        raise IdempotencyKeyInFlight(
            "A request with this Idempotency-Key is still being processed; retry."
        )
    stored = await idempotency.get(session, principal, key, request.app.state.idempotency_retention)
    if stored is not None:
        if stored.request_hash != request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with a different request body."
            )
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type=stored.content_type,
            headers={"Idempotent-Replayed": "true"},
        )
    response = await endpoint(request)
    await idempotency.add(
        session,
        IdempotencyRecord(
            principal=principal,
            key=key,
            request_hash=request_hash,
            status_code=response.status_code,
            content_type=response.media_type or "application/json",
            body=bytes(response.body),
        ),
    )
    return response


class WritingReadRoute(TransactionRoute):
    """GETs in a read-write transaction of their own."""

    snapshot_reads = False
