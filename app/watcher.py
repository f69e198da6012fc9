"""The background work every app instance runs: the deadline watcher, the report roller and
the recorder of the keys' last use, the sweeper of expired idempotency records and the
webhook sender.

They keep nothing in this process that matters: deadlines are rows, the report's rollup is
tables, and each webhook endpoint's place in the feed is on its row, so any instance,
started at any time, does whatever is due, and a restart loses nothing. The recorder keeps
only which keys were used since its last write: a crash loses at most that much of their
last use.
Each tick is one transaction (the watcher: one per batch); a failed tick (the database is
away, say) is logged and the next tick retries.
"""

import asyncio
import logging
import os
import secrets
import socket
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api import idempotency
from app.api.deps import KeyUse
from app.cases import deadlines
from app.db.transaction import transaction
from app.keys import service as keys
from app.reports import service as reports
from app.rules_engine.engine import RulesEngine
from app.rules_engine.policy import Policy
from app.settings import Settings
from app.webhooks import delivery as webhook_delivery

log = logging.getLogger(__name__)

BATCH_SIZE = 50
# A tick in progress finishes on shutdown; past this it is cancelled, which rolls its
# transaction back and leaves the work to the next tick of any instance.
STOP_TIMEOUT_SECONDS = 10.0
# The report roller keeps the weeks of a year's summary (and a week more) rolled.
ROLLED_WEEKS = 53
# Expired idempotency records go this many at a time, each batch its own short transaction,
# so a sweep of a large backlog never holds many row locks or one long transaction.
SWEEP_BATCH_SIZE = 500
# How often each instance sweeps. A late sweep is harmless: an expired record is already
# treated as absent by the request that finds it.
SWEEP_INTERVAL_SECONDS = 300.0
# The webhook sender serves this many endpoints of an instance at once, and sends each at most
# this many messages in a row before it lets the endpoint go (another instance may take it).
WEBHOOK_ENDPOINTS_AT_ONCE = 8
WEBHOOK_MESSAGES_PER_CLAIM = 50


class PeriodicTask:
    """Runs ``tick`` at start and then every ``interval_seconds``, until stopped."""

    what = "periodic task"

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], interval_seconds: float
    ) -> None:
        self._sessionmaker = sessionmaker
        self._interval = interval_seconds
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.what)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._task, STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("%s did not stop in %ss; cancelled", self.what, STOP_TIMEOUT_SECONDS)

    async def tick(self) -> int:
        raise NotImplementedError

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("%s: tick failed; retrying in %ss", self.what, self._interval)
            try:
                await asyncio.wait_for(self._stopping.wait(), self._interval)
            except TimeoutError:
                pass


class DeadlineWatcher(PeriodicTask):
    what = "deadline watcher"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: RulesEngine,
        interval_seconds: float,
    ) -> None:
        super().__init__(sessionmaker, interval_seconds)
        self._engine = engine
        # Recorded in the decisions it makes, so an escalation says which instance fired it
        # (a process restarted, or a test, may reuse a pid).
        self.name = f"watcher:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"

    async def tick(self) -> int:
        """Fires every due deadline, batch by batch; returns how many fired."""
        fired = 0
        while not self.stopping:
            async with transaction(self._sessionmaker) as session:
                batch = await deadlines.fire_due(session, self._engine, self.name, BATCH_SIZE)
            fired += batch
            if batch < BATCH_SIZE:
                break
        return fired


class ReportRoller(PeriodicTask):
    """Rolls the summary report's finished spans (app.reports.rollup) before any
    report asks for them, so that a report reads them instead of waiting while they roll.
    One instance rolls at a time; the others skip their tick."""

    what = "report roller"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        policy: Policy,
        interval_seconds: float,
    ) -> None:
        super().__init__(sessionmaker, interval_seconds)
        self._policy = policy

    async def tick(self) -> int:
        """Returns how many spans it rolled (0 also when another instance was rolling)."""
        async with transaction(self._sessionmaker) as session:
            rolled = await reports.roll_ahead(session, self._policy, ROLLED_WEEKS, wait=False)
        if rolled:
            log.info("report roller: rolled %d spans", rolled)
        return rolled or 0


class KeyUseRecorder(PeriodicTask):
    """Writes when this instance's keys were last used (app.api.deps.KeyUse): one statement
    every ``interval_seconds`` for all the keys it served, none when it served none, and a
    last one as it stops. A request only notes its key in memory."""

    what = "key use recorder"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        use: KeyUse,
        interval_seconds: float,
    ) -> None:
        super().__init__(sessionmaker, interval_seconds)
        self._use = use

    async def tick(self) -> int:
        """Returns how many keys it recorded."""
        used = self._use.take()
        if not used:
            return 0
        try:
            async with transaction(self._sessionmaker) as session:
                await keys.record_use(session, used, self._interval)
        except BaseException:
            self._use.give_back(used)
            raise
        return len(used)

    async def stop(self) -> None:
        await super().stop()
        try:
            await self.tick()
        except Exception:
            log.exception("%s: could not record the last uses on stopping", self.what)


