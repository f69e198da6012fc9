"""The summary report reads whole finished spans from its rollup (app.models.report) and
must give, to the last digit, what computing every figure from the cases gives.

Each check asks a period twice: as the app answers it, and with the rollup switched off
(every case read live). The rollup is filled and changed between checks the ways it can
be: spans rolled for the first time after and before those already rolled, cases updated
after their span was rolled (a resolution, an outcome, a reason), by a transaction that
began before a roll and committed after it (one the app's role can see, and one it cannot),
and clocks made longer than the rolled spans. Each period is asked by week and by month.
"""

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import watcher
from app.reports import periods, rollup, rollup_tables
from app.reports.measures import ClockRules
from app.reports.periods import Period, Split
from app.settings import Settings
from app.watcher import ReportRoller
from tests.api.test_vendor_response_clock import NEVER, instance
from tests.conftest import Headers, KeyMaker, running_app
from tests.factories import (
    CASE_ROW,
    ORDER_ROW,
    case_row,
    file_complaint,
    file_fail_reason,
    put_order,
    verdict,
)

H = 3600
MONDAY = datetime(2026, 2, 2, tzinfo=UTC)  # long before the tests run: every week is final
W = [MONDAY + timedelta(weeks=n) for n in range(7)]
# The week of 2026-02-23 ends in March: two spans. Of the week before W[0], its Sunday is in
# February: a span of one day, which the longest period below holds whole.
SPANS = [span.start for span in periods.spans(W[0] - timedelta(days=1), W[6])]
TYPES = ["payout_dispute", "fail_reason", "payment_discrepancy", "pickup_complaint"]
OUTCOMES = ["resolved_paid", "refund", "failed_vendor_fault", None]
REASONS = ["not_paid", "paid_less", "rude_behaviour", "chargeback", None]
VENDORS = ["V-1", "V-2", "V-3", "V-4", None]
# Some resolution times repeat, some fall on the 48-hour line, most are anything.
DURATIONS = [2 * H, 48 * H, 30 * 60]


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def period(since: datetime, until: datetime) -> dict[str, str]:
    return {"since": stamp(since), "until": stamp(until)}


@pytest.fixture(autouse=True)
def exact_watermark(monkeypatch: pytest.MonkeyPatch) -> None:
    """No margin before the oldest running transaction: the margin covers a race of
    microseconds between transactions, and here it would make every week changed a moment
    before a report look changed again, rolling it anew and hiding what is checked."""
    monkeypatch.setattr(rollup, "ACTIVITY_MARGIN", timedelta(0))


@pytest.fixture
async def history(db_engine: AsyncEngine) -> random.Random:
    """Six weeks of random cases and orders from W[0], and a few either side."""
    rng = random.Random(20260202)
    async with db_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO vendors (id, max_leads) VALUES"
                " ('V-1', 10), ('V-2', 10), ('V-3', 10), ('V-4', 10)"
            )
        )
        start, span = W[0] - timedelta(days=2), (W[6] - W[0]).total_seconds() + 4 * 86400
        await connection.execute(
            ORDER_ROW,
            [
                {"id": f"O-{n}", "created_at": start + timedelta(seconds=rng.random() * span)}
                for n in range(150)
            ],
        )
        cases = []
        for n in range(400):
            opened = start + timedelta(seconds=rng.random() * span)
            case_type = rng.choice(TYPES)
            acknowledged = None
            if case_type != "fail_reason" and rng.random() < 0.9:
                acknowledged = opened + timedelta(seconds=rng.choice([0, 1800, H, 2 * H]))
            resolved = None
            if rng.random() < 0.8:
                seconds = rng.choice(DURATIONS) if rng.random() < 0.3 else rng.random() * 96 * H
                resolved = opened + timedelta(seconds=seconds)
            cases.append(
                case_row(
                    id=f"c{n:03}",
                    case_type=case_type,
                    order_id=f"O-{rng.randrange(150)}" if rng.random() < 0.7 else None,
                    vendor_id=rng.choice(VENDORS),
                    outcome=rng.choice(OUTCOMES),
                    reason=rng.choice(REASONS),
                    created_at=opened,
                    acknowledged_at=acknowledged,
                    resolved_at=resolved,
                    detected_at=(
                        opened - timedelta(seconds=rng.random() * 2 * H)
                        if case_type == "payment_discrepancy"
                        else None
                    ),
                )
            )
        await connection.execute(
            CASE_ROW,
            cases,
        )
    return rng


