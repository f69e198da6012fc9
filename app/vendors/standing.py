"""A vendor's standing where a person, not a decision, changes it: the ops manager lifts a
block, releases a hold, concludes a deactivation review, restores max leads, clears flags.

Each is an entry of the vendor's ledger like a decision's own, folded into its standing the
same way (app.effects.catalogue), so the standing still equals the fold of the ledger.
"""

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import locks
from app.cases.deciding import Actor
from app.effects import repository as ledger
from app.effects.catalogue import EFFECTS
from app.effects.ledger import set_standing, standing_of
from app.effects.standing import Standing
from app.errors import Conflict, NotFound
from app.ids import new_id
from app.models import LedgerEntry, Vendor
from app.vendors.schemas import StandingAction

# Each action, the ledger kind it becomes, and when it applies (else 409 saying why).
APPLIES: dict[str, tuple[str, Callable[[Standing], str | None]]] = {
    "unblock": (
        "unblock_new_leads",
        lambda s: None if s.new_leads_blocked else "is not blocked from new leads",
    ),
    "release_hold": (
        "release_hold",
        lambda s: None if s.status == "on_hold" else f"is {s.status}, not on hold",
    ),
    "reinstate": (
        "reinstate",
        lambda s: (
            None
            if s.status in ("deactivation_review", "deactivated")
            else f"is {s.status}: only a vendor under review or deactivated is reinstated"
        ),
    ),
    "deactivate": (
        "deactivate",
        lambda s: (
            None
            if s.status == "deactivation_review"
            else f"is {s.status}: a vendor is deactivated when its deactivation review concludes"
        ),
    ),
    "restore_max_leads": (
        "restore_max_leads",
        lambda s: (
            None
            if s.max_leads < s.base_max_leads
            else f"already has its full {s.base_max_leads} max leads"
        ),
    ),
    "clear_flags": ("clear_flags", lambda s: None if s.flags else "has no flags"),
}


async def change(
    session: AsyncSession, actor: Actor, vendor_id: str, action: StandingAction, reason: str
) -> Vendor:
    vendor = await locks.lock_vendor(session, vendor_id)
    if vendor is None:
        raise NotFound(f"No vendor {vendor_id}.")
    kind, applies = APPLIES[action]
    before = standing_of(vendor)
    why_not = applies(before)
    if why_not is not None:
        raise Conflict(f"Vendor {vendor_id} {why_not}; {action} does not apply.")
    entry = LedgerEntry(
        id=new_id("le"),
        vendor_id=vendor_id,
        kind=kind,
        details={"reason": reason},
        created_by=actor.key,
        created_by_name=actor.name,
    )
    await ledger.add(session, entry)
    after = EFFECTS[kind].fold(before, entry)
    await set_standing(
        session, vendor, before, after, entry_id=entry.id, reason=reason, by=actor.key
    )
    return vendor
