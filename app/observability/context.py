"""Per-request context that logs, events and metrics read without being handed it."""

import re
from collections.abc import Callable
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# A client's X-Request-ID is kept only when it is made of these (else one is made): nothing
# a log line would have to escape or mask.
PLAIN_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_after_commit: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "after_commit", default=None
)


def on_commit(callback: Callable[[], None]) -> None:
    """Runs ``callback`` once the request's transaction has committed, so metrics count only
    what really happened; outside a request transaction it runs at once."""
    pending = _after_commit.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


def collect_after_commit() -> tuple[list[Callable[[], None]], object]:
    pending: list[Callable[[], None]] = []
    return pending, _after_commit.set(pending)


def reset_after_commit(token: object) -> None:
    _after_commit.reset(token)  # type: ignore[arg-type]
