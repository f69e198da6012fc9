"""Carrying a decision out, and undoing one: ledger entries, the vendor's standing, events.

Rules only say what to do; this module does it, in the request's transaction, under the
locks of app.cases.locks. Each action that touches the vendor becomes one ledger entry keyed
by (decision, action index), so it is applied once however often the request is retried. A
superseded decision's entries are undone by new ``reversal`` entries, never by editing
them; the vendor's standing is then folded again from what stays in force.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.effects import repository as ledger
from app.effects.catalogue import EFFECTS, fold
from app.effects.context import Applying
from app.effects.standing import Standing
from app.errors import Conflict
from app.events import service as events
from app.ids import new_id
from app.models import Case, Decision, LedgerEntry, Vendor

# What ends a money entry for good: the money left (or a person released it).
PAID_OUT = {"payout_approved": "approved", "wallet_refund_released": "released"}


def standing_of(vendor: Vendor) -> Standing:
    return Standing(
        status=vendor.status,
        new_leads_blocked=vendor.new_leads_blocked,
        max_leads=vendor.max_leads,
        base_max_leads=vendor.base_max_leads,
        flags=tuple(vendor.flags),
        credits_refunded=vendor.credits_refunded,
        credits_deducted=vendor.credits_deducted,
    )


async def set_standing(
    session: AsyncSession,
    vendor: Vendor,
    before: Standing,
    after: Standing,
    case: Case | None = None,
    **why: Any,
) -> None:
    """Writes ``after`` to the vendor's row and tells other systems what changed (``case``:
    the case whose decision changed it, if any; ``why``: what the events add)."""
    vendor.status = after.status
    vendor.new_leads_blocked = after.new_leads_blocked
    vendor.max_leads = after.max_leads
    vendor.flags = [dict(flag) for flag in after.flags]
    vendor.credits_refunded = after.credits_refunded
    vendor.credits_deducted = after.credits_deducted
    common: dict[str, Any] = {"case": case, "vendor_id": vendor.id, **why}
    if after.status != before.status:
        await events.emit(
            session,
            "vendor.status_changed",
            previous=before.status,
            status=after.status,
            **common,
        )
    if after.new_leads_blocked != before.new_leads_blocked:
        kind = "blocked" if after.new_leads_blocked else "unblocked"
        await events.emit(session, f"vendor.new_leads_{kind}", **common)


async def apply(ctx: Applying, decision: Decision) -> None:
    """Carries out every action of ``decision`` (already checked by app.effects.guard)."""
    vendor = ctx.vendor
    before = standing_of(vendor) if vendor is not None else None
    standing = before
    for index, action in enumerate(decision.actions):
        effect = EFFECTS[action["type"]]
        if not effect.in_ledger:
            await effect.on_case(ctx, action)
            continue
        if vendor is None or standing is None:
            raise ValueError(f"{action['type']!r} needs a vendor; case {ctx.case.id} has none")
        entry_id = new_id("le")
        details = {k: v for k, v in action.items() if k not in ("type", "amount")}
        details.update(await effect.applied(ctx, action, entry_id))
        entry = LedgerEntry(
            id=entry_id,
            vendor_id=vendor.id,
            decision_id=decision.id,
            action_index=index,
            case_id=ctx.case.id,
            order_id=ctx.case.order_id,
            kind=action["type"],
            amount=action.get("amount"),
            details=details,
            created_by=ctx.actor,
            created_by_name=ctx.name,
        )
        await ledger.add(ctx.session, entry)
        standing = effect.fold(standing, entry)
    if vendor is not None and before is not None and standing is not None:
        await set_standing(ctx.session, vendor, before, standing, ctx.case)


async def reverse(ctx: Applying, by: Decision, made: list[ledger.Effected]) -> list[LedgerEntry]:
    """Undoes the entries ``made`` (read and locked by the caller: the earlier decisions'
    entries still in force), last first, by ``by``'s reversal entries, and folds the vendor's
    standing again. Returns the entries it reversed.

    Money that has left (an approved payout, a released wallet refund) cannot come back: 409.
    A payout finance rejected is already no money; it is left as it is.
    """
    vendor = ctx.vendor
    if vendor is None:
        return []
    undone = []
    for effected in reversed(made):
        entry = effected.entry
        if effected.settlement in PAID_OUT:
            raise Conflict(
                f"{entry.kind.replace('_', ' ').capitalize()} {entry.id} of decision "
                f"{entry.decision_id} was already {PAID_OUT[effected.settlement]}: money that "
                "has left cannot be taken back by a new decision."
            )
        if effected.settlement is not None:
            continue
        details = await EFFECTS[entry.kind].reversed(ctx, entry)
        await ledger.add(
            ctx.session,
            LedgerEntry(
                id=new_id("le"),
                vendor_id=vendor.id,
                decision_id=by.id,
                case_id=ctx.case.id,
                order_id=ctx.case.order_id,
                kind=ledger.REVERSAL,
                amount=None if entry.amount is None else -entry.amount,
                details={"reverses": entry.kind, **details},
                settles_entry_id=entry.id,
                created_by=ctx.actor,
                created_by_name=ctx.name,
            ),
        )
        undone.append(entry)
    if undone:
        await refold(ctx, vendor)
    return undone


async def refold(ctx: Applying, vendor: Vendor) -> None:
    """Folds the vendor's standing again from every entry in force (after a reversal)."""
    await ctx.session.flush()
    entries = await ledger.in_force_for_vendor(ctx.session, vendor.id)
    after = fold(entries, vendor.base_max_leads)
    await set_standing(ctx.session, vendor, standing_of(vendor), after, ctx.case)
