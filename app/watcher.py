"""The deadline watcher every app instance runs.

Deadlines are rows, so nothing about them lives in this process: any instance, started at
any time, fires whatever is due, and a restart loses nothing. Each batch is one transaction
of its own; a failed tick (the database is away, say) is logged and the next tick retries.
"""

import asyncio
import logging
import os
import secrets
import socket

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.transaction import transaction
from app.rules_engine.engine import RulesEngine
from app.services import deadlines

log = logging.getLogger(__name__)

BATCH_SIZE = 50
# A tick in progress finishes its batch on shutdown; past this it is cancelled, which rolls
# its transaction back and leaves the deadlines due for another instance.
STOP_TIMEOUT_SECONDS = 10.0


class DeadlineWatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: RulesEngine,
        interval_seconds: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._engine = engine
        self._interval = interval_seconds
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Recorded in the decisions it makes, so an escalation says which instance fired it
        # (a process restarted, or a test, may reuse a pid).
        self.name = f"watcher:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="deadline-watcher")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._task, STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("deadline watcher did not stop in %ss; cancelled", STOP_TIMEOUT_SECONDS)

    async def tick(self) -> int:
        """Fires every due deadline, batch by batch; returns how many fired."""
        fired = 0
        while not self._stopping.is_set():
            async with transaction(self._sessionmaker) as session:
                batch = await deadlines.fire_due(session, self._engine, self.name, BATCH_SIZE)
            fired += batch
            if batch < BATCH_SIZE:
                break
        return fired

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("deadline watcher: tick failed; retrying in %ss", self._interval)
            try:
                await asyncio.wait_for(self._stopping.wait(), self._interval)
            except TimeoutError:
                pass
