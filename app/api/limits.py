"""What one client may ask of a process: bodies of bounded size, depth and time, and a
bounded number of requests a minute per API key."""

import asyncio
import time
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem

MAX_JSON_DEPTH = 32


def json_depth(body: bytes) -> int:
    """Deepest nesting of arrays and objects, skipping brackets inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


class BodyLimits:
    """``larger``: paths whose bodies may be bigger (a batch endpoint), with their limit.

    ``timeout_seconds`` bounds the time from the request's start to its body's last byte: a
    client sending a few bytes a minute would otherwise hold its connection, and a slot of
    the server's graceful shutdown, for as long as it likes.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        max_depth: int = MAX_JSON_DEPTH,
        larger: Mapping[str, int] | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.larger = dict(larger or {})
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(scope, receive, send, limit)
            return
        # Bodies are bounded (a few MB at most), so reading one whole before the app is
        # cheap, and lets the nesting be checked before the JSON parser recurses into it.
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout_seconds):
                while size <= limit:
                    message = await receive()
                    if message["type"] != "http.request":
                        break
                    chunks.append(message.get("body", b""))
                    size += len(chunks[-1])
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await self._too_slow(scope, receive, send)
            return
        if size > limit:
            await self._too_large(scope, receive, send, limit)
            return
        body = b"".join(chunks)
        brackets = body.count(b"[") + body.count(b"{")
        if brackets > self.max_depth and json_depth(body) > self.max_depth:
            response = problem(
                scope,
                400,
                "too-deeply-nested",
                f"JSON may nest at most {self.max_depth} levels.",
            )
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(
            scope, 413, "payload-too-large", f"Bodies are limited to {limit} bytes here."
        )
        await response(scope, receive, send)

    async def _too_slow(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The rest of the body may still arrive: the connection cannot carry another request.
        response = problem(
            scope,
            408,
            "request-timeout",
            f"The whole body must arrive within {self.timeout_seconds:g} s of the request.",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


class RateLimiter:
    """A token bucket per API key, in this process: ``per_minute`` requests may come at once,
    and they come back at ``per_minute`` a minute. 0 means no limit.

    Counted per process, not in the database: a shared count would cost every request a
    round trip, and the limit is a guard against a runaway client, not a quota. A key's
    limit across the service is therefore this times the number of processes serving it.
    """

    def __init__(self, per_minute: int, size: int = 10_000) -> None:
        self.per_minute = per_minute
        self.size = size
        self._rate = per_minute / 60.0  # requests a second
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: str) -> float:
        """Counts one request; returns 0 when it may go ahead, else the seconds to wait."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic()
        found = self._buckets.pop(key, None)
        if found is None:
            if len(self._buckets) >= self.size:
                self._buckets.pop(next(iter(self._buckets)))  # the longest idle
            tokens = float(self.per_minute)
        else:
            tokens = min(float(self.per_minute), found[0] + (now - found[1]) * self._rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self._rate