class IdempotencySweeper(PeriodicTask):
    """Deletes stored Idempotency-Key answers older than the retention, oldest first."""

    what = "idempotency sweeper"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        retention: timedelta,
        interval_seconds: float = SWEEP_INTERVAL_SECONDS,
        batch_size: int = SWEEP_BATCH_SIZE,
    ) -> None:
        super().__init__(sessionmaker, interval_seconds)
        self._retention = retention
        self._batch_size = batch_size

    async def tick(self) -> int:
        """Returns how many records it deleted."""
        deleted = 0
        while not self.stopping:
            async with transaction(self._sessionmaker) as session:
                batch = await idempotency.delete_expired(session, self._retention, self._batch_size)
            deleted += batch
            if batch < self._batch_size:
                break
        if deleted:
            log.info("idempotency sweeper: deleted %d expired records", deleted)
        return deleted


class WebhookSender(PeriodicTask):
    """Delivers the outbox to webhook endpoints (app.webhooks.delivery): leases the
    endpoints with work due, and sends each one's messages in feed order, one at a time."""

    what = "webhook sender"

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        super().__init__(sessionmaker, settings.webhook_poll_interval_seconds)
        self._timeout = settings.webhook_request_timeout_seconds
        # Twice the attempt it covers, so its result is recorded well within it; a lease that
        # runs out anyway (the instance died or stalled) means one more delivery of the
        # message, with the same webhook-id, by whichever instance takes the endpoint next.
        self._lease = 2 * self._timeout
        self._retry = webhook_delivery.RetryPolicy(
            base_seconds=settings.webhook_retry_base_seconds,
            max_delay_seconds=settings.webhook_retry_max_delay_seconds,
            horizon_seconds=settings.webhook_retry_horizon_seconds,
        )
        # Redirects are not followed: a 3xx is a failed attempt, as receivers are told.
        self._http = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)

    async def stop(self) -> None:
        await super().stop()
        await self._http.aclose()

    async def tick(self) -> int:
        """Sends until nothing is due; returns how many attempts it made.

        Up to WEBHOOK_ENDPOINTS_AT_ONCE endpoints are served at once, and one that is done
        frees its place for the next with work due, so a slow receiver holds up only its own
        messages.
        """
        running: set[asyncio.Task[int]] = set()
        sent = 0
        try:
            while not self.stopping:
                if len(running) < WEBHOOK_ENDPOINTS_AT_ONCE:
                    running |= await self._claim(WEBHOOK_ENDPOINTS_AT_ONCE - len(running))
                if not running:
                    break
                done, running = await asyncio.wait(
                    running, timeout=self._interval, return_when=asyncio.FIRST_COMPLETED
                )
                sent += _attempts(done)
        except asyncio.CancelledError:
            # Stopped too slowly: the attempts in hand are dropped; their leases run out and
            # another instance sends them again.
            for task in running:
                task.cancel()
            raise
        finally:
            if running:
                sent += _attempts((await asyncio.wait(running))[0])
        return sent

    async def _claim(self, slots: int) -> set[asyncio.Task[int]]:
        token = secrets.token_hex(16)
        async with transaction(self._sessionmaker) as session:
            claimed = await webhook_delivery.claim(session, token, slots, self._lease)
        return {asyncio.create_task(self._serve(e, token), name=f"webhook {e}") for e in claimed}

    async def _serve(self, endpoint_id: str, token: str) -> int:
        """Sends the endpoint's due messages in order while they succeed (or are given up)."""
        sent = 0
        more = True
        while more and sent < WEBHOOK_MESSAGES_PER_CLAIM and not self.stopping:
            async with transaction(self._sessionmaker) as session:
                job = await webhook_delivery.next_job(session, endpoint_id, token, self._lease)
            if job is None:
                break
            result = await webhook_delivery.send(self._http, job, self._timeout)
            async with transaction(self._sessionmaker) as session:
                more = await webhook_delivery.record(session, job, result, self._retry)
            sent += 1
        async with transaction(self._sessionmaker) as session:
            await webhook_delivery.release(session, endpoint_id, token)
        return sent


def _attempts(done: set[asyncio.Task[int]]) -> int:
    """The attempts finished tasks made; a task that failed (the database went away, say) is
    logged, and its endpoint's lease runs out for any instance to take it up again."""
    count = 0
    for task in done:
        if task.cancelled():
            continue
        if (failure := task.exception()) is not None:
            log.error("webhook sender: %s failed", task.get_name(), exc_info=failure)
        else:
            count += task.result()
    return count
