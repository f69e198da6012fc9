"""Every action a decision (or an ops manager) can take, one ``Effect`` each: its parameters,
what it does to the vendor's standing, and what applying or reversing it adds.

This is the action vocabulary: the rule tables are checked against it when they load
(app.rules_engine.loader), the wire models of an override are made from it
(app.effects.schemas), and app.effects.ledger carries decisions out through it. Nothing
else lists action types.
"""

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from app.cases.escalations import escalate
from app.effects.context import Applying
from app.effects.standing import Entry, Standing
from app.errors import Conflict
from app.events import service as events
from app.rules_engine.model import ParamKind

Action = dict[str, Any]


class Effect:
    type: ClassVar[str]
    summary: ClassVar[str]
    params: ClassVar[Mapping[str, ParamKind]] = {}
    # Recorded as an entry of the vendor's ledger (False: it acts on the case only).
    in_ledger: ClassVar[bool] = True
    # In the vocabulary of rules and overrides (False: an ops manager's standing action).
    decided: ClassVar[bool] = True
    # Only an ops manager's decision may take it by hand (docs/people.md): an ops override
    # cannot undo what the manager's own standing actions are for.
    managers_only: ClassVar[bool] = False

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        """What the entry, in force, does to the vendor's standing."""
        return standing

    async def applied(self, ctx: Applying, action: Action, entry_id: str) -> dict[str, Any]:
        """Extra details of the new entry (and its events); the standing is folded apart."""
        return {}

    async def reversed(self, ctx: Applying, entry: Any) -> dict[str, Any]:
        """Details of the reversal entry; raise Conflict if the entry cannot be undone."""
        return {}

    async def on_case(self, ctx: Applying, action: Action) -> None:
        """For effects not in the ledger: what they do to the case."""
        raise NotImplementedError(self.type)


# --- money ---------------------------------------------------------------------------------


def _decided_by(ctx: Applying) -> dict[str, Any]:
    # Money a person decided records who: a payout's approver must be someone else (four
    # eyes); a wallet refund keeps it as the record of who made it eligible.
    return {"decided_by_name": ctx.name} if ctx.name else {}


class PlatformPayout(Effect):
    type = "platform_payout"
    summary = (
        "The platform pays the customer (paise); at or above the threshold it waits for finance."
    )
    params = {"amount": "paise", "requires_approval": "bool"}

    async def applied(self, ctx: Applying, action: Action, entry_id: str) -> dict[str, Any]:
        # app.effects.guard has set requires_approval for every payout of finance's size.
        status = "pending_approval" if action["requires_approval"] else "released"
        if status == "released":
            await events.emit(
                ctx.session,
                "payout.released",
                case=ctx.case,
                payout_id=entry_id,
                amount=action["amount"],
            )
        return {"status": status, **_decided_by(ctx)}

    async def reversed(self, ctx: Applying, entry: Any) -> dict[str, Any]:
        if entry.details.get("status") == "released":
            raise Conflict(
                f"Platform payout {entry.id} was released with its decision: money that has "
                "left cannot be taken back by a new decision."
            )
        await events.emit(
            ctx.session, "payout.cancelled", case=ctx.case, payout_id=entry.id, amount=entry.amount
        )
        return {"status": "cancelled"}


class WalletRefundEligible(Effect):
    type = "wallet_refund_eligible"
    summary = "A wallet refund (paise) becomes eligible; only an explicit ops release moves it."
    params = {"amount": "paise"}

    async def applied(self, ctx: Applying, action: Action, entry_id: str) -> dict[str, Any]:
        return _decided_by(ctx)


class CreditRefund(Effect):
    type = "credit_refund"
    summary = "The vendor's unlock credits come back (credits)."
    params = {"amount": "credits"}

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        return standing.moved(credits_refunded=standing.credits_refunded + (entry.amount or 0))


class CreditFine(Effect):
    type = "credit_fine"
    summary = "The vendor is fined lead credits (credits)."
    params = {"amount": "credits"}

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        return standing.moved(credits_deducted=standing.credits_deducted + (entry.amount or 0))


# --- standing ------------------------------------------------------------------------------


class SlaStrike(Effect):
    type = "sla_strike"
    summary = "One SLA strike; it counts until strike_expiry_days after it was given."


class HoldVendor(Effect):
    type = "hold_vendor"
    summary = "An active vendor goes on hold."

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        return standing.at_least("on_hold")


class DeactivationReview(Effect):
    type = "deactivation_review"
    summary = "The vendor is put up for deactivation review."

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        if standing.status == "deactivated":
            return standing
        return standing.at_least("deactivation_review")


class FlagVendor(Effect):
    type = "flag_vendor"
    summary = "The vendor is flagged, with a reason."
    params = {"reason": "code"}

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        flag = {"reason": entry.details.get("reason"), "case_id": entry.case_id}
        return standing.moved(flags=(*standing.flags, flag))


