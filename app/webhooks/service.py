"""Webhook endpoints: made with their secret (shown once), listed, deleted, and their attempts.

Delivering to them is app.webhooks.delivery.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.ids import new_id
from app.models import WebhookEndpoint
from app.webhooks import repository as webhooks
from app.webhooks.delivery import new_secret
from app.webhooks.schemas import WebhookAttemptOut, WebhookEndpointIn


async def create(session: AsyncSession, body: WebhookEndpointIn, actor: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        id=new_id("whep"),
        url=str(body.url),
        description=body.description,
        event_types=body.event_types,
        secret=new_secret(),
        created_by=actor,
    )
    await webhooks.add(session, endpoint)
    return endpoint


async def get(
    session: AsyncSession, endpoint_id: str, *, for_update: bool = False
) -> WebhookEndpoint:
    endpoint = await webhooks.get(session, endpoint_id, for_update=for_update)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return endpoint


async def live(
    session: AsyncSession, after: tuple[datetime, str] | None, limit: int
) -> Sequence[WebhookEndpoint]:
    return await webhooks.live(session, after, limit)


async def delete(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint:
    """Stops its deliveries: no attempt starts after this commits. Deleting again changes
    nothing; the endpoint and its attempts stay readable by id."""
    endpoint = await get(session, endpoint_id, for_update=True)
    if endpoint.disabled_at is None:
        endpoint.disabled_at = func.now()
        await session.flush()
        await session.refresh(endpoint, ["disabled_at"])
    return endpoint


async def attempts(
    session: AsyncSession, endpoint_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[WebhookAttemptOut]:
    await get(session, endpoint_id)
    return [
        WebhookAttemptOut(
            id=attempt.id,
            webhook_id=message.id,
            event_id=message.event_id,
            event_type=message.event_type,
            attempt=attempt.number,
            attempted_at=attempt.attempted_at,
            duration_ms=attempt.duration_ms,
            response_status=attempt.response_status,
            response_body=attempt.response_body,
            error=attempt.error,
            outcome=attempt.outcome,
            next_attempt_at=attempt.next_attempt_at,
        )
        for attempt, message in await webhooks.attempts(session, endpoint_id, after, limit)
    ]
