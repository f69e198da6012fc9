from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    DateTime,
    Interval,
    Select,
    String,
    any_,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db import driver, json_rows, written
from app.db.keyset import newest_first, soonest_first
from app.models import Case, CaseFeedback, Deadline, Decision, LedgerEntry


async def get(session: AsyncSession, case_id: str, *, for_update: bool = False) -> Case | None:
    query = select(Case).where(Case.id == case_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    case: Case | None = await session.scalar(query)
    return case


async def add(session: AsyncSession, case: Case) -> None:
    # Written with the next flush, with what the request gave it by then (its decision):
    # one INSERT, no UPDATE after it.
    # Until then it reads as stored: the lists the database would default to empty.
    case.escalations = case.escalations or []
    case.notes = case.notes or []
    driver.add(session, case)
    written.keep(session, case)


async def for_order(session: AsyncSession, order_id: str) -> Sequence[Case]:
    return (
        await session.scalars(select(Case).where(Case.order_id == order_id).order_by(Case.id))
    ).all()


async def for_orders(session: AsyncSession, order_ids: Sequence[str]) -> Sequence[Case]:
    """The cases of several orders at once (a page of orders), by order, then id."""
    return (
        await session.scalars(
            select(Case).where(Case.order_id.in_(order_ids)).order_by(Case.order_id, Case.id)
        )
    ).all()


async def open_of_type_for_order(
    session: AsyncSession, order_id: str, case_type: str
) -> Case | None:
    case: Case | None = await session.scalar(
        select(Case).where(
            Case.order_id == order_id, Case.case_type == case_type, Case.resolved_at.is_(None)
        )
    )
    return case


# A case's answer reads its decisions, clocks and feedback: one statement for all three,
# each row as JSON (app.db.json_rows), instead of a query a table. Feedback is read only for
# the cases in ``asked`` (app.cases.views: only a customer-facing case takes it).
_ANSWER_ROWS = driver.Statement(
    """SELECT 0, to_jsonb(d) FROM decisions d WHERE d.case_id = ANY($1::varchar[])
    UNION ALL
    SELECT 1, to_jsonb(c) FROM deadlines c WHERE c.case_id = ANY($1::varchar[])
    UNION ALL
    SELECT 2, to_jsonb(f) FROM case_feedback f WHERE f.case_id = ANY($2::varchar[])""",
    ["case_ids", "asked"],
)
_ANSWER_TABLES = (Decision, Deadline, CaseFeedback)


@dataclass(frozen=True)
class AnswerRows:
    """Plain copies, not rows the session tracks: decisions oldest first, clocks soonest."""

    decisions: list[Any]
    deadlines: list[Any]
    feedback: list[Any]


async def answer_rows(
    session: AsyncSession, case_ids: Sequence[str], asked: Sequence[str]
) -> AnswerRows:
    found: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    params = {"case_ids": list(case_ids), "asked": list(asked)}
    for table, values in await driver.fetch(session, _ANSWER_ROWS, params):
        found[table].append(json_rows.row(_ANSWER_TABLES[table], values))
    decisions, deadlines, feedback = found
    decisions.sort(key=lambda d: (d.decided_at, d.id))
    deadlines.sort(key=lambda d: (d.due_at, d.id))
    return AnswerRows(decisions, deadlines, feedback)


def listing(
    *,
    case_type: str | None = None,
    status: str | None = None,
    vendor_id: str | None = None,
    order_id: str | None = None,
    assignee: str | None = None,
    assignee_team: str | None = None,
    escalated_to: str | None = None,
    due_before: datetime | None = None,
    by_due: bool = False,
    after: tuple[datetime, str] | None = None,
    limit: int,
) -> Select[Any]:
    """The statement behind GET /v1/cases, newest first, or soonest deadline first with
    ``by_due`` (its plans are tested)."""
    query = select(Case)
    for column, value in (
        (Case.case_type, case_type),
        (Case.status, status),
        (Case.vendor_id, vendor_id),
        (Case.order_id, order_id),
        (Case.assignee, assignee),
        (Case.assignee_team, assignee_team),
        (Case.escalated_to, escalated_to),
    ):
        if value is not None:
            query = query.where(column == value)
    if due_before is not None:
        query = query.where(Case.due_at < due_before)
    if by_due:
        return soonest_first(query, Case.due_at, Case.id, after, limit)
    return newest_first(query, Case.created_at, Case.id, after, limit)


async def page(session: AsyncSession, query: Select[Any]) -> Sequence[Case]:
    return (await session.scalars(query)).all()


def _of_vendor_within() -> tuple[Any, ...]:
    """A vendor's cases of one type opened in the ``window`` before now (the repeat rules'
    history, served by ix_cases_vendor_type_created)."""
    return (
        Case.vendor_id == bindparam("vendor_id", type_=String()),
        Case.case_type == bindparam("case_type", type_=String()),
        Case.created_at >= func.now() - bindparam("window", type_=Interval()),
    )


# The repeat rules' counts and an order's cases, built once and run with their keys: every
# submission reads one, and building a statement costs more CPU than running it.
_EARLIER_FOR_VENDOR = (
    select(func.count())
    .select_from(Case)
    .where(
        *_of_vendor_within(),
        Case.created_at < func.statement_timestamp(),
        # NULL (nothing excluded) is distinct from every case's id.
        Case.id.is_distinct_from(bindparam("excluding", type_=String())),
    )
)
_LOST_BY_VENDOR = (
    select(func.count())
    .select_from(Case)
    .where(
        *_of_vendor_within(),
        Case.id != bindparam("excluding", type_=String()),
        Case.outcome == any_(bindparam("outcomes", type_=ARRAY(String()))),
    )
)
_OF_TYPE_FOR_ORDER = (
    select(Case)
    .where(
        Case.order_id == bindparam("order_id", type_=String()),
        Case.case_type == bindparam("case_type", type_=String()),
    )
    .order_by(Case.created_at, Case.id)
)
# Run on asyncpg directly (app.db.driver): these are read on every submission.
_RUN_EARLIER_FOR_VENDOR = driver.Statement(_EARLIER_FOR_VENDOR)
_RUN_LOST_BY_VENDOR = driver.Statement(_LOST_BY_VENDOR)
_RUN_OF_TYPE_FOR_ORDER = driver.Statement(_OF_TYPE_FOR_ORDER)


async def count_earlier_for_vendor(
    session: AsyncSession,
    vendor_id: str,
    case_type: str,
    *,
    window: timedelta,
    excluding: str | None = None,
) -> int:
    """A vendor's cases of one type opened in the ``window`` before this transaction began,
    and since, up to this statement: its history for repeat rules.

    Up to the statement, not to the transaction's start, so that a case committed while this
    transaction waited for the vendor's lock counts (its created_at is its own, earlier,
    start). Every case type reads its vendor's history here, so complaints, disputes and fail
    reasons count from one place (served by ix_cases_vendor_type_created).
    """
    count = await driver.scalar(
        session,
        _RUN_EARLIER_FOR_VENDOR,
        {"vendor_id": vendor_id, "case_type": case_type, "window": window, "excluding": excluding},
    )
    return int(count or 0)


async def of_type_for_order(session: AsyncSession, order_id: str, case_type: str) -> Sequence[Case]:
    """An order's cases of one type, oldest first."""
    parameters = {"order_id": order_id, "case_type": case_type}
    return await driver.instances(session, Case, _RUN_OF_TYPE_FOR_ORDER, parameters)


async def count_lost_by_vendor(
    session: AsyncSession,
    vendor_id: str,
    case_type: str,
    outcomes: Sequence[str],
    *,
    window: timedelta,
    excluding: str,
) -> int:
    """A vendor's cases of one type opened in the ``window`` before now whose decision in
    force has one of ``outcomes`` (the ones it lost), this case aside."""
    parameters = {
        "vendor_id": vendor_id,
        "case_type": case_type,
        "window": window,
        "excluding": excluding,
        "outcomes": list(outcomes),
    }
    count = await driver.scalar(session, _RUN_LOST_BY_VENDOR, parameters)
    return int(count or 0)


@dataclass(frozen=True)
class VendorRecord:
    """What a fail-reason decision reads of the vendor's record and the order's cases."""

    active_strikes: int
    earlier_fail_reasons: int
    complaint_issues: frozenset[str]
    payout_dispute: str | None


def _fail_reason_record() -> Select[Any]:
    # Built once, executed with its parameters: building it cost a fail reason more CPU
    # than sending it (bench/load_bench.py, profiled).
    reversal = aliased(LedgerEntry)
    vendor_id = bindparam("vendor_id", type_=String())
    order_id = bindparam("order_id", type_=String())
    strikes = (
        select(func.count())
        .select_from(LedgerEntry)
        .where(
            LedgerEntry.vendor_id == vendor_id,
            LedgerEntry.kind == "sla_strike",
            LedgerEntry.created_at > bindparam("strikes_since", type_=DateTime(timezone=True)),
            ~select(reversal.id)
            .where(reversal.settles_entry_id == LedgerEntry.id, reversal.kind == "reversal")
            .exists(),
        )
        .scalar_subquery()
    )
    earlier = _EARLIER_FOR_VENDOR.scalar_subquery()  # case_type: fail_reason
    issues = (
        select(func.coalesce(func.jsonb_agg(Case.details["issues"]), text("'[]'::jsonb")))
        .where(Case.order_id == order_id, Case.case_type == "pickup_complaint")
        .scalar_subquery()
    )
    dispute = (
        select(Case.id)
        .where(Case.order_id == order_id, Case.case_type == "payout_dispute")
        .order_by(Case.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return select(strikes, earlier, issues, dispute)


FAIL_REASON_RECORD = _fail_reason_record()
_RUN_FAIL_REASON_RECORD = driver.Statement(FAIL_REASON_RECORD)


async def fail_reason_record(
    session: AsyncSession,
    vendor_id: str,
    order_id: str,
    *,
    window: timedelta,
    strike_expiry: timedelta,
    now: datetime,
    excluding: str | None,
) -> VendorRecord:
    """One statement: the vendor's active strikes, its fail reasons in the window (this case
    aside), the issues complaints on this order reported, and a payout dispute on it."""
    parameters = {
        "vendor_id": vendor_id,
        "order_id": order_id,
        "strikes_since": now - strike_expiry,
        "window": window,
        "excluding": excluding,
        "case_type": "fail_reason",
    }
    row = await driver.one(session, _RUN_FAIL_REASON_RECORD, parameters)
    return VendorRecord(
        active_strikes=int(row[0]),
        earlier_fail_reasons=int(row[1]),
        complaint_issues=frozenset(code for codes in row[2] or [] for code in codes or []),
        payout_dispute=row[3],
    )
