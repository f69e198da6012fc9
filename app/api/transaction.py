"""One transaction per request, committed once before the response is sent.

The route class, not the endpoint or a helper, opens and commits it. A GET reads in one
read-only snapshot (app.db.engine.make_snapshot_sessionmaker), so what it shows is the state
after some commit, never a mix of two. POSTs with an
Idempotency-Key store their response in the same transaction as their effects, so a replay
is exactly the first answer and a retry after a crash is a fresh, complete attempt.
"""

import hashlib
import json
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.transaction import transaction
from app.models import IdempotencyRecord
from app.repositories import idempotency
from app.services.errors import IdempotencyKeyInFlight, IdempotencyKeyReused, InvalidRequest

MAX_KEY_LENGTH = 255


def _request_hash(request: Request, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + canonical
    ).hexdigest()


def _principal(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    return hashlib.sha256(auth.encode()).hexdigest()


class TransactionRoute(APIRoute):
    # False for GETs that write as they read (a report keeps the weeks it has summed up).
    snapshot_reads: ClassVar[bool] = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = super().get_route_handler()
        snapshot_reads = self.snapshot_reads

        async def handler(request: Request) -> Response:
            state = request.app.state
            reads = snapshot_reads and request.method in ("GET", "HEAD")
            sessionmaker = state.snapshot_sessionmaker if reads else state.sessionmaker
            async with transaction(sessionmaker) as session:
                request.state.session = session
                return await _run(request, session, endpoint)

        return handler


async def _run(
    request: Request,
    session: AsyncSession,
    endpoint: Callable[[Request], Coroutine[Any, Any, Response]],
) -> Response:
    key = request.headers.get("idempotency-key")
    if request.method != "POST" or key is None:
        return await endpoint(request)
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
    principal = _principal(request)
    request_hash = _request_hash(request, await request.body())
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
