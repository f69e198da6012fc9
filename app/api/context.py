"""Outermost middleware: gives each request an id, logs it once, and counts it."""

import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.context import PLAIN_REQUEST_ID, request_id
from app.observability.metrics import REQUEST_SECONDS, REQUESTS

log = logging.getLogger("app.request")

HEADER = "x-request-id"


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER.encode(), b"").decode("latin-1")
        rid = given if PLAIN_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER.encode(), rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(route, scope["method"], str(status)).inc()
            REQUEST_SECONDS.labels(route, scope["method"]).observe(elapsed)
            log.info(
                "%s %s %s",
                scope["method"],
                route,
                status,
                extra={
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "method": scope["method"],
                    "route": route,
                },
            )
            request_id.reset(token)
