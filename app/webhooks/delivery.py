"""Delivers the outbox to webhook endpoints (Standard Webhooks), at least once, in feed order.

Each endpoint walks the events feed on its own, with the feed's own order and visibility
(app.events.repository): by writing transaction, then id, finished transactions only, so
no event is skipped or comes out of order. Head of line: an endpoint's next event waits
until the one before it is delivered or given up. One instance at a time holds an endpoint,
by a lease in the database; the HTTP call runs outside any transaction, and a lease that
runs out (its instance died) lets another instance send the message again, with the same
``webhook-id``.

The sender (app.watcher.WebhookSender) runs the steps, each of its own transaction:
:func:`claim`, then for each endpoint :func:`next_job`, :func:`send`, :func:`record`, ….
"""

import asyncio
import base64
import logging
import math
import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from app.events import repository as events
from app.events.schemas import EventOut
from app.ids import new_id
from app.models import Event, WebhookAttempt, WebhookEndpoint, WebhookMessage
from app.observability import metrics
from app.observability.context import on_commit
from app.webhooks import repository as webhooks
from app.webhooks.schemas import ALL_TYPES

log = logging.getLogger(__name__)

# Feed events read at a time while skipping those an endpoint does not take.
SCAN = 200
SCANS_PER_JOB = 10
RESPONSE_EXCERPT = 1000
USER_AGENT = "dispute-service-webhooks/1"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def takes(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return ALL_TYPES in endpoint.event_types or event_type in endpoint.event_types


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    max_delay_seconds: float
    horizon_seconds: float

    def next_attempt(
        self, first: datetime, failures: int, attempted: datetime, now: datetime
    ) -> datetime | None:
        """When to try again after ``failures`` failed attempts, the last one begun at
        ``attempted``; None: give up.

        The wait doubles from ``base_seconds`` up to ``max_delay_seconds``, each drawn from
        its upper half (jitter: endpoints that failed together do not all retry together).
        The last attempt begins at the horizon or after it, never only just before.
        """
        give_up_at = first + timedelta(seconds=self.horizon_seconds)
        if attempted >= give_up_at:
            return None
        delay = min(self.base_seconds * 2 ** min(failures - 1, 60), self.max_delay_seconds)
        delay *= random.uniform(0.5, 1.0)
        return max(now, min(now + timedelta(seconds=delay), give_up_at))


@dataclass(frozen=True)
class Job:
    """One attempt to make: everything the HTTP call needs, out of any session."""

    endpoint_id: str
    token: str
    url: str
    secret: str
    webhook_id: str
    body: bytes


@dataclass(frozen=True)
class Result:
    attempted_at: datetime
    duration_ms: int
    status: int | None = None
    body: str | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def claim(session: AsyncSession, token: str, limit: int, lease_seconds: float) -> list[str]:
    return await webhooks.claim(session, token, limit, lease_seconds)


async def next_job(
    session: AsyncSession, endpoint_id: str, token: str, lease_seconds: float
) -> Job | None:
    """The endpoint's head message, made from the next event it takes if none is pending;
    None when nothing is due, the endpoint was deleted, or the lease was lost."""
    endpoint = await webhooks.leased(session, endpoint_id, token, lease_seconds)
    if endpoint is None or endpoint.disabled_at is not None:
        return None
    message = await webhooks.pending(session, endpoint_id)
    if message is not None:
        # Due: the claim found it so, by the database's clock.
        event = await webhooks.event(session, message.event_id)
        assert event is not None  # a message's event is a foreign key
    else:
        found = await _next_event(session, endpoint)
        if found is None:
            return None
        event = found
        message = WebhookMessage(
            id=new_id("msg"),
            endpoint_id=endpoint.id,
            event_id=event.id,
            event_xid=event.xid,
            event_type=event.type,
            status="pending",
            attempts=0,
            next_attempt_at=_now(),
        )
        await webhooks.add(session, message)
        endpoint.next_attempt_at = message.next_attempt_at
    return Job(
        endpoint_id=endpoint.id,
        token=token,
        url=endpoint.url,
        secret=endpoint.secret,
        webhook_id=message.id,
        body=EventOut.model_validate(event).model_dump_json().encode(),
    )


async def _next_event(session: AsyncSession, endpoint: WebhookEndpoint) -> Event | None:
    """The first event past the endpoint's position that it takes; the position moves past
    the ones it does not take, so they are read once."""
    for _ in range(SCANS_PER_JOB):
        rows = await events.after(
            session, (endpoint.position_xid, endpoint.position_event_id), SCAN
        )
        for event in rows:
            if takes(endpoint, event.type):
                return event
            endpoint.position_xid, endpoint.position_event_id = event.xid, event.id
        if len(rows) < SCAN:
            break
    return None


async def send(client: httpx.AsyncClient, job: Job, timeout_seconds: float) -> Result:
    """POSTs the message, signed; never raises for what the receiver or network does."""
    # Whole seconds, as the header carries them, so the signed time is the sent one.
    timestamp = datetime.fromtimestamp(math.floor(time.time()), UTC)
    body = job.body.decode()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": job.webhook_id,
        "webhook-timestamp": str(math.floor(timestamp.timestamp())),
        "webhook-signature": Webhook(job.secret).sign(job.webhook_id, timestamp, body),
    }
    started = time.monotonic()
    attempted_at = datetime.now(UTC)

    def took() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        # httpx's timeouts are per read; this one bounds the whole attempt, a receiver that
        # trickles its answer included.
        async with asyncio.timeout(timeout_seconds):
            request = client.build_request("POST", job.url, content=job.body, headers=headers)
            response = await client.send(request, stream=True)
            try:
                excerpt = await _excerpt(response)
            finally:
                await response.aclose()
    except TimeoutError:
        return Result(attempted_at, took(), error=f"no answer within {timeout_seconds:g} s")
    except (httpx.HTTPError, httpx.InvalidURL, OSError, UnicodeError) as exc:
        return Result(attempted_at, took(), error=_clean(f"{type(exc).__name__}: {exc}"))
    return Result(attempted_at, took(), status=response.status_code, body=excerpt)


