"""Bounded HTTP load from concurrent clients against a real server on loopback."""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    call: Call
    status: int | None  # None: no answer at all (refused, reset, or timed out)
    seconds: float
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)


async def send(client: httpx.AsyncClient, base: str, call: Call) -> Answer:
    started = time.monotonic()
    try:
        response = await client.request(
            call.method, f"{base}{call.path}", json=call.body, headers=call.headers
        )
    except httpx.HTTPError as exc:
        return Answer(call, None, time.monotonic() - started, error=type(exc).__name__)
    return Answer(
        call,
        response.status_code,
        time.monotonic() - started,
        response.content,
        {name.lower(): value for name, value in response.headers.items()},
    )


async def drive(
    base: str,
    jobs: Iterable[Sequence[Call]],
    *,
    clients: int,
    request_timeout: float,
    on_answer: Callable[[Answer], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
) -> list[Answer]:
    """Runs ``jobs`` on ``clients`` concurrent clients until they run out or ``stop`` is set.

    One client runs a job's calls in order and drops the rest of the job at the first answer
    that is not 2xx (a PUT that failed is not followed by its POST). Every request is bounded
    by ``request_timeout``; one that gets no answer is recorded, not retried.
    """
    answers: list[Answer] = []
    pending = iter(jobs)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(timeout=request_timeout, limits=limits) as client:

        async def one_client() -> None:
            for job in pending:
                for call in job:
                    if stop is not None and stop.is_set():
                        return
                    answer = await send(client, base, call)
                    answers.append(answer)
                    if on_answer is not None:
                        await on_answer(answer)
                    if not answer.ok:
                        break

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return answers


async def wait_until(
    condition: Callable[[], bool], *, within: float, what: str, step: float = 0.05
) -> None:
    """Polls ``condition`` until it holds; fails the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(step)
