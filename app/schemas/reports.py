from datetime import date, datetime
from typing import Literal

from pydantic import Field

from app.schemas.common import OutputModel


class Figure(OutputModel):
    """A measured figure with its target beside it."""

    value: float | None = Field(description="null when there is nothing to measure yet.")
    target: float
    comparison: Literal["at_least", "below"] = Field(
        description="at_least: the value meets the target when >= target; below: when < target."
    )
    met: bool | None = Field(description="null when there is no value.")
    unit: Literal["share", "hours"] = Field(description="share: a fraction from 0 to 1.")


class Share(OutputModel):
    """``count`` of ``of`` cases (or orders, or responses), and that share against its target."""

    count: int
    of: int
    share: Figure


class Targets(OutputModel):
    """The policy values the figures are measured against (rules/policy.yaml, POLICY_*)."""

    first_response_hours: float
    acknowledged_share: float = Field(
        description="Every customer-facing case is to be acknowledged within "
        "first_response_hours (002: 'within 1 hour'), so the share's target is 1."
    )
    resolution_hours: float
    resolved_share: float = Field(description="resolution_target_percent / 100.")
    dispute_rate: float = Field(description="dispute_rate_target_percent / 100, an upper bound.")
    satisfied_share: float = Field(description="satisfaction_target_percent / 100.")
    satisfied_min_score: int = Field(description="Feedback scores from this up count as satisfied.")


class TypeOutcome(OutputModel):
    case_type: str
    outcome: str | None = Field(
        description="The current applied decision's outcome; null while nothing is decided "
        "(a fail reason waiting for ops's verdict)."
    )
    cases: int


class VendorCount(OutputModel):
    vendor_id: str
    cases: int
    payout_disputes: int


class ReasonCount(OutputModel):
    case_type: str
    reason: str = Field(description="The claim, fail reason or discrepancy type.")
    cases: int


class RootCause(OutputModel):
    case_type: str
    reason: str
    vendor_id: str
    cases: int


class Week(OutputModel):
    week_start: date = Field(description="A Monday; the week runs to the next Monday, UTC.")
    cases: int
    orders: int
    first_response: Share
    resolution: Share
    dispute_rate: Share
    resolution_hours_median: Figure
    resolution_hours_p90: Figure


class Summary(OutputModel):
    since: datetime = Field(description="Cases (and orders, and feedback) from this time ...")
    until: datetime = Field(description="... up to, not including, this time.")
    targets: Targets
    cases: int = Field(description="Cases opened in the period.")
    resolved: int = Field(description="Of those, resolved (at any time up to now).")
    by_type_and_outcome: list[TypeOutcome]
    first_response: Share = Field(
        description="Customer-facing cases acknowledged within first_response_hours, of those "
        "acknowledged in time or whose hour is over."
    )
    resolution: Share = Field(
        description="Cases resolved within resolution_hours, of those resolved in time or "
        "whose hours are over (a case still inside its window is not counted yet)."
    )
    resolution_hours_median: Figure = Field(description="Of the resolved cases; target: below.")
    resolution_hours_p90: Figure
    dispute_rate: Share = Field(
        description="Payout disputes opened in the period, of the orders created in it."
    )
    satisfaction: Share = Field(
        description="Feedback given in the period with a score of satisfied_min_score (4) or "
        "more, of all feedback given in it."
    )
    top_vendors: list[VendorCount] = Field(description="By cases, at most 10.")
    top_reasons: list[ReasonCount] = Field(description="By cases, at most 10.")
    root_causes: list[RootCause] = Field(
        description="The reason and vendor pairs with the most cases, at most 10."
    )
    weeks: list[Week] = Field(description="Every week of the period with cases, in order.")
