"""Reconciling payment records against orders: each batch of the payment system's records
is matched with the order it names, and a mismatch opens a payment discrepancy
(docs/payment-discrepancies.md).

A batch is reconciled with a fixed number of statements, whatever its size: one to load the
orders, one to store the new records, one to lock their vendors, one to sum every order's
records, one to read their open cases. Only the cases it opens cost work each.

What counts as a discrepancy, per order and direction, the new records included, against
the order's final invoice (the operations team's definitions, made measurable). What the
other side holds (``Balance.held``) is, from the customer, what it paid less refunds; to
the customer, the vendor's payments less refunds and chargebacks (or what the customer's
own dispute admits receiving, if more: cash has no record), plus the platform's payouts that
have left, which have no record either (docs/payment-discrepancies.md):

- chargeback: a new charged_back record (a payment reversed through the bank); to the
  customer, only as far as the customer is now short of the invoice, as that is what the
  vendor is asked to pay again;
- transaction_failure: a new failed record, unless what is paid already covers the invoice
  (a retry that went through, or, to the customer, a payout of the platform: asking the
  vendor to pay again then would pay the customer twice); what is short is asked for once
  in a batch, by the chargeback (to the customer), the failure and the shortfall in turn;
- refund_issue: a new refunded record, and more refunded than was ever received;
- double_charge: a new succeeded record, two succeeded records each for the full invoice,
  and more held than the invoice;
- overpayment: a new succeeded record and more held than the invoice otherwise (a vendor's
  payment recorded after the platform paid the customer pays the customer twice);
  an excess is logged once: a new case takes only what grew beyond the excess that
  unresolved overpayment and double-charge cases of the order already hold;
- partial_payment: a new succeeded record from the customer, and less succeeded than the
  invoice;
- a succeeded payment to the customer that leaves it holding less than the invoice is the
  vendor paying less: unless pickup notes recorded before it justify the whole shortfall, it
  opens a payout dispute (claim paid_less, channel reconciliation) before the customer has
  to complain.

An order with an unresolved case of the same kind gets no second one (an excess that grew
aside).
"""

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import locks
from app.cases.deciding import Actor
from app.db import clock
from app.errors import Conflict, InvalidRequest
from app.models import Case, Order, Vendor
from app.orders import service as order_service
from app.orders.schemas import Customer
from app.payment_discrepancies import repository as payment_records
from app.payment_discrepancies import service as payment_discrepancies
from app.payment_discrepancies.repository import Balance, NewRecord
from app.payment_discrepancies.schemas import (
    DiscrepancyType,
    OpenedCase,
    PaymentRecordsIn,
    ReconciliationOut,
    UnmatchedRecord,
)
from app.payment_discrepancies.service import Discrepancy
from app.payout_disputes import service as payout_disputes
from app.payout_disputes.facts import justify
from app.payout_disputes.schemas import Evidence, PayoutDisputeIn
from app.rules_engine import format_rupees
from app.rules_engine.engine import RulesEngine

# What find() names a payment to the customer below the invoice: a payout dispute, not a
# payment discrepancy.
SHORTFALL = "paid_less"
# A dispute's evidence list holds at most this many items.
MAX_EVIDENCE = 20


def _sum(records: Sequence[NewRecord]) -> int:
    return sum(record.amount for record in records)


def _without(balance: Balance, new: Sequence[NewRecord]) -> Balance:
    """The balance as it was before ``new`` was stored."""

    def less(status: str) -> int:
        return sum(record.amount for record in new if record.status == status)

    return replace(
        balance,
        succeeded=balance.succeeded - less("succeeded"),
        refunded=balance.refunded - less("refunded"),
        charged_back=balance.charged_back - less("charged_back"),
    )


