"""Queries of the ledger: append-only entries, each an effect of a decision (or of a person).

An entry is *in force* until a ``reversal`` entry settles it. A money entry is also ended by
its settlement: a payout by its approval (released) or rejection, a wallet refund by its
release.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Select,
    String,
    any_,
    bindparam,
    case,
    func,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db import driver, per_transaction
from app.models import Case, LedgerEntry, PaymentRecord

REVERSAL = "reversal"
# The ledger joined to itself (an entry and what settles it). Made once: a statement with an
# alias made for it costs about ten times the CPU to look up in the compiled cache (3.9 ms
# against 0.3 ms here), on every decision that reads its money.
_REVERSAL = aliased(LedgerEntry)
_SETTLEMENT = aliased(LedgerEntry)
# The actions that move money or credits on an order, checked by app.effects.guard.
MONEY_KINDS = ("platform_payout", "wallet_refund_eligible", "credit_refund")


async def add(session: AsyncSession, entry: LedgerEntry) -> None:
    # Written with the next flush (any query autoflushes first), in the order added.
    driver.add(session, entry)
    session.info.pop(_IN_FORCE, None)  # what was read of a case's entries holds no longer


async def get(
    session: AsyncSession, entry_id: str, *, for_update: bool = False
) -> LedgerEntry | None:
    query = select(LedgerEntry).where(LedgerEntry.id == entry_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    entry: LedgerEntry | None = await session.scalar(query)
    return entry


async def settled_by(session: AsyncSession, entry_id: str) -> LedgerEntry | None:
    """The entry that released, approved, rejected or reversed this one, if any."""
    entry: LedgerEntry | None = await session.scalar(
        select(LedgerEntry)
        .where(LedgerEntry.settles_entry_id == entry_id)
        .order_by(LedgerEntry.seq)
        .limit(1)
    )
    return entry


def _not_reversed() -> Any:
    reversal = _REVERSAL
    return ~(
        select(reversal.id)
        .where(reversal.settles_entry_id == LedgerEntry.id, reversal.kind == REVERSAL)
        .exists()
    )


@dataclass(frozen=True)
class Effected:
    """An entry a decision made, with what has settled it since (None: nothing has)."""

    entry: LedgerEntry
    settlement: str | None


# The column of what settles each entry, in the statements below.
MADE_FOR_CASE_SETTLEMENT = "settled_by"


def _made_by(key: Any) -> Any:
    """Entries made by actions, with what settles each, locked; ``key`` picks whose."""
    return (
        select(LedgerEntry, _SETTLEMENT.kind.label(MADE_FOR_CASE_SETTLEMENT))
        .outerjoin(_SETTLEMENT, _SETTLEMENT.settles_entry_id == LedgerEntry.id)
        .where(LedgerEntry.action_index.is_not(None), key == bindparam("key", type_=String()))
        .order_by(LedgerEntry.seq)
        .with_for_update(of=LedgerEntry)
    )


# Built once: every decision that replaces another reads what it made (and building this
# statement costs more CPU than running it).
_MADE_BY_DECISION = driver.Statement(_made_by(LedgerEntry.decision_id))
# app.cases.case_rows reads it with the case's other rows ($1: the case's id).
MADE_FOR_CASE = driver.Statement(_made_by(LedgerEntry.case_id))
# session.info: what in_force_of_case gives for a case, as app.cases.case_rows read it. The
# case's entries change only by this transaction's hand (they are written under the
# vendor's lock, which it holds): until it adds an entry, they are what was read.
_IN_FORCE = per_transaction.key("ledger_in_force")


async def _made(session: AsyncSession, query: driver.Statement, key: str) -> list[Effected]:
    # Entries are only ever added, never changed: this read needs a flush only when entries
    # wait to be written. Other pending changes (a clock settled, the case's notes) then go
    # out with the decision's own writes, in one flush, instead of in one of their own.
    if any(isinstance(row, LedgerEntry) for row in session.new):
        await session.flush()
    with session.no_autoflush:
        rows = await driver.fetch(session, query, {"key": key})
    return _in_force([(driver.attach_row(session, LedgerEntry, row), row[-1]) for row in rows])


def _in_force(made: list[tuple[LedgerEntry, str | None]]) -> list[Effected]:
    return [Effected(entry, kind) for entry, kind in made if kind != REVERSAL]


def remember_in_force(
    session: AsyncSession, case_id: str, made: list[tuple[LedgerEntry, str | None]]
) -> None:
    """``made``: the rows of :data:`MADE_FOR_CASE` for the case (each entry with what
    settles it), read in another statement under the same locks."""
    session.info.setdefault(_IN_FORCE, {})[case_id] = _in_force(made)


async def made_by(session: AsyncSession, decision_id: str) -> list[Effected]:
    """The entries a decision's own actions made and nothing has reversed, in order, locked:
    a release or approval, which locks its entry too, cannot slip past a reversal."""
    return await _made(session, _MADE_BY_DECISION, decision_id)


async def in_force_of_case(session: AsyncSession, case_id: str) -> list[Effected]:
    """Every entry the case's decisions made that nothing reversed, in ledger order, locked:
    what a new decision of the case replaces."""
    known: list[Effected] | None = session.info.get(_IN_FORCE, {}).get(case_id)
    if known is not None:
        return list(known)
    return await _made(session, MADE_FOR_CASE, case_id)


async def in_force_for_vendor(session: AsyncSession, vendor_id: str) -> Sequence[LedgerEntry]:
    """Every entry of the vendor that nothing reversed, in ledger order: what its standing
    folds from."""
    return (
        await session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.vendor_id == vendor_id,
                LedgerEntry.kind != REVERSAL,
                LedgerEntry.settles_entry_id.is_(None),
                _not_reversed(),
            )
            .order_by(LedgerEntry.seq)
        )
    ).all()


@dataclass(frozen=True)
class Money:
    """One money entry of an order, and whether it still counts."""

    id: str
    kind: str
    amount: int
    decision_id: str | None
    settlement: str | None

    @property
    def in_force(self) -> bool:
        # A payout approved is released money; rejected or reversed, it is no money at all.
        return self.settlement not in (REVERSAL, "payout_rejected")


@dataclass(frozen=True)
class OrderMoney:
    """What the money gate reads of an order, in one statement."""

    entries: list[Money]
    # The most any payout dispute of the order says the customer received.
    admitted_received: int
    # What the payment records show reached the customer (succeeded less refunded and
    # charged back: a payment the bank reversed did not stay with the customer).
    received_by_customer: int


def received_admitted(order_id: Any) -> Any:
    """The most any payout dispute of the order (``order_id``: a parameter, or a column to
    correlate with) says the customer received: the customer's own word counts as known.
    A dispute reconciliation opened is no one's word but the payment records' of its day,
    which the records themselves say better (a chargeback since included)."""
    claimed = case(
        (Case.details["claim"].astext == "paid_less", Case.details["amount_received"].astext),
        else_="0",
    ).cast(BigInteger)
    return (
        select(func.coalesce(func.max(claimed), 0))
        .where(
            Case.order_id == order_id,
            Case.case_type == "payout_dispute",
            Case.details["channel"].astext.is_distinct_from("reconciliation"),
        )
        .scalar_subquery()
    )


def _order_money() -> Select[Any]:
    order_id = bindparam("order_id", type_=String())
    settlement = _SETTLEMENT
    entry = func.jsonb_build_array(
        LedgerEntry.id,
        LedgerEntry.kind,
        LedgerEntry.amount,
        LedgerEntry.decision_id,
        settlement.kind,
    )
    entries = (
        select(func.coalesce(func.jsonb_agg(entry), text("'[]'::jsonb")))
        .select_from(LedgerEntry)
        .outerjoin(settlement, settlement.settles_entry_id == LedgerEntry.id)
        .where(
            LedgerEntry.order_id == order_id,
            LedgerEntry.kind
            == any_(bindparam("money_kinds", list(MONEY_KINDS), type_=ARRAY(String()))),
        )
        .scalar_subquery()
    )
    admitted = received_admitted(order_id)
    amount, status = PaymentRecord.amount, PaymentRecord.status
    received = (
        select(
            func.coalesce(func.sum(amount).filter(status == "succeeded"), 0)
            - func.coalesce(func.sum(amount).filter(status == "refunded"), 0)
            - func.coalesce(func.sum(amount).filter(status == "charged_back"), 0)
        )
        .where(PaymentRecord.order_id == order_id, PaymentRecord.direction == "to_customer")
        .scalar_subquery()
    )
    return select(entries, admitted, received)


# Built once: three reads of every money decision in one round trip.
ORDER_MONEY = _order_money()
_RUN_ORDER_MONEY = driver.Statement(ORDER_MONEY)


async def order_money(session: AsyncSession, order_id: str) -> OrderMoney:
    rows, admitted, received = await driver.one(session, _RUN_ORDER_MONEY, {"order_id": order_id})
    return OrderMoney(
        entries=[Money(row[0], row[1], row[2] or 0, row[3], row[4]) for row in rows],
        admitted_received=int(admitted or 0),
        received_by_customer=max(0, int(received or 0)),
    )


async def active_strikes(
    session: AsyncSession, vendor_id: str, *, expiry_days: float, now: datetime
) -> int:
    """The vendor's SLA strikes in force given within ``expiry_days`` before ``now``."""
    count = await session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(
            LedgerEntry.vendor_id == vendor_id,
            LedgerEntry.kind == "sla_strike",
            LedgerEntry.created_at > now - timedelta(days=expiry_days),
            _not_reversed(),
        )
    )
    return int(count or 0)


