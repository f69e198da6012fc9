"""A webhook receiver on loopback, as a client of the service runs one: a real HTTP server
(in a thread of its own, so it answers while the test's event loop waits) that records every
request and answers as the test tells it."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


# Decides the answer to a request, given the requests of the same path received before it.
Answer = Callable[[Received, list[Received]], int]


def accept(_: Received, __: list[Received]) -> int:
    return 200


def fail_first(times: int) -> Answer:
    """500 to the first ``times`` requests of each message (by webhook-id), then 200."""

    def answer(request: Received, before: list[Received]) -> int:
        tried = sum(1 for r in before if r.webhook_id == request.webhook_id)
        return 500 if tried < times else 200

    return answer


class Receiver:
    def __init__(self, port: int) -> None:
        self.port = port
        self.answers: dict[str, Answer] = {}
        self.holds: dict[str, float] = {}
        self._received: list[Received] = []
        self._lock = threading.Lock()

    def url(self, path: str, answer: Answer = accept, hold_first: float = 0.0) -> str:
        """The URL of ``path``, answered by ``answer``; the first request to it waits
        ``hold_first`` seconds before it is answered (it is recorded at once)."""
        self.answers[path] = answer
        self.holds[path] = hold_first
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.path == path]

    def accepted(self, path: str) -> list[Received]:
        return [r for r in self.received(path) if r.status == 200]

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, float]:
        with self._lock:
            before = [r for r in self._received if r.path == path]
            probe = Received(path, headers, body, 0)
            status = self.answers.get(path, accept)(probe, before)
            self._received.append(Received(path, headers, body, status))
            return status, 0.0 if before else self.holds.get(path, 0.0)


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1 until the block ends."""
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, hold = box[0]._answer(self.path, headers, body)
            time.sleep(hold)
            payload = b'{"ok": true}' if status == 200 else b"receiver down"
            self.send_response(status)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test's output stays the service's

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a sender that gave up on a held request has closed its end: expected

    server = Server(("127.0.0.1", 0), Handler)
    box.append(Receiver(server.server_address[1]))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
