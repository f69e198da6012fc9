"""Request ids in headers, log lines and events; keys and phone numbers never logged."""

import json
import logging
import os
import re

import pytest
from httpx import AsyncClient
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import lifecycle
from app.db import driver
from app.observability.logs import _SECRETS, JsonFormatter, redact
from tests.conftest import Headers
from tests.factories import file_fail_reason, put_order, verdict_body


async def test_every_response_carries_a_request_id(client: AsyncClient) -> None:
    generated = await client.get("/health")
    assert len(generated.headers["x-request-id"]) == 32
    given = await client.get("/health", headers={"X-Request-ID": "trace-42"})
    assert given.headers["x-request-id"] == "trace-42"
    # Something unsafe to echo into logs is replaced, not trusted.
    odd = await client.get("/health", headers={"X-Request-ID": "x" * 200})
    assert odd.headers["x-request-id"] != "x" * 200


async def test_events_carry_the_request_id(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1")
    response = await client.post(
        "/v1/orders/ORD-1/fail-reasons",
        json={"reason": "customer_changed_mind", "explanation": "x"},
        headers={**ops, "X-Request-ID": "req-fail-1"},
    )
    assert response.status_code == 201
    feed = (await client.get("/v1/events", headers=service)).json()["items"]
    mine = [e for e in feed if e["case_id"] == response.json()["id"]]
    assert mine and {e["request_id"] for e in mine} == {"req-fail-1"}


async def test_one_json_log_line_per_request_without_secrets(
    client: AsyncClient, service: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.request")
    await put_order(client, service, "ORD-1")
    response = await client.get("/v1/orders/ORD-1", headers={**service, "X-Request-ID": "r-9"})
    assert response.status_code == 200
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "app.request"]
    mine = [json.loads(line) for line in lines if '"r-9"' in line]
    assert len(mine) == 1
    assert mine[0]["route"] == "/v1/orders/{order_id}" and mine[0]["status"] == 200
    assert mine[0]["pid"] == os.getpid() and mine[0]["duration_ms"] >= 0
    assert (mine[0]["level"], mine[0]["logger"]) == ("INFO", "app.request")
    # What records no longer work out shows up nowhere, not even as a placeholder.
    assert not {"pathname", "filename", "lineno", "funcName", "threadName"} & set(mine[0])
    token = service["Authorization"].removeprefix("Bearer ")
    assert all(token not in line and "9812345678" not in line for line in lines)


@pytest.mark.parametrize(
    "text",
    [
        "key dsk_AbC123-xyz_99 leaked",
        "signing with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La/+Sw= now",
        "Authorization: Bearer s3cr3t-token",
        "customer +919812345678 called",
        "customer 98123 45678 called",
    ],
)
def test_redaction_masks_keys_tokens_and_phones(text: str) -> None:
    masked = redact(text)
    for secret in ("dsk_AbC123", "MfKQ9r8G", "s3cr3t-token", "9812345678", "98123 45678"):
        assert secret not in masked


def test_redaction_keeps_ordinary_numbers() -> None:
    assert redact("status 201 in 12.5 ms for 1500000 paise") == (
        "status 201 in 12.5 ms for 1500000 paise"
    )


# A phone number as it reads: 10 to 19 digits, spaces and dashes with an optional '+', not
# inside a word or a decimal, where a JSON escape (\n, \t, \u001b) before it is an edge.
# The service's pattern is written to be searched faster.
PHONE = re.compile(
    r"(?:(?<![\w.])|(?<=\\[bfnrt])|(?<=\\u00[0-9a-fA-F]{2}))\+?\d[\d -]{8,17}\d(?![\w.])"
)
# What the patterns turn on, in both cases, and what looks like it (a long s, a digit of
# another script, a decimal point, JSON's escapes).
ALPHABET = "0123456789 -+._=%&'\"\\aAbBcCdDeEfFkKmMoOpPrRsStTuUhHnN\u017f\u0663\u00e9\n\t\x1b"
PIECES = ["dsk_", "whsec_", "Bearer ", "bEaReR\t", "customer_phone=", "cuſtomer_PHONE="]
PIECES += ["%2B", "%2b9"]
PIECES += ["+91", "9812345678", "98123", " 45678", "-", ".", "x", "1", "="]
PIECES += ["\\n", "\\t", "\\u001b", "\\\\", '\\"', '"', "\n", "\t"]
TEXTS = st.text(ALPHABET, max_size=60) | st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
@example("x+919812345678 and 1.9812345678, cuſtomer_phone=98123 45678")
def test_redaction_skips_only_patterns_that_cannot_match(text: str) -> None:
    every = text
    for pattern, replacement, _ in _SECRETS:
        every = pattern.sub(replacement, every)
    assert redact(text) == every
    assert _SECRETS[-1][0].sub("#", text) == PHONE.sub("#", text)


def _line(message: str, error: BaseException | None = None) -> str:
    record = logging.makeLogRecord(
        {"msg": message, "levelno": 40, "levelname": "ERROR", "request_id": "req-1"}
    )
    if error is not None:
        record.exc_info = (type(error), error, None)
    return JsonFormatter().format(record)


@pytest.mark.parametrize(
    "text",
    [
        "note:\n9812345678",
        "note:\t98123 45678",
        "x\r\n+919812345678",
        "bell\x079812345678",
        "header was Bearer\ns3cr3t-token",
        "Authorization: Bearer s3cr3t-token",
    ],
)
def test_a_secret_after_a_newline_a_tab_or_a_control_character_is_masked(text: str) -> None:
    # The line is searched as JSON, where a newline is the two characters \n.
    for line in (_line(text), _line("unhandled error", ValueError(text))):
        for secret in ("9812345678", "98123 45678", "s3cr3t-token"):
            assert secret not in line, line


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_a_redacted_line_is_still_one_json_object(text: str) -> None:
    entry = json.loads(_line(text))
    assert (entry["level"], entry["request_id"]) == ("ERROR", "req-1")
    assert "\n" not in _line(text)


@pytest.mark.parametrize("through", ["session", "driver"])
async def test_an_internal_errors_log_names_the_statement_not_its_values(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    through: str,
) -> None:
    """A statement's values hold customers' names and notes; its error, in the traceback
    an internal error logs, names the statement and the value at fault, not the others."""
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    values = {"bad": "not-a-number", "name": "Asha Verma, gate 4"}

    async def failing(session: AsyncSession, *_: object) -> None:
        if through == "session":
            sql = "SELECT CAST(CAST(:bad AS text) AS integer), CAST(:name AS text)"
            await session.execute(text(sql), values)
        else:
            sql = "SELECT CAST(CAST($1 AS text) AS integer), CAST($2 AS text)"
            await driver.fetch(session, driver.Statement(sql, ["bad", "name"]), values)

    monkeypatch.setattr(lifecycle, "after_decision", failing)
    caplog.set_level(logging.ERROR)
    url = f"/v1/fail-reviews/{case['id']}/verdict"
    answer = await client.post(url, json=verdict_body("customer"), headers=ops)
    assert answer.status_code == 500
    [line] = [JsonFormatter().format(r) for r in caplog.records if r.exc_info]
    assert "not-a-number" in line and "Asha" not in line, line


async def test_an_internal_errors_log_hides_the_row_postgresql_says_is_at_fault(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL's DETAIL ("Failing row contains (...)") lists every column of the row."""
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    name = (await client.get("/v1/orders/ORD-1", headers=service)).json()["customer"]["name"]

    async def failing(session: AsyncSession, *_: object) -> None:
        sql = "UPDATE orders SET final_invoice_amount = NULL WHERE id = :id"
        await session.execute(text(sql), {"id": "ORD-1"})

    monkeypatch.setattr(lifecycle, "after_decision", failing)
    caplog.set_level(logging.ERROR)
    url = f"/v1/fail-reviews/{case['id']}/verdict"
    assert (await client.post(url, json=verdict_body("customer"), headers=ops)).status_code == 500
    [line] = [JsonFormatter().format(r) for r in caplog.records if r.exc_info]
    assert "final_invoice_amount" in line and "DETAIL: [hidden]" in line
    assert name not in line, line


@pytest.mark.parametrize("given", ["1733241689000", "1541815603606036480", "20261203-1600123456"])
async def test_a_request_id_of_digits_is_kept_whole_in_its_line(
    client: AsyncClient, caplog: pytest.LogCaptureFixture, given: str
) -> None:
    # A Unix time in ms, a snowflake id, a date and a sequence: ids clients choose, which
    # look like phone numbers; the caller finds the request's line by the id it sent.
    caplog.set_level(logging.INFO, logger="app.request")
    answer = await client.get("/health", headers={"X-Request-ID": given})
    assert answer.headers["x-request-id"] == given
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "app.request"]
    assert [json.loads(line)["request_id"] for line in lines] == [given]
