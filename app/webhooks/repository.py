"""Webhook endpoints, their messages and attempts: what the endpoints' API and the sender ask."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, and_, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.keyset import newest_first
from app.models import Event, WebhookAttempt, WebhookEndpoint, WebhookMessage


async def add(
    session: AsyncSession, row: WebhookEndpoint | WebhookMessage | WebhookAttempt
) -> None:
    session.add(row)
    await session.flush()


async def get(
    session: AsyncSession, endpoint_id: str, *, for_update: bool = False
) -> WebhookEndpoint | None:
    query = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    if for_update:
        query = query.with_for_update()
    endpoint: WebhookEndpoint | None = await session.scalar(query)
    return endpoint


def live_listing(after: tuple[datetime, str] | None, limit: int) -> Select[Any]:
    """Endpoints not deleted, newest first (served by ix_webhook_endpoints_live_created)."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.disabled_at.is_(None))
    return newest_first(query, WebhookEndpoint.created_at, WebhookEndpoint.id, after, limit)


async def live(
    session: AsyncSession, after: tuple[datetime, str] | None, limit: int
) -> Sequence[WebhookEndpoint]:
    return (await session.scalars(live_listing(after, limit))).all()


def attempts_listing(
    endpoint_id: str, after: tuple[datetime, str] | None, limit: int
) -> Select[Any]:
    """An endpoint's attempts with their message, newest first (by
    ix_webhook_attempts_endpoint_attempted)."""
    query = (
        select(WebhookAttempt, WebhookMessage)
        .join(WebhookMessage, WebhookMessage.id == WebhookAttempt.message_id)
        .where(WebhookAttempt.endpoint_id == endpoint_id)
    )
    # newest_first takes a one-entity Select; the row shape does not matter to it.
    return newest_first(
        cast("Select[Any]", query), WebhookAttempt.attempted_at, WebhookAttempt.id, after, limit
    )


async def attempts(
    session: AsyncSession, endpoint_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[tuple[WebhookAttempt, WebhookMessage]]:
    rows = (await session.execute(attempts_listing(endpoint_id, after, limit))).all()
    return [(attempt, message) for attempt, message in rows]


# The sender's queries. They take a lease, not a lock held across the HTTP call: a
# transaction that locks a row takes an xid, and the feed holds back every event of a later
# transaction until it ends, so a lock held for a slow receiver would stall the whole feed.


async def claim(session: AsyncSession, token: str, limit: int, lease_seconds: float) -> list[str]:
    """Leases up to ``limit`` endpoints with work due, for ``lease_seconds``; returns their ids.

    Work is due when the message at the head is due again, or, with none, when the feed has
    an event past the endpoint's position (the feed's own visibility: finished transactions
    only). SKIP LOCKED lets every instance claim at once; a lease that runs out (its holder
    died) makes the endpoint claimable again.
    """
    endpoint = WebhookEndpoint
    visible = (
        select(Event.id)
        .where(
            tuple_(Event.xid, Event.id) > tuple_(endpoint.position_xid, endpoint.position_event_id),
            Event.xid < func.pg_snapshot_xmin(func.pg_current_snapshot()),
        )
        .exists()
    )
    due = or_(
        endpoint.next_attempt_at <= func.now(),
        and_(endpoint.next_attempt_at.is_(None), visible),
    )
    candidates = (
        select(endpoint.id)
        .where(
            endpoint.disabled_at.is_(None),
            or_(endpoint.lease_until.is_(None), endpoint.lease_until < func.now()),
            due,
        )
        .order_by(endpoint.next_attempt_at.nulls_first(), endpoint.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.scalars(
        update(endpoint)
        .where(endpoint.id.in_(candidates.scalar_subquery()))
        .values(lease_until=func.now() + _seconds(lease_seconds), lease_token=token)
        .returning(endpoint.id)
    )
    return list(claimed)


async def leased(
    session: AsyncSession, endpoint_id: str, token: str, lease_seconds: float | None
) -> WebhookEndpoint | None:
    """The endpoint locked, if ``token`` still holds its lease; the lease renewed when
    ``lease_seconds`` is given. None once another instance has taken it over."""
    endpoint: WebhookEndpoint | None = await session.scalar(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_token == token)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if endpoint is not None and lease_seconds is not None:
        endpoint.lease_until = func.now() + _seconds(lease_seconds)
    return endpoint


async def release(session: AsyncSession, endpoint_id: str, token: str) -> None:
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_token == token)
        .values(lease_until=None, lease_token=None)
    )


async def pending(session: AsyncSession, endpoint_id: str) -> WebhookMessage | None:
    message: WebhookMessage | None = await session.scalar(
        select(WebhookMessage).where(
            WebhookMessage.endpoint_id == endpoint_id, WebhookMessage.status == "pending"
        )
    )
    return message


async def message(session: AsyncSession, message_id: str) -> WebhookMessage | None:
    return await session.get(WebhookMessage, message_id)


async def event(session: AsyncSession, event_id: int) -> Event | None:
    return await session.get(Event, event_id)


def _seconds(seconds: float) -> Any:
    return func.make_interval(0, 0, 0, 0, 0, 0, seconds)
