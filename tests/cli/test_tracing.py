"""OpenTelemetry: with OTEL_EXPORTER_OTLP_ENDPOINT set, a real server sends each request's
spans, under the caller's trace id, to the collector; unset, nothing of it is loaded."""

import gzip
import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.settings import PROJECT_ROOT
from tests.db import new_key
from tests.server import env_with, serving


class Collector:
    """An OTLP/HTTP collector on loopback that keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[tuple[Any, Any]] = []  # (span, its resource)
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    collector._keep(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _keep(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self._lock:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append((span, resource_spans.resource))

    def of_trace(self, trace_id: str) -> list[Any]:
        with self._lock:
            return [span for span, _ in self.spans if span.trace_id.hex() == trace_id]

    def resources(self) -> list[Any]:
        with self._lock:
            return [resource for _, resource in self.spans]


@pytest.fixture
def collector() -> Iterator[Collector]:
    stub = Collector()
    thread = threading.Thread(target=stub.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.server.shutdown()
        stub.server.server_close()


def _attributes(span: Any) -> dict[str, Any]:
    return {a.key: a.value.string_value or a.value.int_value for a in span.attributes}


def test_a_request_is_traced_under_the_callers_trace_id(
    database_url: str, collector: Collector
) -> None:
    env = env_with(
        DATABASE_URL=database_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",  # ms: send spans at once, not every 5 s
    )
    service = new_key(database_url, "service")
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    with serving(env) as server:
        response = httpx.get(
            f"{server.base}/v1/vendors/V-404",
            headers={**service, "traceparent": f"00-{trace_id}-{parent_id}-01"},
        )
        assert response.status_code == 404
        deadline = time.monotonic() + 20
        while not any(s.kind == s.SPAN_KIND_SERVER for s in collector.of_trace(trace_id)):
            assert time.monotonic() < deadline, "no server span arrived"
            time.sleep(0.1)
    spans = collector.of_trace(trace_id)
    (request,) = [s for s in spans if s.kind == s.SPAN_KIND_SERVER]
    assert request.parent_span_id.hex() == parent_id
    assert request.name == "GET /v1/vendors/{vendor_id}"
    assert _attributes(request)["http.response.status_code"] == 404
    # The key's lookup and the vendor's read, as children in the same trace.
    statements = [s for s in spans if s.kind == s.SPAN_KIND_CLIENT]
    assert statements, [s.name for s in spans]
    assert all("postgresql" in _attributes(s).values() for s in statements)
    services = {
        a.value.string_value
        for resource in collector.resources()
        for a in resource.attributes
        if a.key == "service.name"
    }
    assert services == {"dispute-service"}
    # Probes are not traced: the server was asked /ready until it answered.
    paths = {_attributes(span).get("url.path") for span, _ in collector.spans}
    assert "/ready" not in paths


_LOADED = """
import asyncio, json, sys
import httpx
from opentelemetry import trace
from app.main import create_app

app = create_app()

async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/health")).status_code == 200

asyncio.run(main())
print(json.dumps({
    "modules": sorted(m for m in sys.modules if m.startswith(
        ("opentelemetry.sdk", "opentelemetry.exporter", "opentelemetry.instrumentation"))),
    "provider": type(trace.get_tracer_provider()).__name__,
}))
"""


def _loaded(endpoint: str | None) -> dict[str, Any]:
    env = {k: v for k, v in env_with().items() if not k.startswith("OTEL_")}
    if endpoint:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    done = subprocess.run(
        [sys.executable, "-c", _LOADED],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_without_an_endpoint_nothing_of_opentelemetry_is_loaded() -> None:
    unset = _loaded(None)
    assert unset["modules"] == []
    assert unset["provider"] == "ProxyTracerProvider"  # the API's no-op until one is set
    # The same check sees the SDK when tracing is on (nothing is sent: no collector runs,
    # and the app is never started).
    assert _loaded("http://127.0.0.1:9")["modules"] != []