async def same_as_live(
    client: AsyncClient, headers: Headers, params: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The report as the app gives it, checked against every figure computed live, by week
    and by month."""
    for bucket in ("month", "week"):
        asked = {**params, "bucket": bucket}
        response = await client.get("/v1/reports/summary", params=asked, headers=headers)
        assert response.status_code == 200, response.text
        with monkeypatch.context() as patch:
            patch.setattr(rollup, "prepare", _live_prepare)
            live = await client.get("/v1/reports/summary", params=asked, headers=headers)
        assert response.json() == live.json()
    report: dict[str, Any] = response.json()
    return report


async def _live_prepare(
    _session: object, period: Period, _rules: ClockRules, _now: datetime
) -> Split:
    return periods.live(period)


async def percentile_cont(engine: AsyncEngine, since: datetime, until: datetime) -> list[Any]:
    """The period's median and 90th percentile in hours, by percentile_cont itself."""
    async with engine.connect() as connection:
        values = (
            await connection.execute(
                text(
                    """
                    SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (
                        ORDER BY extract(epoch FROM resolved_at - created_at)::float8)
                    FROM cases WHERE created_at >= :since AND created_at < :until
                    """
                ),
                {"since": since, "until": until},
            )
        ).scalar_one()
    return [None, None] if values is None else [v / 3600 for v in values]


async def rolled(engine: AsyncEngine) -> list[datetime]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT span FROM report_spans ORDER BY span"))
        return [row.span for row in rows]


# Asked in this order, the rollup grows every way: a middle week first, then older and newer
# ones around it, and periods with no whole week in them.
PERIODS = [
    (W[3], W[4]),
    (W[1] + timedelta(days=3, hours=5), W[5] + timedelta(hours=2)),
    (W[0] - timedelta(days=1), W[6] + timedelta(days=1)),
    (W[2] + timedelta(hours=1), W[2] + timedelta(days=2)),
    (W[2] + timedelta(days=5), W[3] + timedelta(days=3)),
    (W[0], W[6]),
]


async def check_periods(
    client: AsyncClient,
    headers: Headers,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for since, until in PERIODS:
        report = await same_as_live(client, headers, period(since, until), monkeypatch)
        median, p90 = await percentile_cont(engine, since, until)
        assert report["resolution_hours_median"]["value"] == median
        assert report["resolution_hours_p90"]["value"] == p90


async def touch(engine: AsyncEngine, statement: str, **params: Any) -> None:
    """Changes cases as the app does: updated_at is the transaction's time."""
    async with engine.begin() as connection:
        await connection.execute(text(statement), params)


@pytest.mark.parametrize("chunk", [100_000, 150, 1])
@pytest.mark.usefixtures("history")
async def test_every_figure_is_what_the_cases_give(
    client: AsyncClient,
    ops: Headers,
    db_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
) -> None:
    monkeypatch.setattr(rollup, "CHUNK_CASES", chunk)
    await check_periods(client, ops, db_engine, monkeypatch)
    # Every whole span of the periods was rolled, and the report read them.
    assert await rolled(db_engine) == SPANS


async def test_cases_changed_after_their_week_was_rolled(
    client: AsyncClient,
    ops: Headers,
    db_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    history: random.Random,
) -> None:
    await check_periods(client, ops, db_engine, monkeypatch)
    # One case of a middle week changes group and is resolved: only that week is rolled
    # again, and the totals after it move.
    for case_id in ("c010", "c011", "c012"):
        await touch(
            db_engine,
            "UPDATE cases SET outcome = 'moved', vendor_id = 'V-1', reason = 'not_paid',"
            " resolved_at = created_at + interval '1 hour', updated_at = now()"
            " WHERE id = (SELECT id FROM cases WHERE created_at >= :w AND created_at < :e"
            "             ORDER BY id OFFSET :n LIMIT 1)",
            w=W[int(case_id[-1])],
            e=W[int(case_id[-1]) + 1],
            n=int(case_id[-1]),
        )
        await check_periods(client, ops, db_engine, monkeypatch)
    # A payment dispute of an order of another span: that span's dispute rate moves.
    await touch(
        db_engine,
        "UPDATE cases SET order_id = (SELECT id FROM orders ORDER BY created_at LIMIT 1 OFFSET 20),"
        " updated_at = now()"
        " WHERE id = (SELECT min(id) FROM cases WHERE order_id IS NULL"
        "             AND case_type = 'payment_discrepancy' AND created_at >= :late)",
        late=W[5],
    )
    await check_periods(client, ops, db_engine, monkeypatch)
    # Resolutions, outcomes and reasons change in old and recent weeks, a group empties,
    # and a case appears in a rolled week (as an import would put it there).
    ids = [f"c{n:03}" for n in history.sample(range(400), 60)]
    await touch(
        db_engine,
        "UPDATE cases SET resolved_at = created_at + interval '3 hours', updated_at = now()"
        " WHERE id = ANY(:ids) AND resolved_at IS NULL",
        ids=ids[:20],
    )
    await touch(
        db_engine,
        "UPDATE cases SET outcome = 'overridden', reason = 'late_reason', updated_at = now()"
        " WHERE id = ANY(:ids)",
        ids=ids[20:40],
    )
    await touch(
        db_engine,
        "UPDATE cases SET vendor_id = NULL, outcome = NULL, updated_at = now()"
        " WHERE id = ANY(:ids)",
        ids=ids[40:],
    )
    await touch(
        db_engine,
        "UPDATE cases SET reason = 'only_one', updated_at = now() WHERE id = 'c007'",
    )
    week = period(W[2], W[3])
    before = await same_as_live(client, ops, week, monkeypatch)
    await touch(db_engine, "INSERT INTO vendors (id, max_leads) VALUES ('V-9', 10)")
    await touch(
        db_engine,
        """
        INSERT INTO cases (id, case_type, vendor_id, status, details, outcome, reason,
                           created_at, resolved_at)
        VALUES ('late', 'payout_dispute', 'V-9', 'resolved', '{}', 'refund', 'not_paid',
                :opened, :resolved)
        """,
        opened=W[2] + timedelta(days=1),
        resolved=W[2] + timedelta(days=1, hours=5),
    )
    await check_periods(client, ops, db_engine, monkeypatch)
    after = await same_as_live(client, ops, week, monkeypatch)
    assert after["cases"] == before["cases"] + 1
    # The only case of a group leaves it: the group goes from the rollup.
    await touch(db_engine, "UPDATE cases SET reason = 'gone', updated_at = now() WHERE id = 'late'")
    await check_periods(client, ops, db_engine, monkeypatch)


# Changes the outcome of the first case of the week [:w, :e).
FIRST_OF_WEEK = text(
    "UPDATE cases SET outcome = :outcome, updated_at = now()"
    " WHERE id = (SELECT min(id) FROM cases WHERE created_at >= :w AND created_at < :e)"
)


@pytest.mark.usefixtures("history")
async def test_an_update_committed_after_a_roll_it_began_before(
    client: AsyncClient, ops: Headers, db_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await check_periods(client, ops, db_engine, monkeypatch)
    # A transaction changes a case of a rolled week and is still open while a report rolls
    # another changed week; its updated_at (its start) is before that roll.
    async with db_engine.connect() as slow:
        transaction = await slow.begin()
        await slow.execute(FIRST_OF_WEEK, {"outcome": "slow_outcome", "w": W[1], "e": W[2]})
        async with db_engine.begin() as quick:
            await quick.execute(FIRST_OF_WEEK, {"outcome": "quick", "w": W[3], "e": W[4]})
        report = await same_as_live(client, ops, period(W[0], W[6]), monkeypatch)
        assert "slow_outcome" not in {o["outcome"] for o in report["by_type_and_outcome"]}
        await transaction.commit()
    report = await same_as_live(client, ops, period(W[0], W[6]), monkeypatch)
    assert "slow_outcome" in {o["outcome"] for o in report["by_type_and_outcome"]}


@pytest.mark.usefixtures("history")
async def test_a_writer_this_role_cannot_see_holds_the_watermark(
    client: AsyncClient, ops: Headers, db_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the app sees another role's session without pg_read_all_stats: a transaction is
    open, its start is not shown."""

    async def unseen(session: AsyncSession) -> tuple[datetime, int]:
        return (await session.execute(text("SELECT now()"))).scalar_one(), 1

    whole = period(W[0], W[6])
    with monkeypatch.context() as patch:
        patch.setattr(rollup_tables, "activity", unseen)
        await same_as_live(client, ops, whole, monkeypatch)
    # Before any roll, nothing is rolled while it is open.
    assert await rolled(db_engine) == []
    await same_as_live(client, ops, whole, monkeypatch)
    async with db_engine.connect() as hidden:
        transaction = await hidden.begin()
        await hidden.execute(FIRST_OF_WEEK, {"outcome": "unseen_outcome", "w": W[1], "e": W[2]})
        async with db_engine.begin() as quick:
            await quick.execute(FIRST_OF_WEEK, {"outcome": "seen", "w": W[3], "e": W[4]})
        with monkeypatch.context() as patch:
            patch.setattr(rollup_tables, "activity", unseen)
            await same_as_live(client, ops, whole, monkeypatch)
        await transaction.commit()
    report = await same_as_live(client, ops, whole, monkeypatch)
    assert "unseen_outcome" in {o["outcome"] for o in report["by_type_and_outcome"]}


@pytest.mark.usefixtures("history")
async def test_clocks_follow_the_policy_a_week_was_rolled_under(
    client: AsyncClient,
    ops: Headers,
    database_url: str,
    db_engine: AsyncEngine,
    make_key: KeyMaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    whole = period(W[0], W[6])
    before = await same_as_live(client, ops, whole, monkeypatch)
    monkeypatch.setenv("POLICY_RESOLUTION_HOURS", "10")
    headers = await make_key("ops")
    async with instance(database_url, NEVER) as (_, other):
        shorter = await same_as_live(other, headers, whole, monkeypatch)
    assert shorter["resolution"]["count"] < before["resolution"]["count"]
    # Clocks so long that the weeks are not over yet: read live, and the changed ones leave
    # the rollup rather than keep counts that would move.
    await touch(db_engine, "UPDATE cases SET updated_at = now() WHERE id IN ('c001', 'c002')")
    monkeypatch.setenv("POLICY_RESOLUTION_HOURS", str(24 * 3650))
    async with instance(database_url, NEVER) as (_, other):
        await same_as_live(other, headers, whole, monkeypatch)
    assert len(await rolled(db_engine)) < len(SPANS)
    monkeypatch.delenv("POLICY_RESOLUTION_HOURS")
    assert await same_as_live(client, ops, whole, monkeypatch) == before


async def test_a_case_resolved_after_a_report_changes_the_next_one(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    db_engine: AsyncEngine,
) -> None:
    """Through the API: cases opened, moved back to a finished week, reported, then resolved
    and decided; the next report of that week has them resolved and decided."""
    await put_order(client, service, "ORD-1", vendor_id="V-1")
    complaint = await file_complaint(client, support)
    fail = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    await touch(
        db_engine,
        "UPDATE cases SET created_at = created_at - (now() - :opened) WHERE id = ANY(:ids)",
        opened=W[1] + timedelta(days=1),
        ids=[complaint["id"], fail["id"]],
    )
    week = period(W[1], W[2])
    first = (await client.get("/v1/reports/summary", params=week, headers=ops)).json()
    assert (first["cases"], first["resolved"]) == (2, 0)
    assert {"case_type": "fail_reason", "outcome": None, "cases": 1} in first["by_type_and_outcome"]
    assert await rolled(db_engine) == [W[1]]

    resolved = await client.post(
        f"/v1/pickup-complaints/{complaint['id']}/resolve",
        json={"note": "called back"},
        headers=support,
    )
    assert resolved.status_code == 200, resolved.text
    await verdict(client, ops, fail["id"], "vendor", reason="vendor_not_visiting")
    second = (await client.get("/v1/reports/summary", params=week, headers=ops)).json()
    assert second["resolved"] == 2
    assert second["resolution_hours_median"]["value"] is not None
    outcomes = {(o["case_type"], o["outcome"]) for o in second["by_type_and_outcome"]}
    assert ("fail_reason", None) not in outcomes
    assert {r["reason"] for r in second["top_reasons"]} >= {"vendor_not_visiting"}


def _back_to_the_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """The roller's year reaches back to W[0], however long ago the history lies."""
    weeks = (datetime.now(UTC) - W[0]) // timedelta(weeks=1) + 2
    monkeypatch.setattr(watcher, "ROLLED_WEEKS", weeks)


@pytest.mark.usefixtures("history")
async def test_the_roller_rolls_finished_weeks_before_any_report_asks(
    client: AsyncClient,
    ops: Headers,
    settings: Settings,
    database_url: str,
    db_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _back_to_the_history(monkeypatch)
    own = settings.model_copy(update={"report_roll_interval_seconds": 0.1})
    async with running_app(own, database_url):
        give_up = time.monotonic() + 20
        while not set(SPANS) <= set(await rolled(db_engine)):
            assert time.monotonic() < give_up, "the roller rolled nothing"
            await asyncio.sleep(0.05)

    writes: list[str] = []

    def count(_c: Any, _k: Any, statement: str, *_: Any) -> None:
        if statement.startswith(("INSERT INTO report_", "UPDATE report_", "DELETE FROM report_")):
            writes.append(statement)

    event.listen(db_engine.sync_engine, "before_cursor_execute", count)
    try:
        await same_as_live(client, ops, period(W[0], W[6]), monkeypatch)
    finally:
        event.remove(db_engine.sync_engine, "before_cursor_execute", count)
    # The report read what the roller had rolled, and rolled nothing itself.
    assert writes == []


@pytest.mark.usefixtures("history")
async def test_the_roller_skips_its_tick_while_another_transaction_rolls(
    app: FastAPI, db_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _back_to_the_history(monkeypatch)
    roller = ReportRoller(app.state.sessionmaker, app.state.rules_engine.policy, 3600)
    async with db_engine.begin() as rolling:
        await rolling.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": rollup_tables.ROLLUP_LOCK}
        )
        # At once, without waiting for the lock.
        assert await asyncio.wait_for(roller.tick(), 5) == 0
        assert await rolled(db_engine) == []
    assert await roller.tick() >= len(SPANS)
    assert set(SPANS) <= set(await rolled(db_engine))
    assert await roller.tick() == 0  # nothing changed since