async def _excerpt(response: httpx.Response) -> str:
    """The answer's first characters: enough to debug a receiver, never its whole body."""
    read = b""
    async for chunk in response.aiter_bytes():
        read += chunk
        if len(read) >= RESPONSE_EXCERPT * 4:
            break
    return _clean(read.decode("utf-8", errors="replace"))


def _clean(text: str) -> str:
    return text.replace("\x00", "")[:RESPONSE_EXCERPT]


async def record(session: AsyncSession, job: Job, result: Result, retry: RetryPolicy) -> bool:
    """Stores the attempt and what follows from it; True when the endpoint's next message
    may be sent at once (this one delivered or given up, the lease still held)."""
    endpoint = await webhooks.leased(session, job.endpoint_id, job.token, None)
    if endpoint is None:
        # Another instance took the endpoint over and sends the message again: at least once.
        log.warning("webhook %s: lease lost; the attempt's result is dropped", job.webhook_id)
        return False
    message = await webhooks.message(session, job.webhook_id)
    assert message is not None and message.status == "pending"
    now = datetime.now(UTC)
    message.attempts += 1
    message.first_attempt_at = message.first_attempt_at or result.attempted_at
    next_at = None
    if result.delivered:
        outcome = "delivered"
    else:
        next_at = retry.next_attempt(
            message.first_attempt_at, message.attempts, result.attempted_at, now
        )
        outcome = "retrying" if next_at is not None else "gave_up"
    message.next_attempt_at = endpoint.next_attempt_at = next_at
    if next_at is None:
        message.status = "delivered" if result.delivered else "failed"
        message.finished_at = now
        endpoint.position_xid, endpoint.position_event_id = message.event_xid, message.event_id
    else:
        # Not due again before next_at: leave it to whichever instance claims it then.
        endpoint.lease_until = endpoint.lease_token = None
    await webhooks.add(
        session,
        WebhookAttempt(
            id=new_id("whatt"),
            message_id=message.id,
            endpoint_id=endpoint.id,
            number=message.attempts,
            attempted_at=result.attempted_at,
            duration_ms=result.duration_ms,
            response_status=result.status,
            response_body=result.body,
            error=result.error,
            outcome=outcome,
            next_attempt_at=next_at,
        ),
    )
    on_commit(metrics.WEBHOOK_ATTEMPTS.labels(outcome).inc)
    if outcome == "gave_up":
        log.warning("webhook %s to %s: given up", message.id, endpoint.id)
    return next_at is None and endpoint.disabled_at is None


async def release(session: AsyncSession, endpoint_id: str, token: str) -> None:
    await webhooks.release(session, endpoint_id, token)


def _now() -> datetime:
    return datetime.now(UTC)
