"""The load benchmark's hand-written references (bench/reference/) write what the service
writes: for the same requests on the same state, every table holds the same rows, ids and
times aside, and the answers are the same case JSON.

Two databases: the service answers the requests on one, the reference on the other, after
the same setup through the service on each. Each kind is sent several times on one vendor,
so the vendor's record grows under it (repeat fail reasons, repeat complaints).
"""

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.keys import service as keys
from app.models import Base
from app.settings import Settings
from bench.reference import app as reference
from tests.conftest import http_client, running_app, suite_settings
from tests.db import migrated_database
from tests.factories import complaint_body, dispute_body, fail_reason_body, order_body, verdict_body

ROLES = ("service", "ops", "support")
IDS = re.compile(r"\b(case|dec|dl|le|key)_[0-9A-Z]{26}\b")
TIMES = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
SHOWN_TIMES = re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d IST")
# Columns that differ between any two runs: the database's clock and counters.
IGNORED = {"created_at", "updated_at", "decided_at", "seq", "xid", "request_id", "last_used_at"}
PAID = {"marked": True, "amount": 1_500_000, "method": "upi", "reference": "UPI-1"}
PROOF = {"kind": "payment_proof", "ref": "UPI-9"}


def normal(value: Any) -> Any:
    """The value with every id and time replaced by a placeholder."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items() if k not in IGNORED}
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, datetime):
        return "<time>"
    if isinstance(value, str):
        value = IDS.sub(r"\1_<id>", value)
        return SHOWN_TIMES.sub("<time>", TIMES.sub("<time>", value))
    return value


async def tables(engine: AsyncEngine) -> dict[str, list[Any]]:
    found = {}
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name == "api_keys":
                continue
            order = "ORDER BY id" if table.name == "events" else ""
            rows = await connection.execute(text(f"SELECT * FROM {table.name} {order}"))
            normalised = [normal(dict(row._mapping)) for row in rows]
            if table.name != "events":  # events keep the order they were written in
                normalised.sort(key=repr)
            found[table.name] = normalised
    return found


@dataclass
class Side:
    app: FastAPI
    headers: dict[str, dict[str, str]]

    @property
    def engine(self) -> AsyncEngine:
        engine: AsyncEngine = self.app.state.db_engine
        return engine


@pytest.fixture(scope="module")
def settings() -> Settings:
    return suite_settings()


@pytest.fixture(scope="module")
def service_url(server_url: str) -> Iterator[str]:
    with migrated_database(server_url, "dispute_reference") as url:
        yield url


@pytest.fixture(scope="module")
def reference_url(server_url: str) -> Iterator[str]:
    with migrated_database(server_url, "dispute_reference") as url:
        yield url


@asynccontextmanager
async def _side(url: str, settings: Settings) -> AsyncIterator[Side]:
    async with running_app(settings, url) as application:
        headers = {}
        async with application.state.sessionmaker() as session, session.begin():
            for role in ROLES:
                token = await keys.create(session, role, None, name=f"bench {role}")
                headers[role] = {"Authorization": f"Bearer {token}"}
        yield Side(application, headers)


@pytest.fixture(scope="module")
async def service_side(service_url: str, settings: Settings) -> AsyncIterator[Side]:
    async with _side(service_url, settings) as side:
        yield side


@pytest.fixture(scope="module")
async def reference_side(reference_url: str, settings: Settings) -> AsyncIterator[Side]:
    async with _side(reference_url, settings) as side:
        pool, config = await reference.start(reference.database_url_of(reference_url), settings)
        reference.app.state.pool, reference.app.state.config = pool, config
        try:
            yield side
        finally:
            await pool.close()


@pytest.fixture(autouse=True)
async def _empty(service_side: Side, reference_side: Side) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "api_keys")
    for side in (service_side, reference_side):
        async with side.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


Send = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _prepare(client: AsyncClient, side: Side, kind: str) -> list[str]:
    """The orders (and earlier cases) each kind needs, put through the service; returns the
    ids the kind's requests name."""
    ops, support, service = (side.headers[r] for r in ("ops", "support", "service"))
    completed: dict[str, Any] = {"pickup_status": "completed", "payment": PAID}
    for n in range(1, 6):
        extra: dict[str, Any] = completed if kind in ("disputes", "answers") else {}
        if kind in ("disputes", "answers") and n == 5:
            extra = {**extra, "final_invoice_amount": 300_000, "payment": {"marked": False}}
        order = order_body("V-1", **extra)
        assert (await client.put(f"/v1/orders/ORD-{n}", json=order, headers=service)).is_success
    ids = [f"ORD-{n}" for n in range(1, 6)]
    if kind == "verdicts":
        codes = ["customer_not_available"] * 4 + ["vendor_not_visiting"]
        filed = [
            await client.post(f"/v1/orders/{o}/fail-reasons", json=fail_reason_body(c), headers=ops)
            for o, c in zip(ids, codes, strict=True)
        ]
        return [r.json()["id"] for r in filed]
    if kind == "answers":
        opened = [
            await client.post("/v1/payout-disputes", json=dispute_body(o), headers=support)
            for o in ids
        ]
        return [r.json()["id"] for r in opened]
    return ids


def _requests(kind: str, ids: list[str]) -> list[tuple[str, dict[str, Any], str]]:
    """(path, body, role) of each request of the kind."""
    if kind == "fail_reasons":
        codes = ["customer_not_available"] * 4 + ["vendor_not_visiting"]
        return [
            (f"/v1/orders/{i}/fail-reasons", fail_reason_body(c), "ops")
            for i, c in zip(ids, codes, strict=True)
        ]
    if kind == "verdicts":
        faults = ["customer"] * 4 + ["vendor"]
        return [
            (f"/v1/fail-reviews/{i}/verdict", verdict_body(f), "ops")
            for i, f in zip(ids, faults, strict=True)
        ]
    if kind == "disputes":
        return [("/v1/payout-disputes", dispute_body(i), "support") for i in ids]
    if kind == "answers":
        body = {"response": "paid_full", "method": "upi", "proof": PROOF}
        return [(f"/v1/payout-disputes/{i}/vendor-response", body, "ops") for i in ids]
    issues = [["vendor_rude_late_unprofessional"]] * 3 + [["pickup_marked_not_attempted"]] * 2
    return [
        ("/v1/pickup-complaints", complaint_body(order_id=i, issues=x), "support")
        for i, x in zip(ids, issues, strict=True)
    ]


async def _run(side: Side, kind: str, by_reference: bool) -> list[Any]:
    answers = []
    async with http_client(side.app) as client:
        ids = await _prepare(client, side, kind)
        transport = ASGITransport(app=reference.app)
        async with AsyncClient(transport=transport, base_url="http://reference") as ref:
            for path, body, role in _requests(kind, ids):
                sent = ref if by_reference else client
                response = await sent.post(path, json=body, headers=side.headers[role])
                assert response.is_success, (by_reference, path, response.text)
                answers.append(response.json())
    return answers


@pytest.mark.parametrize("kind", ["fail_reasons", "verdicts", "disputes", "answers", "complaints"])
async def test_the_reference_writes_what_the_service_writes(
    kind: str, service_side: Side, reference_side: Side
) -> None:
    by_service = await _run(service_side, kind, by_reference=False)
    by_reference = await _run(reference_side, kind, by_reference=True)
    assert normal(by_reference) == normal(by_service)
    written, expected = await tables(reference_side.engine), await tables(service_side.engine)
    for name, rows in expected.items():
        assert written[name] == rows, name