_LAST_SEQ = 2**63 - 1


async def for_vendor(
    session: AsyncSession, vendor_id: str, *, after: int | None, limit: int
) -> Sequence[LedgerEntry]:
    """A page of the vendor's ledger in the order it was written (served by
    ix_ledger_vendor_id)."""
    # The vendor's range of ix_ledger_vendor_id, bounded by row comparisons rather than
    # ``vendor_id = :v``: with an equality the planner may walk the whole ledger in seq order
    # filtering by vendor (its costs of the two are close), which for a vendor whose entries
    # are all recent reads every other vendor's first. Only this index gives this order.
    key = tuple_(LedgerEntry.vendor_id, LedgerEntry.seq)
    query = (
        select(LedgerEntry)
        .where(key > tuple_(literal(vendor_id), literal(after or 0, BigInteger)))
        .where(key <= tuple_(literal(vendor_id), literal(_LAST_SEQ, BigInteger)))
        .order_by(LedgerEntry.vendor_id, LedgerEntry.seq)
    )
    return (await session.scalars(query.limit(limit))).all()


async def latest_of_kind(session: AsyncSession, vendor_id: str, kind: str) -> LedgerEntry | None:
    entry: LedgerEntry | None = await session.scalar(
        select(LedgerEntry)
        .where(LedgerEntry.vendor_id == vendor_id, LedgerEntry.kind == kind)
        .order_by(LedgerEntry.seq.desc())
        .limit(1)
    )
    return entry
