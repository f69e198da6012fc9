"""The one gate money passes: every decision's actions are checked here before they are
recorded, whoever decided (the rules, an ops override, an ops manager's decision).

What it enforces, for the order the case is about (docs/money.md):

- one platform payout per decision, so a payment cannot be split to stay under a limit;
- the platform's payouts in force (waiting for approval or released) never add up to more
  than the final invoice less what the customer is known to have received: the most any
  dispute of the order admitted, what the decision counts, the payment the order system
  marked with a reference, and what the payment records show reached the customer;
- once the order's payouts reach ``high_value_threshold``, a payout waits for finance's
  approval, and only an ops manager may decide one by hand;
- wallet refunds in force never exceed the final invoice, nor the payment the order system
  recorded, nor what ops confirmed the vendor paid (nothing, unless it confirmed);
- credit refunds in force never exceed the credits the vendor paid to unlock the order;
- an amount is in the unit its action declares (paise or credits), and a case type takes
  only the money actions its own rule table can take (a fail reason pays no payout).

The caller holds the vendor's lock (app.cases.locks): every money write of an order is made
under it, so the sums read here cannot change before the decision commits.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.roles import Role
from app.cases.locks import Locked
from app.effects import repository as ledger
from app.effects.catalogue import EFFECTS
from app.errors import Conflict, Forbidden, InvalidRequest, ServiceError
from app.rules_engine.policy import Policy
from app.rules_engine.templates import format_rupees

PAYOUT = "platform_payout"
WALLET = "wallet_refund_eligible"
CREDIT_REFUND = "credit_refund"
# What leaves the platform or comes back to the vendor: a case type takes these only if its
# own table can. A credit fine (credits the vendor owes) any decision may set.
LIMITED = frozenset({PAYOUT, WALLET, CREDIT_REFUND})

Action = dict[str, Any]


@dataclass(frozen=True)
class Decider:
    """Who is deciding: the rules, or a person (with their key's role) deciding by hand.
    ``field``: where a person's request put the amount a limit refuses (a manager states
    what the customer received, not an action)."""

    kind: Literal["rules", "override", "manager"]
    role: str | None = None
    field: str | None = None

    @property
    def by_hand(self) -> bool:
        return self.kind != "rules"


@dataclass(frozen=True)
class Limits:
    """What a decision may still move on its order."""

    invoice: int
    received: int
    # What shows the customer received ``received`` (for the error that refuses a payout).
    evidence: str
    paid_out: int
    wallet: int
    wallet_cap: int
    credits_refunded: int
    unlock_credits: int

    @property
    def owed(self) -> int:
        return max(0, self.invoice - self.received - self.paid_out)


def _refuse(decider: Decider, detail: str, index: int, param: str = "amount") -> ServiceError:
    # A person's decision names the field at fault; the rules exceeding a limit means the
    # order's money moved since the case was decided on, a conflict with the current state.
    if decider.by_hand:
        return InvalidRequest(detail, decider.field or f"actions[{index}].{param}")
    return Conflict(detail)


async def limits(
    session: AsyncSession,
    locked: Locked,
    *,
    undoing: Collection[str],
    received: int,
    wallet_confirmed: int | None,
) -> Limits | None:
    """``undoing``: ledger entries this decision reverses, whose money no longer counts."""
    order = locked.order
    if order is None:
        return None
    money = await ledger.order_money(session, order.id)
    entries = [m for m in money.entries if m.in_force and m.id not in undoing]
    known = [(max(0, received), "what the decision counts")]
    known.append((money.admitted_received, "the customer's dispute"))
    payment = order.payment if isinstance(order.payment, dict) else {}
    recorded = payment.get("amount")
    if payment.get("marked") and payment.get("reference") and isinstance(recorded, int):
        known.append((recorded, f"the order system's payment {payment['reference']}"))
    known.append((money.received_by_customer, "payment records"))
    most, evidence = max(known)
    caps = [order.final_invoice_amount, wallet_confirmed or 0]
    if isinstance(recorded, int):
        caps.append(recorded)
    return Limits(
        invoice=order.final_invoice_amount,
        received=most,
        evidence=evidence,
        paid_out=sum(m.amount for m in entries if m.kind == PAYOUT),
        wallet=sum(m.amount for m in entries if m.kind == WALLET),
        wallet_cap=min(caps),
        credits_refunded=sum(m.amount for m in entries if m.kind == CREDIT_REFUND),
        unlock_credits=order.unlock_credits,
    )


async def check(
    session: AsyncSession,
    locked: Locked,
    actions: Sequence[Action],
    *,
    policy: Policy,
    decider: Decider,
    money_actions: frozenset[str],
    undoing: Collection[str] = (),
    received: int = 0,
    wallet_confirmed: int | None = None,
) -> list[Action]:
    """The actions as they may be recorded, or a typed error saying which limit they break.

    ``undoing``: the ledger entries this decision reverses (their money does not count).
    ``received``: what this decision counts the customer as having received.
    ``wallet_confirmed``: what ops confirmed the vendor paid the customer (None: nothing).
    ``money_actions``: the money actions the case type's table can take.
    """
    payouts = [index for index, action in enumerate(actions) if action["type"] == PAYOUT]
    if len(payouts) > 1:
        raise _refuse(
            decider,
            "One platform payout per decision: send the whole amount as one payout.",
            payouts[1],
            "type",
        )
    limited = any(action["type"] in LIMITED for action in actions)
    room = (
        await limits(
            session,
            locked,
            undoing=undoing,
            received=received,
            wallet_confirmed=wallet_confirmed,
        )
        if limited
        else None
    )
    checked: list[Action] = []
    for index, action in enumerate(actions):
        kind = action["type"]
        if EFFECTS[kind].managers_only and decider.by_hand and decider.role != Role.OPS_MANAGER:
            raise Forbidden(f"Only an ops manager may decide {kind} (actions[{index}].type).")
        if EFFECTS[kind].in_ledger and locked.vendor is None:
            raise _refuse(
                decider, f"Case {locked.case.id} names no vendor; {kind} needs one.", index, "type"
            )
        if kind not in LIMITED:  # no money: a case action, a standing change, a credit fine
            checked.append(dict(action))
            continue
        if kind not in money_actions:
            raise _refuse(
                decider,
                f"A {locked.case.case_type.replace('_', ' ')} case cannot take {kind}.",
                index,
                "type",
            )
        if room is None:
            raise _refuse(decider, f"{kind} needs an order to be checked against.", index, "type")
        amount = action["amount"]
        if kind == PAYOUT:
            checked.append(_payout(action, amount, room, policy, decider, index))
            room = replace(room, paid_out=room.paid_out + amount)
        elif kind == WALLET:
            if amount < 1 or room.wallet + amount > room.wallet_cap:
                raise _refuse(
                    decider,
                    f"A wallet refund of {format_rupees(amount)} would bring the order's refunds "
                    f"to {format_rupees(room.wallet + amount)}; at most "
                    f"{format_rupees(room.wallet_cap)} was paid (the least of the final "
                    "invoice, the payment the order system recorded and what ops confirmed).",
                    index,
                )
            room = replace(room, wallet=room.wallet + amount)
            checked.append(dict(action))
        else:  # a credit refund
            if room.credits_refunded + amount > room.unlock_credits:
                raise _refuse(
                    decider,
                    f"A refund of {amount} credits would bring the order's refunds to "
                    f"{room.credits_refunded + amount} credits; the vendor paid "
                    f"{room.unlock_credits} to unlock it.",
                    index,
                )
            room = replace(room, credits_refunded=room.credits_refunded + amount)
            checked.append(dict(action))
    return checked


def _payout(
    action: Action, amount: int, room: Limits, policy: Policy, decider: Decider, index: int
) -> Action:
    if amount < 1:
        raise _refuse(decider, "A payout of 0 moves no money; leave the action out.", index)
    if amount > room.owed:
        raise _refuse(
            decider,
            f"A payout of {format_rupees(amount)} is more than the order is owed: at most "
            f"{format_rupees(room.owed)} (final invoice {format_rupees(room.invoice)}, less "
            f"{format_rupees(room.received)} the customer received by {room.evidence}, less "
            f"{format_rupees(room.paid_out)} the platform already pays).",
            index,
        )
    # Measured on the order, not the one payout: what the platform pays on it in all.
    high_value = room.paid_out + amount >= policy.high_value_threshold
    if high_value and decider.by_hand and decider.role == "ops":
        raise Forbidden(
            f"With this payout the platform pays {format_rupees(room.paid_out + amount)} on the "
            f"order, at or above the high-value threshold "
            f"({format_rupees(policy.high_value_threshold)}): only an ops manager may decide it."
        )
    # Whatever the action asked, a payout of finance's size waits for finance.
    return {**action, "requires_approval": bool(action.get("requires_approval")) or high_value}
