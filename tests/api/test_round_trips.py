"""A submission's writes go out in few statements, and its events in the order emitted.

The load benchmark (bench/load_bench.py) showed the fail-reason path bound by statements sent
to PostgreSQL, each costing far more CPU in the service than in the database: a new case,
its clock, decision and events go out together in one statement (the case with its decision id,
no UPDATE after), the answer of a case the request opened is built from what it wrote
(a case decided again reads its decisions, clocks and feedback back in one statement each),
and a known key is not looked up again. These tests keep it so without
timing anything.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Headers
from tests.factories import (
    complaint_body,
    dispute_body,
    fail_reason_body,
    file_fail_reason,
    put_order,
    verdict,
)

# What filing sends: the key (once in API_KEY_CACHE_SECONDS); the vendor and the order
# locked, with the transaction's time, in one statement; the vendor's record (strikes,
# earlier fail reasons, the order's complaints and disputes) in one statement; then the
# case, its resolution clock, its decision, its events and the order's new status in one
# statement (app.db.one_trip).
# The answer is built from what was written: a case opened here has nothing to read back.
FILING_STATEMENTS = 4


@contextmanager
def statements(db_engine: AsyncEngine) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, _p: Any, _x: Any, _m: bool) -> None:
        sent.append(statement)

    event.listen(db_engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db_engine.sync_engine, "before_cursor_execute", count)


def _write(sent: list[str]) -> str:
    """The one statement of a request that writes (app.db.one_trip)."""
    (written,) = [s for s in sent if not s.startswith("SELECT")]
    return written


async def test_filing_a_fail_reason_sends_few_statements(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service, "ORD-1")
    with statements(db_engine) as sent:
        response = await client.post(
            "/v1/orders/ORD-1/fail-reasons",
            json=fail_reason_body("customer_not_available"),
            headers=ops,
        )
        first = list(sent)
        sent.clear()
        again = await client.post(
            "/v1/orders/ORD-2/fail-reasons",
            json=fail_reason_body("customer_not_available"),
            headers=ops,
        )
    assert response.status_code == 201
    assert len(first) <= FILING_STATEMENTS, "\n".join(s.split("\n")[0] for s in first)
    (written,) = [s for s in first if not s.startswith("SELECT")]
    for table in ("cases", "deadlines", "decisions", "events"):
        assert f"INSERT INTO {table} " in written, table
    assert "UPDATE orders " in written
    for read in ("SELECT decisions", "SELECT deadlines", "SELECT case_feedback", "SELECT 0,"):
        assert not [s for s in first if s.startswith(read)], read
    assert not [s for s in first if s.startswith("UPDATE cases")]
    assert again.status_code == 404  # no such order: only the key's lookup is of interest
    assert not [s for s in sent if s.startswith("SELECT api_keys")]


@pytest.mark.parametrize(
    ("path", "body", "reads", "pickup"),
    [
        # The vendor and the order locked with the time; the vendor's record in one statement.
        ("/v1/orders/ORD-1/fail-reasons", fail_reason_body("customer_not_available"), 2, None),
        # ... the order's earlier disputes (admissibility)
        ("/v1/payout-disputes", dispute_body(), 2, "completed"),
        # ... the vendor's earlier complaints
        ("/v1/pickup-complaints", complaint_body(), 2, None),
    ],
)
async def test_a_submission_reads_its_order_vendor_and_clock_at_once(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    db_engine: AsyncEngine,
    path: str,
    body: dict[str, Any],
    reads: int,
    pickup: str | None,
) -> None:
    await put_order(client, service, "ORD-1", **({"pickup_status": pickup} if pickup else {}))
    await client.get("/v1/orders/ORD-1", headers=ops)  # the key is known from here on
    with statements(db_engine) as sent:
        response = await client.post(path, json=body, headers=ops)
    assert response.status_code == 201, response.text
    # What the answer reads back (the case's feedback, decisions, clocks) aside.
    answer = ("SELECT 0, to_jsonb(d) FROM decisions",)
    selects = [s for s in sent if s.startswith("SELECT") and not s.startswith(answer)]
    assert len(selects) == reads, "\n".join(s.split("\n")[0] for s in selects)
    # The one lock order: the vendor first, then the order, the transaction's time beside.
    first = " ".join(selects[0].split())
    assert "now() FROM vendors v JOIN orders o" in first
    assert first.endswith("FOR UPDATE OF v FOR NO KEY UPDATE OF o")


async def test_events_keep_the_order_they_were_emitted_in(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    await verdict(client, ops, case["id"], "customer")
    feed = (await client.get("/v1/events", headers=service)).json()["items"]
    assert [e["type"] for e in feed] == [
        "order.created",
        "case.opened",
        "order.status_changed",
        "decision.made",
        "decision.made",
        "notification.requested",
        "case.resolved",
        "order.status_changed",
    ]
    ids = [e["id"] for e in feed]
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("path", "body", "pickup"),
    [
        ("/v1/orders/ORD-1/fail-reasons", fail_reason_body("customer_not_available"), None),
        ("/v1/orders/ORD-1/fail-reasons", fail_reason_body("vendor_not_visiting"), None),
        ("/v1/payout-disputes", dispute_body(), "completed"),
        ("/v1/pickup-complaints", complaint_body(), None),
        (
            "/v1/pickup-complaints",
            complaint_body(issues=["pickup_marked_not_attempted"]),
            None,
        ),
    ],
)
async def test_a_new_case_is_answered_as_it_reads_back(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    path: str,
    body: dict[str, Any],
    pickup: str | None,
) -> None:
    """The answer of a case opened by the request is built from what it wrote, not read
    back: it must be what any later read of the case shows."""
    await put_order(client, service, "ORD-1", **({"pickup_status": pickup} if pickup else {}))
    answer = await client.post(path, json=body, headers=ops)
    assert answer.status_code == 201, answer.text
    case = answer.json()
    assert case["deadlines"] and case["history"]
    assert (await client.get(f"/v1/cases/{case['id']}", headers=ops)).json() == case


async def test_a_decided_case_reads_its_history_back_once(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    await put_order(client, service, "ORD-1")
    case = await file_fail_reason(client, ops, "ORD-1", "customer_not_available")
    with statements(db_engine) as sent:
        decided = await verdict(client, ops, case["id"], "customer")
    # Its running clocks (locked), decisions, clocks and feedback in one statement, read
    # after its locks; nothing is read back after the write.
    (case_read,) = [s for s in sent if "to_jsonb(d) FROM decisions" in s]
    assert "FROM deadlines" in case_read and "FROM case_feedback" in case_read
    assert "SKIP LOCKED" in case_read
    assert sent.index(case_read) < sent.index(_write(sent))
    assert not [s for s in sent[sent.index(_write(sent)) :] if s.startswith("SELECT")]
    # With them, what the decision replaces: the entries the case's decisions made, locked.
    assert "FOR UPDATE OF ledger_entries" in case_read
    for read in ("SELECT decisions", "SELECT deadlines", "SELECT case_feedback", "SELECT ledger"):
        assert not [s for s in sent if s.startswith(read)], read
    assert len(decided["history"]) == 2
    # Everything the verdict read came before anything it wrote: one statement writes the
    # case, its clock, the order and the vendor's standing, the decision, its ledger entry
    # and events (app.db.one_trip).
    (written,) = [s for s in sent if not s.startswith("SELECT")]
    for table in ("decisions", "ledger_entries", "events"):
        assert f"INSERT INTO {table} " in written, table
    for table in ("cases", "deadlines", "orders", "vendors"):
        assert f"UPDATE {table} " in written, table
    assert (await client.get(f"/v1/cases/{case['id']}", headers=ops)).json() == decided


async def test_verdicts_alike_write_in_one_statement_text(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    """The same rows make the same statement, whatever order the session holds them in: a
    text asyncpg and PostgreSQL have prepared is not prepared and planned again."""
    written = set()
    for n in range(8):
        await put_order(client, service, f"ORD-{n}", vendor_id=f"V-{n}")
        case = await file_fail_reason(client, ops, f"ORD-{n}", "customer_not_available")
        with statements(db_engine) as sent:
            await verdict(client, ops, case["id"], "customer")
        written.add(_write(sent))
    assert len(written) == 1


async def test_an_answer_that_ends_the_case_reads_its_clocks_once(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    """The vendor's final answer settles its own clock, decides and resolves the case, which
    settles the rest: the running clocks are locked and read once, and every one ends."""
    paid = {"marked": True, "amount": 1_500_000, "method": "upi", "reference": "UPI-1"}
    await put_order(client, service, "ORD-1", pickup_status="completed", payment=paid)
    opened = await client.post("/v1/payout-disputes", json=dispute_body(), headers=ops)
    case_id = opened.json()["id"]
    answer = {
        "response": "paid_full",
        "method": "upi",
        "proof": {"kind": "payment_proof", "ref": "UPI-9"},
    }
    with statements(db_engine) as sent:
        response = await client.post(
            f"/v1/payout-disputes/{case_id}/vendor-response", json=answer, headers=ops
        )
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["status"] == "resolved"
    assert all(d["settled_at"] for d in case["deadlines"]), case["deadlines"]
    clocks = [s for s in sent if "FROM deadlines" in s and "SKIP LOCKED" in s]
    assert len(clocks) == 1, clocks
    # The answer is made from that read and the write: nothing is read after the write.
    assert not [s for s in sent[sent.index(_write(sent)) :] if s.startswith("SELECT")]
    # The ledger read before the decision does not flush the clock the answer settled: the
    # answer's writes go out together, in one statement.
    (written,) = [s for s in sent if not s.startswith("SELECT")]
    for table in (
        "UPDATE cases ",
        "UPDATE deadlines ",
        "INSERT INTO decisions ",
        "INSERT INTO events ",
    ):
        assert table in written, table
    assert (await client.get(f"/v1/cases/{case_id}", headers=ops)).json() == case


async def test_new_cases_of_every_kind_read_back_as_answered_and_replayed(
    client: AsyncClient, service: Headers, ops: Headers
) -> None:
    """Openings that do more than one decision's work in their request: a repeat complaint
    (flagged and sent to the vendor manager at once), a complaint with no vendor, the
    vendor's second dispute (paid less), a fail reason, each replayed by its Idempotency-Key.
    Each answer is what a later read of the case shows, clocks, decisions and all."""
    for n in range(2):
        await put_order(client, service, f"ORD-{n}", pickup_status="completed")
    await put_order(client, service, "ORD-2")
    bodies = [
        ("/v1/pickup-complaints", complaint_body(order_id="ORD-0")),
        ("/v1/pickup-complaints", complaint_body(order_id="ORD-1")),  # a repeat
        ("/v1/pickup-complaints", complaint_body(order_id=None, lead_id="LEAD-9")),
        ("/v1/payout-disputes", dispute_body("ORD-0")),
        ("/v1/payout-disputes", dispute_body("ORD-1", "paid_less", amount_received=1)),
        ("/v1/orders/ORD-2/fail-reasons", fail_reason_body("vendor_not_visiting")),
    ]
    for n, (path, body) in enumerate(bodies):
        keyed = {**ops, "Idempotency-Key": f"open-{n}"}
        answer = await client.post(path, json=body, headers=keyed)
        assert answer.status_code == 201, answer.text
        case = answer.json()
        assert (await client.get(f"/v1/cases/{case['id']}", headers=ops)).json() == case
        replayed = await client.post(path, json=body, headers=keyed)
        assert replayed.headers["Idempotent-Replayed"] == "true"
        assert replayed.json() == case
    second = (await client.get("/v1/cases?case_type=pickup_complaint", headers=ops)).json()
    assert any(len(c["escalations"]) == 2 for c in second["items"])  # the repeat's


async def test_a_listing_of_every_case_type_shows_each_case_as_its_own_read_does(
    client: AsyncClient, service: Headers, support: Headers, ops: Headers
) -> None:
    """A listing reads feedback only for the case types a customer raised: a resolved
    complaint's feedback shows in the listing as on the case; other types show none."""
    await put_order(client, service, "ORD-1", pickup_status="completed")
    await put_order(client, service, "ORD-2")
    complaint = await client.post("/v1/pickup-complaints", json=complaint_body(), headers=support)
    complaint_id = complaint.json()["id"]
    resolved = await client.post(
        f"/v1/pickup-complaints/{complaint_id}/resolve",
        json={"note": "Called the customer back"},
        headers=ops,
    )
    assert resolved.status_code == 200, resolved.text
    given = await client.post(
        f"/v1/cases/{complaint_id}/feedback", json={"score": 2}, headers=support
    )
    assert given.status_code == 201, given.text
    assert given.json()["feedback"]["score"] == 2
    await client.post("/v1/payout-disputes", json=dispute_body("ORD-1"), headers=support)
    await file_fail_reason(client, ops, "ORD-2", "customer_not_available")

    listed = (await client.get("/v1/cases", headers=ops)).json()["items"]
    assert sorted(c["case_type"] for c in listed) == [
        "fail_reason",
        "payout_dispute",
        "pickup_complaint",
    ]
    for case in listed:
        assert (await client.get(f"/v1/cases/{case['id']}", headers=ops)).json() == case
        assert (case["feedback"] is not None) == (case["id"] == complaint_id)


async def test_an_answer_tells_the_times_as_a_read_does_whatever_the_servers_time_zone(
    client: AsyncClient, service: Headers, ops: Headers, db_engine: AsyncEngine
) -> None:
    """PostgreSQL's TimeZone is the host's by default (Asia/Kolkata here, say): a time the
    database made for a written row must be answered as a later read gives it."""
    database = "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I {}', current_database()); END $$"
    async with db_engine.begin() as connection:
        await connection.execute(text(database.format("SET timezone TO ''Asia/Kolkata''")))
    await db_engine.dispose()  # new connections take the database's setting
    try:
        await put_order(client, service, "ORD-1")
        answer = await client.post(
            "/v1/orders/ORD-1/fail-reasons",
            json=fail_reason_body("customer_not_available"),
            headers=ops,
        )
        assert answer.status_code == 201, answer.text
        case = answer.json()
        decided = await verdict(client, ops, case["id"], "customer")
        read = (await client.get(f"/v1/cases/{case['id']}", headers=ops)).json()
    finally:
        async with db_engine.begin() as connection:
            await connection.execute(text(database.format("RESET timezone")))
        await db_engine.dispose()
    assert read == decided
    assert read["created_at"] == case["created_at"]
