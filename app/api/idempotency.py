from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import IdempotencyRecord


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
