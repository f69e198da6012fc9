"""The one gate money passes: every decision's actions are checked here before they are
recorded, whoever decided (the rules, an ops override, an ops manager's decision).

What it enforces, for the order the case is about (docs/money.md):

- the platform's payouts in force (waiting for approval or released) never add up to more
  than the final invoice less what the customer is known to have received (the most any
  dispute of the order admitted, or the decision itself counts);
- a payout at or above ``high_value_threshold`` always waits for finance's approval, and
  only an ops manager may decide one by override;
- wallet refunds in force never exceed the final invoice, nor the payment the order system
  recorded, nor what ops confirmed the vendor paid;
- credit refunds in force never exceed the credits the vendor paid to unlock the order;
- an amount is in the unit its action declares (paise or credits), and a case type takes
  only the money actions its own rule table can take (a fail reason pays no payout).

The caller holds the vendor's lock (app.cases.locks): every money write of an order is made
under it, so the sums read here cannot change before the decision commits.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.locks import Locked
from app.effects.catalogue import EFFECTS
from app.models import Decision
from app.repositories import cases as case_rows
from app.repositories import ledger
from app.rules_engine.policy import Policy
from app.rules_engine.templates import format_rupees
from app.services.errors import Conflict, Forbidden, InvalidRequest, ServiceError

PAYOUT = "platform_payout"
WALLET = "wallet_refund_eligible"
CREDIT_REFUND = "credit_refund"
# What leaves the platform or comes back to the vendor: a case type takes these only if its
# own table can. A credit fine (credits the vendor owes) any decision may set.
LIMITED = frozenset({PAYOUT, WALLET, CREDIT_REFUND})

Action = dict[str, Any]


@dataclass(frozen=True)
class Decider:
    """Who is deciding: the rules, or a person (with their key's role) overriding them."""

    kind: Literal["rules", "override", "manager"]
    role: str | None = None

    @property
    def by_hand(self) -> bool:
        return self.kind != "rules"


@dataclass(frozen=True)
class Limits:
    """What a decision may still move on its order."""

    invoice: int
    received: int
    paid_out: int
    wallet: int
    wallet_cap: int
    credits_refunded: int
    unlock_credits: int

    @property
    def owed(self) -> int:
        return max(0, self.invoice - self.received - self.paid_out)


def _refuse(decider: Decider, detail: str, index: int, param: str = "amount") -> ServiceError:
    # A person's override names the action at fault; the rules exceeding a limit means the
    # order's money moved since the case was decided on, a conflict with the current state.
    if decider.by_hand:
        return InvalidRequest(detail, f"actions[{index}].{param}")
    return Conflict(detail)


async def limits(
    session: AsyncSession,
    locked: Locked,
    *,
    reversing: Decision | None,
    received: int,
    wallet_confirmed: int | None,
) -> Limits | None:
    order = locked.order
    if order is None:
        return None
    entries = [
        m
        for m in await ledger.money_of_order(session, order.id)
        if m.in_force and (reversing is None or m.decision_id != reversing.id)
    ]
    admitted = await case_rows.admitted_received(session, order.id)
    recorded = order.payment.get("amount") if isinstance(order.payment, dict) else None
    caps = [order.final_invoice_amount]
    if isinstance(recorded, int):
        caps.append(recorded)
    if wallet_confirmed is not None:
        caps.append(wallet_confirmed)
    return Limits(
        invoice=order.final_invoice_amount,
        received=max(admitted, received),
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
    reversing: Decision | None = None,
    received: int = 0,
    wallet_confirmed: int | None = None,
) -> list[Action]:
    """The actions as they may be recorded, or a typed error saying which limit they break.

    ``reversing``: the decision this one supersedes and undoes (its money does not count).
    ``received``: what this decision counts the customer as having received.
    ``money_actions``: the money actions the case type's table can take.
    """
    limited = any(action["type"] in LIMITED for action in actions)
    room = (
        await limits(
            session,
            locked,
            reversing=reversing,
            received=received,
            wallet_confirmed=wallet_confirmed,
        )
        if limited
        else None
    )
    checked: list[Action] = []
    for index, action in enumerate(actions):
        kind = action["type"]
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
            f"{format_rupees(room.received)} the customer received, less "
            f"{format_rupees(room.paid_out)} the platform already pays).",
            index,
        )
    high_value = amount >= policy.high_value_threshold
    if high_value and decider.kind == "override" and decider.role == "ops":
        raise Forbidden(
            f"A payout of {format_rupees(amount)} is at or above the high-value threshold "
            f"({format_rupees(policy.high_value_threshold)}): only an ops manager may decide "
            "it by override."
        )
    # Whatever the action asked, a payout of finance's size waits for finance.
    return {**action, "requires_approval": bool(action.get("requires_approval")) or high_value}
