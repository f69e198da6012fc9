"""The background work every app instance runs: the deadline watcher and the report roller.

Both keep nothing in this process: deadlines are rows, and the report's rollup is tables,
so any instance, started at any time, does whatever is due, and a restart loses nothing.
Each tick is one transaction (the watcher: one per batch); a failed tick (the database is
away, say) is logged and the next tick retries.
"""

import asyncio
import logging
import os
import secrets
import socket

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.transaction import transaction
from app.reports import service as reports
from app.rules_engine.engine import RulesEngine
from app.rules_engine.policy import Policy
from app.services import deadlines

log = logging.getLogger(__name__)

BATCH_SIZE = 50
# A tick in progress finishes on shutdown; past this it is cancelled, which rolls its
# transaction back and leaves the work to the next tick of any instance.
STOP_TIMEOUT_SECONDS = 10.0
# The report roller keeps the weeks of a year's summary (and a week more) rolled.
ROLLED_WEEKS = 53


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