def find(
    balance: Balance, new: Sequence[NewRecord], open_kinds: Collection[str] = ()
) -> list[Discrepancy]:
    """The discrepancies the new records of one order and direction show (module docstring).
    ``open_kinds``: the discrepancy types the order has unresolved cases of in this direction,
    which get no second case (an excess aside) and so take no share of what is short."""
    by_status: dict[str, list[NewRecord]] = defaultdict(list)
    for record in new:
        by_status[record.status].append(record)
    found: list[tuple[str, int, list[NewRecord]]] = []
    invoice, covered = balance.invoice, balance.covered
    # What is short is asked for once: a reversed payment, then a failed one, then (to the
    # customer) a payout dispute each take what is left of it.
    short = max(0, invoice - covered)

    def ask(kind: str, amount: int, records: list[NewRecord]) -> None:
        nonlocal short
        if kind in open_kinds:
            return
        taken = min(amount, short)
        if taken > 0:
            found.append((kind, taken, records))
            short -= taken

    if charged_back := by_status["charged_back"]:
        if balance.to_customer:
            ask("chargeback", _sum(charged_back), charged_back)
        elif "chargeback" not in open_kinds:
            # The customer reversed its own payment: refunded, whatever it still owes.
            found.append(("chargeback", _sum(charged_back), charged_back))
    if failed := by_status["failed"]:
        ask("transaction_failure", _sum(failed), failed)
    if (
        by_status["refunded"]
        and balance.refunded > balance.received
        and "refund_issue" not in open_kinds
    ):
        found.append(("refund_issue", balance.refunded - balance.received, by_status["refunded"]))
    if paid := by_status["succeeded"]:
        excess = balance.held - invoice
        if excess > 0:
            # What the order's excess cases logged counts only as far as the excess was still
            # there before these records: a refund since may have taken some of it back.
            before = _without(balance, new).held - invoice
            logged = min(balance.logged_excess, max(0, before))
            if excess > logged:
                kind = "double_charge" if balance.full_payments >= 2 else "overpayment"
                found.append((kind, excess - logged, paid))
        elif covered < invoice:
            ask(SHORTFALL if balance.to_customer else "partial_payment", invoice - covered, paid)
    return [
        Discrepancy(
            discrepancy_type=kind,
            order_id=balance.order_id,
            direction=balance.direction,
            invoice=balance.invoice,
            amount=amount,
            succeeded=balance.succeeded,
            refunded=balance.refunded,
            platform_paid=balance.platform_paid,
            vendor_held=balance.held - balance.platform_paid if balance.to_customer else 0,
            references=[record.reference for record in records],
        )
        for kind, amount, records in found
    ]


async def _lock_their_vendors(
    session: AsyncSession, order_ids: set[str], orders: dict[str, str]
) -> dict[str, Vendor]:
    """The orders' vendors, locked; ``orders`` (order id -> vendor id) is brought up to date
    for an order the order system moved to another vendor while the lock was awaited."""
    vendors = await locks.lock_vendors(session, {orders[order_id] for order_id in order_ids})
    while True:
        now_with = await payment_records.order_vendors(session, order_ids)
        orders.update(now_with)
        missing = set(now_with.values()) - set(vendors)
        if not missing:
            return vendors
        vendors.update(await locks.lock_vendors(session, missing))


async def _disputable(session: AsyncSession, order: Order) -> bool:
    """A payout below the invoice opens a dispute only where a customer's own dispute would
    be taken (a completed pickup, not failed, not made whole yet)."""
    try:
        await payout_disputes.admit(session, order)
    except Conflict:
        return False
    return True


def _unique_references(body: PaymentRecordsIn) -> None:
    seen: dict[str, int] = {}
    for index, record in enumerate(body.records):
        if record.reference in seen:
            raise InvalidRequest(
                f"Reference {record.reference} is sent twice, at records[{seen[record.reference]}]"
                f" and records[{index}]; a reference identifies one record.",
                f"records[{index}].reference",
            )
        seen[record.reference] = index


def _dispute(order: Order, found: Discrepancy) -> PayoutDisputeIn:
    # The dispute is for what is left of the shortfall (find()): as received it counts what
    # the customer holds of the vendor's payments and what this batch's other cases ask the
    # vendor to pay again, so that nothing is asked twice. The platform's payouts are counted
    # by the money gate on their own.
    received = max(0, found.invoice - found.amount - found.platform_paid)
    asked = received - found.vendor_held
    also = (
        f"; {format_rupees(asked)} of it is asked of the vendor again by the reversed or "
        "failed payment's case"
        if asked > 0
        else ""
    )
    return PayoutDisputeIn(
        order_id=found.order_id,
        claim="paid_less",
        amount_received=received,
        channel="reconciliation",
        customer=Customer.model_validate(order.customer),
        evidence=[
            Evidence(kind="other", ref=f"payment record {reference}")
            for reference in found.references[:MAX_EVIDENCE]
        ],
        summary=(
            f"Reconciliation: the customer holds {format_rupees(found.vendor_held)} of the "
            f"final invoice {format_rupees(found.invoice)}{also}, and no pickup note "
            "justifies the whole difference"
        ),
    )


