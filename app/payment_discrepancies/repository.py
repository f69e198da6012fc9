"""Reconciliation's queries: each reads or writes a whole batch in one statement."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.effects.repository import received_admitted
from app.models import Case, Order, PaymentRecord
from app.payouts.repository import released_total

# The discrepancies that are money the other side holds above the invoice.
EXCESS = ("overpayment", "double_charge")

# Any constant would do; it only has to be the same in every instance.
_RECONCILIATION_LOCK = 0x7265636F6E63  # "reconc"


@dataclass(frozen=True)
class NewRecord:
    reference: str
    order_id: str
    amount: int
    status: str
    direction: str
    occurred_at: datetime


@dataclass(frozen=True)
class Balance:
    """Every record known for one order in one direction, summed, with what else the
    service knows reached the customer (to_customer only; 0 the other way)."""

    order_id: str
    direction: str
    invoice: int
    succeeded: int
    refunded: int
    # Succeeded records each for exactly the final invoice.
    full_payments: int
    charged_back: int = 0
    # The platform's payouts to the customer that have left: money that reached the
    # customer without a payment record of its own.
    platform_paid: int = 0
    # The most any payout dispute of the order says the customer received (its own word,
    # as the money gate counts it: cash has no record).
    admitted: int = 0
    # The excess the order's overpayment and double-charge cases in this direction logged,
    # resolved or not: a new case takes only what grew since (reconciliation.find()).
    logged_excess: int = 0

    @property
    def to_customer(self) -> bool:
        return self.direction == "to_customer"

    @property
    def held(self) -> int:
        """What the other side holds now. From the customer: what it paid, less refunds.
        To the customer: the vendor's payments less refunds and chargebacks, or what the
        customer's dispute admits if that is more, and the platform's payouts."""
        if not self.to_customer:
            return self.succeeded - self.refunded
        vendor = max(self.succeeded - self.refunded - self.charged_back, self.admitted)
        return vendor + self.platform_paid

    @property
    def covered(self) -> int:
        """What counts as paid when asking whether a payment is missing: from the customer,
        every succeeded payment (a refund is not a payment missing); to the customer, what
        it holds."""
        return self.held if self.to_customer else self.succeeded

    @property
    def received(self) -> int:
        """The most the other side ever received, for a refund of more than that."""
        if not self.to_customer:
            return self.succeeded
        return max(self.succeeded, self.admitted) + self.platform_paid


def _ids(values: Collection[str]) -> Any:
    return any_(bindparam("ids", sorted(values), type_=ARRAY(String)))


async def lock_reconciliation(session: AsyncSession) -> None:
    """Until commit, no other reconciliation runs: two batches holding one order's records
    would each see only their own (a double charge split across them would go unseen)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _RECONCILIATION_LOCK})


async def order_vendors(session: AsyncSession, order_ids: Collection[str]) -> dict[str, str]:
    """The referenced orders that exist: order id -> vendor id.

    Only these columns: decoding every order's JSONB (customer, notes) would cost more than
    the query; the few orders that open a case are read whole.
    """
    rows = await session.execute(
        select(Order.id, Order.vendor_id).where(Order.id == _ids(order_ids))
    )
    return {order_id: vendor_id for order_id, vendor_id in rows}


_INSERT_NEW = text(
    """
    INSERT INTO payment_records (reference, order_id, amount, status, direction, occurred_at)
    SELECT * FROM unnest(
        CAST(:references AS text[]), CAST(:order_ids AS text[]), CAST(:amounts AS bigint[]),
        CAST(:statuses AS text[]), CAST(:directions AS text[]),
        CAST(:occurred AS timestamptz[]))
    ON CONFLICT (reference) DO NOTHING
    RETURNING reference
    """
)


async def insert_new(session: AsyncSession, records: Sequence[NewRecord]) -> set[str]:
    """Stores the records whose reference is not known yet; returns those references."""
    if not records:
        return set()
    rows = await session.execute(
        _INSERT_NEW,
        {
            "references": [r.reference for r in records],
            "order_ids": [r.order_id for r in records],
            "amounts": [r.amount for r in records],
            "statuses": [r.status for r in records],
            "directions": [r.direction for r in records],
            "occurred": [r.occurred_at for r in records],
        },
    )
    return set(rows.scalars())


# The platform's payouts that have left reached the customer without a record of their own.
_PAID_BY_PLATFORM = released_total(PaymentRecord.order_id)
_ADMITTED = received_admitted(PaymentRecord.order_id)
_LOGGED_EXCESS = (
    select(func.coalesce(func.sum(Case.details["amount"].astext.cast(BigInteger)), 0))
    .where(
        Case.order_id == PaymentRecord.order_id,
        Case.case_type == "payment_discrepancy",
        Case.reason.in_(EXCESS),
        Case.details["direction"].astext == PaymentRecord.direction,
    )
    .correlate(PaymentRecord)
    .scalar_subquery()
)


async def balances(
    session: AsyncSession, order_ids: Collection[str]
) -> dict[tuple[str, str], Balance]:
    """Per order and direction, the sums of every stored record against the final invoice."""
    status = PaymentRecord.status
    amount = PaymentRecord.amount
    invoice = Order.final_invoice_amount
    rows = await session.execute(
        select(
            PaymentRecord.order_id,
            PaymentRecord.direction,
            invoice,
            func.coalesce(func.sum(amount).filter(status == "succeeded"), 0),
            func.coalesce(func.sum(amount).filter(status == "refunded"), 0),
            func.count().filter(status == "succeeded", amount == invoice),
            func.coalesce(func.sum(amount).filter(status == "charged_back"), 0),
            _PAID_BY_PLATFORM,
            _ADMITTED,
            _LOGGED_EXCESS,
        )
        .join(Order, Order.id == PaymentRecord.order_id)
        .where(PaymentRecord.order_id == _ids(order_ids))
        .group_by(PaymentRecord.order_id, PaymentRecord.direction, invoice)
    )
    balances = {}
    for order_id, direction, invoice, *sums in rows:
        succeeded, refunded, full, charged_back, platform, admitted, logged = map(int, sums)
        if direction != "to_customer":
            platform = admitted = 0
        balances[order_id, direction] = Balance(
            order_id=order_id,
            direction=direction,
            invoice=int(invoice),
            succeeded=succeeded,
            refunded=refunded,
            full_payments=full,
            charged_back=charged_back,
            platform_paid=platform,
            admitted=admitted,
            logged_excess=logged,
        )
    return balances


async def open_cases(
    session: AsyncSession, order_ids: Collection[str], case_types: Collection[str]
) -> set[tuple[str, str, str | None, str | None]]:
    """(order, case type, reason, direction) of the orders' unresolved cases of these types;
    the direction is a payment discrepancy's (None for other cases)."""
    rows = await session.execute(
        select(Case.order_id, Case.case_type, Case.reason, Case.details["direction"].astext).where(
            Case.order_id == _ids(order_ids),
            Case.case_type.in_(case_types),
            Case.resolved_at.is_(None),
        )
    )
    return {(str(order_id), kind, reason, direction) for order_id, kind, reason, direction in rows}
