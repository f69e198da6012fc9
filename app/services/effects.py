"""Carries out a decision's actions: the ledger, the vendor's standing, the case, events.

Final decisions are applied; so are interim ones, which act while a case still waits (a
payout dispute escalates and notifies when it opens). Proposed decisions never are.

Rules only say what to do (architecture: consequences record, the service acts). The caller
holds the vendor's row lock. Each action that touches the vendor becomes one ledger entry
keyed by (decision, action index), so it is applied exactly once. A superseded decision's
entries are undone by new "reversal" entries, never by editing them.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ids import new_id
from app.models import Case, Decision, LedgerEntry, Vendor
from app.observability import metrics
from app.observability.context import on_commit
from app.repositories import ledger
from app.services import events
from app.services.errors import Conflict

# A handler's action also carries ``entry_id``, the ledger entry it becomes, for events.
Action = dict[str, Any]
Handler = Callable[[AsyncSession, Case, Vendor, Action], Awaitable[dict[str, Any] | None]]

# Vendor statuses in order of severity: a status only ever moves down this list here.
STATUS_ORDER = ("active", "on_hold", "deactivation_review", "deactivated")


async def _set_status(
    session: AsyncSession, case: Case, vendor: Vendor, status: str
) -> dict[str, Any]:
    before = vendor.status
    if STATUS_ORDER.index(status) > STATUS_ORDER.index(before):
        vendor.status = status
        await events.emit(
            session,
            "vendor.status_changed",
            case=case,
            vendor_id=vendor.id,
            previous=before,
            status=status,
        )
    return {"previous_status": before, "status": vendor.status}


async def _credit_refund(_: AsyncSession, __: Case, vendor: Vendor, action: Action) -> None:
    vendor.credits_refunded += action["amount"]


async def _credit_fine(_: AsyncSession, __: Case, vendor: Vendor, action: Action) -> None:
    vendor.credits_deducted += action["amount"]


async def _sla_strike(_: AsyncSession, __: Case, vendor: Vendor, ___: Action) -> dict[str, Any]:
    vendor.active_strikes += 1
    return {"active_strikes": vendor.active_strikes}


async def _hold(session: AsyncSession, case: Case, vendor: Vendor, _: Action) -> dict[str, Any]:
    return await _set_status(session, case, vendor, "on_hold")


async def _deactivation_review(
    session: AsyncSession, case: Case, vendor: Vendor, _: Action
) -> dict[str, Any]:
    return await _set_status(session, case, vendor, "deactivation_review")


async def _flag(_: AsyncSession, case: Case, vendor: Vendor, action: Action) -> None:
    vendor.flags = [*vendor.flags, {"reason": action["reason"], "case_id": case.id}]


async def _block_new_leads(
    session: AsyncSession, case: Case, vendor: Vendor, _: Action
) -> dict[str, Any]:
    was_blocked = vendor.new_leads_blocked
    if not was_blocked:
        vendor.new_leads_blocked = True
        await events.emit(session, "vendor.new_leads_blocked", case=case, vendor_id=vendor.id)
    return {"was_blocked": was_blocked}


async def _reduce_max_leads(
    _: AsyncSession, __: Case, vendor: Vendor, action: Action
) -> dict[str, Any]:
    before = vendor.max_leads
    vendor.max_leads = max(0, vendor.max_leads - action["by"])
    return {"previous_max_leads": before, "max_leads": vendor.max_leads}


async def _platform_payout(
    session: AsyncSession, case: Case, vendor: Vendor, action: Action
) -> dict[str, Any]:
    # A payout of finance's size waits; app.services.payouts releases or rejects it later.
    status = "pending_approval" if action["requires_approval"] else "released"
    if status == "released":
        await events.emit(
            session,
            "payout.released",
            case=case,
            vendor_id=vendor.id,
            payout_id=action["entry_id"],
            amount=action["amount"],
        )
    return {"status": status}


async def _nothing_on_vendor(_: AsyncSession, __: Case, ___: Vendor, ____: Action) -> None:
    return None


# Actions recorded in the vendor's ledger, and what each does to the vendor's standing.
LEDGER_ACTIONS: dict[str, Handler] = {
    "credit_refund": _credit_refund,
    "credit_fine": _credit_fine,
    "sla_strike": _sla_strike,
    "hold_vendor": _hold,
    "deactivation_review": _deactivation_review,
    "flag_vendor": _flag,
    "block_new_leads": _block_new_leads,
    "reduce_max_leads": _reduce_max_leads,
    "platform_payout": _platform_payout,
    "wallet_refund_eligible": _nothing_on_vendor,
}


async def escalate(session: AsyncSession, case: Case, to: str, **why: str) -> bool:
    """Sends the case to a team once; returns False when it was already there.

    A later decision or a clock may name a team the case already went to (a high-value
    dispute is with finance from the start, an unreachable vendor's dispute is with the ops
    manager before it breaches its resolution clock): the team is told once.
    """
    if any(escalation["to"] == to for escalation in case.escalations):
        return False
    case.escalations = [*case.escalations, {"to": to, **why}]
    on_commit(metrics.ESCALATIONS.labels(to).inc)
    await events.emit(session, "case.escalated", case=case, to=to, **why)
    return True


async def _case_action(session: AsyncSession, case: Case, action: Action) -> None:
    kind = action["type"]
    if kind == "escalate":
        await escalate(session, case, action["to"])
    elif kind == "ticket_note":
        case.notes = [*case.notes, {"text": action["text"], "by": "rules"}]
    elif kind == "notify":
        # "text" is there when the rule table owns the template's words.
        await events.emit(
            session,
            "notification.requested",
            case=case,
            **{k: v for k, v in action.items() if k != "type"},
        )
    else:
        raise ValueError(f"no effect is defined for action type {kind!r}")


async def apply(
    session: AsyncSession,
    decision: Decision,
    case: Case,
    vendor: Vendor | None,
    actor: str = "rules",
) -> None:
    """``vendor`` is None only for a case that names no vendor (a complaint about a lead
    this service does not know); such a decision can only have case actions."""
    for index, action in enumerate(decision.actions):
        handler = LEDGER_ACTIONS.get(action["type"])
        if handler is None:
            await _case_action(session, case, action)
            continue
        if vendor is None:
            raise ValueError(f"action {action['type']!r} needs a vendor; case {case.id} has none")
        entry_id = new_id("le")
        details = await handler(session, case, vendor, {**action, "entry_id": entry_id}) or {}
        params = {k: v for k, v in action.items() if k not in ("type", "amount")}
        await ledger.add(
            session,
            LedgerEntry(
                id=entry_id,
                vendor_id=vendor.id,
                decision_id=decision.id,
                action_index=index,
                case_id=case.id,
                order_id=case.order_id,
                kind=action["type"],
                amount=action.get("amount"),
                details={**params, **details},
                created_by=actor,
            ),
        )


# --- reversal -------------------------------------------------------------------------------

Reverser = Callable[[AsyncSession, Case, Vendor, LedgerEntry], Awaitable[dict[str, Any] | None]]


async def _unrefund(_: AsyncSession, __: Case, vendor: Vendor, entry: LedgerEntry) -> None:
    vendor.credits_refunded -= entry.amount or 0


async def _unfine(_: AsyncSession, __: Case, vendor: Vendor, entry: LedgerEntry) -> None:
    vendor.credits_deducted -= entry.amount or 0


async def _unstrike(_: AsyncSession, __: Case, vendor: Vendor, ___: LedgerEntry) -> dict[str, Any]:
    vendor.active_strikes = max(0, vendor.active_strikes - 1)
    return {"active_strikes": vendor.active_strikes}


async def _in_force_elsewhere(session: AsyncSession, vendor: Vendor, entry: LedgerEntry) -> bool:
    """Another unreversed entry of the same kind that changed the vendor holds it there."""
    others = await ledger.in_force(session, vendor.id, entry.kind, excluding=entry.id)
    return any(
        other.details.get("previous_status") != other.details.get("status")
        if "status" in other.details
        else other.details.get("was_blocked") is False
        for other in others
    )


async def _restore_status(
    session: AsyncSession, case: Case, vendor: Vendor, entry: LedgerEntry
) -> dict[str, Any]:
    # Only what this entry did, and only while nothing since has moved the vendor on.
    set_to: str | None = entry.details.get("status")
    before: str | None = entry.details.get("previous_status")
    restore = (
        before is not None
        and set_to != before
        and vendor.status == set_to
        and not await _in_force_elsewhere(session, vendor, entry)
    )
    if restore and before is not None:
        vendor.status = before
        await events.emit(
            session,
            "vendor.status_changed",
            case=case,
            vendor_id=vendor.id,
            previous=set_to,
            status=before,
        )
    return {"restored": restore, "status": vendor.status}


async def _unflag(_: AsyncSession, case: Case, vendor: Vendor, entry: LedgerEntry) -> None:
    flag = {"reason": entry.details.get("reason"), "case_id": entry.case_id}
    if flag in vendor.flags:
        flags = list(vendor.flags)
        flags.remove(flag)
        vendor.flags = flags


async def _unblock(
    session: AsyncSession, case: Case, vendor: Vendor, entry: LedgerEntry
) -> dict[str, Any]:
    unblock = (
        entry.details.get("was_blocked") is False
        and vendor.new_leads_blocked
        and not await _in_force_elsewhere(session, vendor, entry)
    )
    if unblock:
        vendor.new_leads_blocked = False
        await events.emit(session, "vendor.new_leads_unblocked", case=case, vendor_id=vendor.id)
    return {"new_leads_blocked": vendor.new_leads_blocked}


async def _restore_max_leads(
    _: AsyncSession, __: Case, vendor: Vendor, entry: LedgerEntry
) -> dict[str, Any]:
    reduced = entry.details.get("previous_max_leads", 0) - entry.details.get("max_leads", 0)
    vendor.max_leads += max(0, reduced)
    return {"max_leads": vendor.max_leads}


async def _cancel_payout(
    session: AsyncSession, case: Case, vendor: Vendor, entry: LedgerEntry
) -> dict[str, Any]:
    if entry.details.get("status") == "released":
        raise Conflict(
            f"Platform payout {entry.id} was already released to the customer; an override "
            "cannot take money back."
        )
    await events.emit(
        session, "payout.cancelled", case=case, vendor_id=vendor.id, amount=entry.amount
    )
    return {"status": "cancelled"}


async def _withdraw(_: AsyncSession, __: Case, ___: Vendor, ____: LedgerEntry) -> None:
    # Eligibility is only a mark; a released refund is refused before this runs.
    return None


REVERSALS: dict[str, Reverser] = {
    "credit_refund": _unrefund,
    "credit_fine": _unfine,
    "sla_strike": _unstrike,
    "hold_vendor": _restore_status,
    "deactivation_review": _restore_status,
    "flag_vendor": _unflag,
    "block_new_leads": _unblock,
    "reduce_max_leads": _restore_max_leads,
    "platform_payout": _cancel_payout,
    "wallet_refund_eligible": _withdraw,
}


async def reverse(
    session: AsyncSession,
    superseded: Decision,
    by: Decision,
    case: Case,
    vendor: Vendor,
    actor: str,
) -> None:
    """Undoes what ``superseded`` applied, last action first, with new ledger entries.

    Each reversal settles the entry it undoes and carries the opposite amount, so summing an
    effect's entries (reversals by what they reverse) gives what is in force.
    """
    for entry in reversed(await ledger.applied_by(session, superseded.id)):
        settled = await ledger.settled_by(session, entry.id)
        if settled is not None:
            raise Conflict(
                f"Ledger entry {entry.id} ({entry.kind}) is already settled by {settled.id} "
                f"({settled.kind}); an override cannot undo it."
            )
        details = await REVERSALS[entry.kind](session, case, vendor, entry) or {}
        await ledger.add(
            session,
            LedgerEntry(
                id=new_id("le"),
                vendor_id=vendor.id,
                decision_id=by.id,
                case_id=case.id,
                order_id=case.order_id,
                kind="reversal",
                amount=None if entry.amount is None else -entry.amount,
                details={"reverses": entry.kind, **details},
                settles_entry_id=entry.id,
                created_by=actor,
            ),
        )