async def reconcile(
    session: AsyncSession, engine: RulesEngine, actor: Actor, body: PaymentRecordsIn
) -> ReconciliationOut:
    _unique_references(body)
    await payment_records.lock_reconciliation(session)
    orders = await payment_records.order_vendors(session, {r.order_id for r in body.records})
    matched = [
        NewRecord(r.reference, r.order_id, r.amount, r.status, r.direction, r.occurred_at)
        for r in body.records
        if r.order_id in orders
    ]
    stored = await payment_records.insert_new(session, matched)
    new = [record for record in matched if record.reference in stored]

    groups: dict[tuple[str, str], list[NewRecord]] = defaultdict(list)
    for record in new:
        groups[record.order_id, record.direction].append(record)
    touched = {order_id for order_id, _ in groups}
    # The vendors of every order with new records, in one statement in the fixed order, and
    # before the balances are read: a platform payout is decided, and approved, under its
    # vendor's lock after checking the records, so under the same lock the balances see
    # every payout that has left, and a payout still being decided sees these records. Read
    # before the lock, a payout committed in between was seen by neither side and the
    # customer was paid twice with no case to say so. An order's open dispute is checked
    # under its vendor's lock too, as opening a dispute by hand checks it.
    vendors = await _lock_their_vendors(session, touched, orders) if touched else {}
    balances = await payment_records.balances(session, touched)
    open_now = await payment_records.open_cases(
        session, touched, (payment_discrepancies.CASE_TYPE, payout_disputes.CASE_TYPE)
    )
    open_kinds: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    for order_id, kind, reason, direction in open_now:
        if kind == payment_discrepancies.CASE_TYPE and reason is not None:
            open_kinds[order_id, direction].add(reason)
    found = [d for key in sorted(groups) for d in find(balances[key], groups[key], open_kinds[key])]

    opened: list[tuple[Case, Discrepancy]] = []
    if found:
        disputed = {o for o, kind, _, _ in open_now if kind == payout_disputes.CASE_TYPE}
        now = await clock.now(session)
        for discrepancy in found:
            order_id = discrepancy.order_id
            order = await order_service.get(session, order_id)
            if discrepancy.discrepancy_type == SHORTFALL:
                if order_id in disputed or not await _disputable(session, order):
                    continue
                justified = justify(engine, order.pickup_notes, discrepancy.amount, before=now)
                if justified.whole:
                    continue
                case = await payout_disputes.open_dispute(
                    session, engine, actor, _dispute(order, discrepancy)
                )
                disputed.add(order_id)
            else:
                case = await payment_discrepancies.open_discrepancy(
                    session, engine, actor, discrepancy, vendors[orders[order_id]], order
                )
            case.detected_at = min(
                r.occurred_at
                for r in groups[order_id, discrepancy.direction]
                if r.reference in discrepancy.references
            )
            opened.append((case, discrepancy))

    unmatched = [r for r in body.records if r.order_id not in orders]
    return ReconciliationOut(
        received=len(body.records),
        new=len(new),
        already_known=len(matched) - len(new),
        unmatched=len(unmatched),
        cases=[
            OpenedCase(
                id=case.id,
                case_type=case.case_type,
                discrepancy_type=(
                    None
                    if discrepancy.discrepancy_type == SHORTFALL
                    else cast(DiscrepancyType, discrepancy.discrepancy_type)
                ),
                order_id=discrepancy.order_id,
                references=list(discrepancy.references),
                url=f"/v1/cases/{case.id}",
            )
            for case, discrepancy in opened
        ],
        unmatched_records=[
            UnmatchedRecord(reference=r.reference, order_id=r.order_id) for r in unmatched
        ],
    )
