"""Idempotency-Key on POSTs: the key as a client sent it, the request it names (its hash),
and the stored answers, locked per caller and key."""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import Request
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.schemas import whole
from app.errors import InvalidRequest
from app.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


def key_of(sent: str) -> str:
    """The key as the client wrote it: the header's text without the whitespace around it
    (no part of a header's value, RFC 9110; a proxy may drop it), read as UTF-8 (the server
    hands a header over as Latin-1). Blank, or with control characters, a key is a client's
    bug (an unset variable, a stray newline), not a key it could send again: refused before
    anything is stored."""
    try:
        key = sent.strip(" \t").encode("latin-1").decode("utf-8")
    except UnicodeError:
        key = ""  # not UTF-8: refused below, as it could be read as another key
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters in UTF-8, "
            "not only spaces.",
            "Idempotency-Key",
            "header",
        )
    return key


def _number(text: str) -> Any:
    """A JSON number with a fraction or an exponent, as a body reads it (app.api.schemas):
    40.0 and 4e1 are the 40 an integer field takes, so a retry spelling it so is the same
    request; 40.000000000000001 stays a fraction, as a field reads it."""
    value = whole(Decimal(text))
    return value if isinstance(value, int) else float(text)


def request_hash(request: Request, body: bytes) -> str:
    try:
        parsed = json.loads(body, parse_float=_number)
        canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, ArithmeticError):
        canonical = body
    return hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + canonical
    ).hexdigest()


async def try_lock(session: AsyncSession, principal: str, key: str) -> bool:
    """Takes a transaction-scoped lock on (caller, key); False while another request holds it."""
    locked = await session.scalar(
        select(func.pg_try_advisory_xact_lock(func.hashtextextended(text(":k"), 0))),
        {"k": f"{principal}:{key}"},
    )
    return bool(locked)


async def get(
    session: AsyncSession, principal: str, key: str, retention: timedelta
) -> IdempotencyRecord | None:
    """The stored answer, unless it is older than ``retention``.

    An expired record the sweeper has not reached yet is deleted here, in the request's own
    transaction (which holds the key's lock), so the request runs as a fresh one and stores
    its own answer under the key.
    """
    record = await session.get(IdempotencyRecord, (principal, key))
    if record is not None and record.created_at <= datetime.now(UTC) - retention:
        # A plain DELETE, not the unit of work's: the sweeper may have deleted the row
        # meanwhile, which the unit of work would report as an error.
        session.expunge(record)
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.principal == principal, IdempotencyRecord.key == key
            )
        )
        return None
    return record


async def add(session: AsyncSession, record: IdempotencyRecord) -> None:
    session.add(record)
    await session.flush()


# SKIP LOCKED: instances sweeping at once take different rows instead of waiting on each
# other, and a record whose key a request holds right now is left for the next sweep.
_SWEEP = text(
    """
    DELETE FROM idempotency_records
    WHERE (principal, key) IN (
        SELECT principal, key FROM idempotency_records
        WHERE created_at < now() - make_interval(secs => :seconds)
        ORDER BY created_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    """
)


async def delete_expired(session: AsyncSession, retention: timedelta, batch: int) -> int:
    """Deletes up to ``batch`` of the oldest records past ``retention``; returns how many."""
    result = await session.execute(_SWEEP, {"seconds": retention.total_seconds(), "batch": batch})
    return int(result.rowcount)  # type: ignore[attr-defined]