class BlockNewLeads(Effect):
    type = "block_new_leads"
    summary = "The vendor gets no new leads until an ops manager lifts the block."

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        return standing.moved(new_leads_blocked=True)


class UnblockNewLeads(Effect):
    type = "unblock_new_leads"
    summary = "An ops manager lifts the vendor's block on new leads."
    managers_only = True

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        return standing.moved(new_leads_blocked=False)


class ReduceMaxLeads(Effect):
    type = "reduce_max_leads"
    summary = "The vendor's maximum number of leads goes down (never below 0)."
    params = {"by": "count"}

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        by = int(entry.details.get("by", 0))
        return standing.moved(max_leads=max(0, standing.max_leads - by))


# An ops manager's standing actions (POST /v1/vendors/{id}/standing): entries of the ledger
# like a decision's, so they fold the same way, but no rule or override takes them.


class ReleaseHold(Effect):
    type = "release_hold"
    summary = "An ops manager releases a vendor on hold."
    decided = False

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        return standing.moved(status="active") if standing.status == "on_hold" else standing


class Reinstate(Effect):
    type = "reinstate"
    summary = "An ops manager concludes a deactivation review (or a deactivation) by reinstating."
    decided = False

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        if standing.status in ("deactivation_review", "deactivated"):
            return standing.moved(status="active")
        return standing


class Deactivate(Effect):
    type = "deactivate"
    summary = "An ops manager concludes a deactivation review by deactivating the vendor."
    decided = False

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        return standing.moved(status="deactivated")


class RestoreMaxLeads(Effect):
    type = "restore_max_leads"
    summary = "An ops manager gives the vendor back its starting maximum of leads."
    decided = False

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        return standing.moved(max_leads=standing.base_max_leads)


class ClearFlags(Effect):
    type = "clear_flags"
    summary = "An ops manager clears every flag on the vendor."
    decided = False

    def fold(self, standing: Standing, entry: Entry) -> Standing:
        return standing.moved(flags=())


# --- the case ------------------------------------------------------------------------------


class Escalate(Effect):
    type = "escalate"
    summary = "The case goes to a team (once per team); the ticket's team follows it."
    params = {"to": "target"}
    in_ledger = False

    async def on_case(self, ctx: Applying, action: Action) -> None:
        await escalate(ctx.session, ctx.case, action["to"])


class Notify(Effect):
    type = "notify"
    summary = "A notification to send (vendor, customer, a manager), through the events feed."
    params = {"audience": "code", "template": "code"}
    in_ledger = False

    async def on_case(self, ctx: Applying, action: Action) -> None:
        # "text" is there when the rule table owns the template's words.
        await events.emit(
            ctx.session,
            "notification.requested",
            case=ctx.case,
            **{k: v for k, v in action.items() if k != "type"},
        )


class TicketNote(Effect):
    type = "ticket_note"
    summary = "A note on the case's ticket."
    params = {"text": "text"}
    in_ledger = False

    async def on_case(self, ctx: Applying, action: Action) -> None:
        ctx.case.notes = [*ctx.case.notes, {"text": action["text"], "by": "rules"}]


EFFECTS: dict[str, Effect] = {
    effect.type: effect
    for effect in (
        PlatformPayout(),
        WalletRefundEligible(),
        CreditRefund(),
        CreditFine(),
        SlaStrike(),
        HoldVendor(),
        DeactivationReview(),
        FlagVendor(),
        BlockNewLeads(),
        UnblockNewLeads(),
        ReduceMaxLeads(),
        ReleaseHold(),
        Reinstate(),
        Deactivate(),
        RestoreMaxLeads(),
        ClearFlags(),
        Escalate(),
        Notify(),
        TicketNote(),
    )
}

# What rules and overrides may do: action type -> its parameters and their kinds.
VOCABULARY: dict[str, Mapping[str, ParamKind]] = {
    name: effect.params for name, effect in EFFECTS.items() if effect.decided
}
# Actions that move money or credits, and the unit of their amount.
UNITS: dict[str, str] = {
    name: effect.params["amount"]
    for name, effect in EFFECTS.items()
    if effect.params.get("amount") in ("paise", "credits")
}
LEDGER_KINDS = frozenset(name for name, effect in EFFECTS.items() if effect.in_ledger)


def fold(entries: Iterable[Entry], base_max_leads: int) -> Standing:
    """The standing of a vendor whose entries in force, in ledger order, are ``entries``."""
    standing = Standing(max_leads=base_max_leads, base_max_leads=base_max_leads)
    for entry in entries:
        effect = EFFECTS.get(entry.kind)
        if effect is not None:  # settlements and reversals move no standing themselves
            standing = effect.fold(standing, entry)
    return standing
