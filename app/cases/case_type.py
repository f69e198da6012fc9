"""What a case type declares: its table, its statuses, and how a decision moves it.

Each case type is the service module of its package (app/payout_disputes/service.py, and
the same in app/fail_reasons, app/pickup_complaints and app/payment_discrepancies), which
defines a ``CaseType`` and its own steps; app.cases.registry lists them, and overrides,
simulations, the watcher and the views go through that list. docs/cases.md draws each
type's states from these declarations.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.locks import Locked
from app.effects.catalogue import UNITS
from app.errors import Conflict, InvalidRequest
from app.models import Deadline, Decision, LedgerEntry
from app.rules_engine.model import Table

if TYPE_CHECKING:
    from app.cases.deciding import Actor
    from app.rules_engine.engine import RulesEngine


class Status(StrEnum):
    """A case's status (the contract's); the ticket keeps the procedure's own words."""

    AWAITING_VENDOR = "awaiting_vendor"
    PENDING_REVIEW = "pending_review"
    OPEN = "open"
    PENDING_RESOLUTION = "pending_resolution"
    AWAITING_APPROVAL = "awaiting_approval"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class Stage(StrEnum):
    """proposed: shown, nothing applied; interim: applied while the case still waits (for
    the vendor, for a manager); final: the case's answer."""

    PROPOSED = "proposed"
    INTERIM = "interim"
    FINAL = "final"


# Fires one claimed deadline of a case, locked in the one lock order; returns whether it was
# missed (False: the awaited thing turned out to be done, or no longer awaited, and the
# deadline was settled so). The last argument names the watcher that fired it.
Fire = Callable[[AsyncSession, "RulesEngine", Locked, Deadline, str], Awaitable[bool]]


@dataclass(frozen=True)
class Simulated:
    """What a case of a body would be first decided on, found as for a real one."""

    facts: dict[str, Any]
    stage: Stage
    order_id: str | None
    vendor_id: str | None


class CaseType:
    name: ClassVar[str]
    table: ClassVar[str]
    # A customer raised it, or it is about the customer's money: the customer is told it is
    # handled, kept informed while it is open, and told how it ended.
    customer_facing: ClassVar[bool]
    # The status a new case opens in, and what it waits for there.
    opens_as: ClassVar[Status]
    # Outcomes that leave the case waiting (interim), and the status each waits in.
    waiting: ClassVar[Mapping[str, Status]] = {}
    # Outcomes that are only a proposal (nothing applied until a person confirms).
    proposals: ClassVar[frozenset[str]] = frozenset()
    # The status a final decision of the rules leaves the case in, when it is not resolved
    # by the decision itself but by a person carrying it out (a CX follow-up, say).
    carried_out_in: ClassVar[Status | None] = None
    # The outcomes under which the platform pays the customer: a payout goes with no other.
    paying_outcomes: ClassVar[frozenset[str]] = frozenset()
    # What each status waits for, for the docs and the views.
    waits_for: ClassVar[Mapping[Status, str]] = {}

    def stage_of(self, outcome: str | None) -> Stage:
        if outcome in self.proposals:
            return Stage.PROPOSED
        if outcome in self.waiting:
            return Stage.INTERIM
        return Stage.FINAL

    def final_outcomes(self, table: Table) -> tuple[str, ...]:
        """The outcomes an override may choose: the ones that end the case."""
        return tuple(
            outcome
            for outcome in table.outcomes
            if outcome not in self.waiting and outcome not in self.proposals
        )

    def money_actions(self, table: Table) -> frozenset[str]:
        """Money actions this type may take at all: those its own table can take."""
        return table.action_types() & frozenset(UNITS)

    def status_after(self, decision: Decision) -> Status:
        """Where a decision leaves the case (before a payout's approval is considered)."""
        if decision.stage == Stage.PROPOSED:
            return self.opens_as
        if decision.outcome is not None and decision.outcome in self.waiting:
            return self.waiting[decision.outcome]
        by_hand = decision.decided_by.get("kind") != "rules"
        if self.carried_out_in is not None and not by_hand:
            return self.carried_out_in
        return Status.RESOLVED

    def clocks(self) -> Mapping[str, Fire]:
        """The case type's own clocks (deadline kinds) and what firing each does; the
        clocks every case has are app.cases.lifecycle's and app.cases.customers'."""
        return {}

    async def simulate(self, session: AsyncSession, engine: "RulesEngine", body: Any) -> Simulated:
        """The facts the first decision of a case opened with ``body`` (the case type's own
        request body) would see; nothing is stored."""
        raise InvalidRequest(f"{self.name} cases cannot be simulated.", "case_type")

    async def on_resolved(self, session: AsyncSession, locked: Locked, decision: Decision) -> None:
        """What else a final decision does when it resolves the case (an order fails, ...)."""
        return None

    async def payout_rejected(
        self,
        session: AsyncSession,
        engine: "RulesEngine",
        locked: Locked,
        payout: LedgerEntry,
        reason: str | None,
        actor: "Actor",
    ) -> None:
        """Finance rejected a payout this case's decision made."""
        raise Conflict(f"A {self.name} case makes no payouts to reject.")
