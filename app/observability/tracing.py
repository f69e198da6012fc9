"""OpenTelemetry traces, only when OTEL_EXPORTER_OTLP_ENDPOINT names a collector.

Unset (the default), nothing here is imported beyond this module, FastAPI's own telemetry
is switched off, and no request pays for tracing. Set, each request is a server span (a
W3C ``traceparent`` header makes it a child of the caller's span), with FastAPI's spans for
its dependencies and endpoint and one span per SQL statement, sent over OTLP/HTTP in
batches by a background thread. The standard OTEL_* variables (OTEL_SERVICE_NAME,
OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, OTEL_BSP_*) are honoured.
"""

import os
from collections.abc import MutableMapping
from typing import Any

from fastapi.telemetry import TelemetryConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

SERVICE_NAME = "dispute-service"
# Load balancers and orchestrators call these every few seconds: spans of no interest.
_UNTRACED = frozenset({"/health", "/ready"})

OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in _UNTRACED


class Tracing:
    """One process's tracer provider and what it instruments."""

    def __init__(self, endpoint: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        traces = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
            f"{endpoint.rstrip('/')}/v1/traces"
        )
        name = os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME
        self.provider: TracerProvider = TracerProvider(
            resource=Resource.create({"service.name": name})
        )
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))

    def fastapi_config(self) -> TelemetryConfig:
        """FastAPI's native telemetry, with this provider and nothing but traces."""
        return {
            "tracer_provider": self.provider,
            "metrics": False,
            "logs": False,
            "auto_configure": False,
            "exclude": _untraced,
        }

    def instrument(self, engine: AsyncEngine) -> None:
        """A span for each SQL statement the engine sends, a child of the request's span."""
        _trace_statements(engine, self.provider.get_tracer("app.db"))

    def shutdown(self) -> None:
        """Sends the spans still queued, then stops the exporter's thread."""
        self.provider.shutdown()


_SPAN = "_otel_span"  # where a statement's span waits for the statement to end


def _trace_statements(engine: AsyncEngine, tracer: Any) -> None:
    # SQLAlchemy's own events, rather than opentelemetry-instrumentation-sqlalchemy, which
    # declines SQLAlchemy 2.1. Statements carry $n placeholders, never the values bound to
    # them, so no phone number or amount reaches a span.
    from opentelemetry.trace import SpanKind, StatusCode

    url = engine.sync_engine.url
    found = {
        "db.system.name": "postgresql",
        "db.namespace": url.database,
        "server.address": url.host,
        "server.port": url.port,
    }
    common = {k: v for k, v in found.items() if v is not None}

    def before(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        words = statement.split(None, 1)
        operation = words[0].upper() if words else "SQL"
        span = tracer.start_span(
            f"{operation} {url.database or ''}".strip(),
            kind=SpanKind.CLIENT,
            attributes={**common, "db.operation.name": operation, "db.query.text": statement},
        )
        if context is not None:
            setattr(context, _SPAN, span)
        else:
            span.end()

    def after(
        _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        span = getattr(context, _SPAN, None)
        if span is None:
            return
        # A statement sent to asyncpg directly (app.db.driver) ends here also when it failed.
        error = getattr(context, "error", None)
        if error is not None:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(StatusCode.ERROR)
        span.end()

    def failed(error: Any) -> None:
        span = getattr(error.execution_context, _SPAN, None)
        if span is not None:
            span.set_attribute("error.type", type(error.original_exception).__name__)
            span.set_status(StatusCode.ERROR)
            span.end()

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    event.listen(engine.sync_engine, "handle_error", failed)


def tracing(endpoint: str | None) -> Tracing | None:
    return Tracing(endpoint) if endpoint else None
