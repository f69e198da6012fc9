"""A vendor's standing: what its ledger entries in force add up to.

The vendors row caches this value. Applying a decision steps it entry by entry; reversing
an entry folds it again from every entry still in force (app.effects.ledger), so the row
can never drift from the ledger. Active SLA strikes are not part of it: they expire by
time, so they are counted when asked (app.effects.repository.active_strikes).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

# Vendor statuses in order of severity. A decision only moves a vendor down this list; an
# ops manager's standing action moves it back.
STATUS_ORDER = ("active", "on_hold", "deactivation_review", "deactivated")


class Entry(Protocol):
    """What folding reads of a ledger entry."""

    id: str
    kind: str
    amount: int | None
    case_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Standing:
    status: str = "active"
    new_leads_blocked: bool = False
    max_leads: int = 0
    # Base max leads: what the vendor started with, what restore_max_leads gives back.
    base_max_leads: int = 0
    flags: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    credits_refunded: int = 0
    credits_deducted: int = 0

    @property
    def receives_new_leads(self) -> bool:
        """New leads go only to a vendor that is active and not blocked."""
        return self.status == "active" and not self.new_leads_blocked

    def at_least(self, status: str) -> "Standing":
        """A decision's status change: never to a less severe status than the vendor has."""
        if STATUS_ORDER.index(status) > STATUS_ORDER.index(self.status):
            return replace(self, status=status)
        return self

    def moved(self, **changes: Any) -> "Standing":
        return replace(self, **changes)
