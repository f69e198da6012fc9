"""Refuses oversized or absurdly nested bodies before anything parses them."""

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
    """``larger``: paths whose bodies may be bigger (a batch endpoint), with their limit."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        max_depth: int = MAX_JSON_DEPTH,
        larger: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.larger = dict(larger or {})

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
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await self._too_large(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        brackets = body.count(b"[") + body.count(b"{")
        if brackets > self.max_depth and json_depth(body) > self.max_depth:
            response = problem(
                400,
                "too-deeply-nested",
                "Request body nested too deeply",
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
            413,
            "payload-too-large",
            "Request body too large",
            f"Bodies are limited to {limit} bytes here.",
        )
        await response(scope, receive, send)
