from datetime import date, datetime
from typing import Literal

from pydantic import Field

from app.api.schemas import OutputModel


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
    logging_hours: float
    logged_share: float = Field(
        description="Every discrepancy found in the payment records is to be logged as a case "
        "within logging_hours, so the share's target is 1."
    )
    dispute_rate: float = Field(description="dispute_rate_target_percent / 100, an upper bound.")
    satisfied_share: float = Field(description="satisfaction_target_percent / 100.")
    communication_satisfied_share: float = Field(
        description="communication_satisfaction_target_percent / 100."
    )
    satisfied_min_score: int = Field(description="Feedback scores from this up count as satisfied.")


class TypeOutcome(OutputModel):
    case_type: str
    outcome: str | None = Field(
        description="The current applied decision's outcome; null while nothing is decided "
        "(a fail reason waiting for ops's verdict)."
    )
    cases: int


class TypeClocks(OutputModel):
    case_type: str
    cases: int
    resolved: int
    resolution: Share = Field(description="As the overall resolution share, for this type.")
    resolution_hours_mean: Figure


class Logging(OutputModel):
    """How long after the payment record that showed it each case opened from reconciliation
    was logged: payment discrepancies, and payout disputes reconciliation opened."""

    cases: int = Field(description="Cases opened from payment records.")
    within: Share = Field(description="Of those, logged within logging_hours.")
    hours_mean: Figure
    hours_median: Figure
    hours_p90: Figure


class Figures(OutputModel):
    """The figures of the whole period, and of each bucket."""

    cases: int = Field(description="Cases opened.")
    resolved: int = Field(description="Of those, resolved (at any time up to now).")
    orders: int = Field(description="Orders created.")
    by_type: list[TypeClocks] = Field(description="Every case type with cases, by name.")
    first_response: Share = Field(
        description="Customer-facing cases acknowledged within first_response_hours, of those "
        "acknowledged in time or whose hour is over."
    )
    resolution: Share = Field(
        description="Cases resolved within resolution_hours, of those resolved in time or "
        "whose hours are over (a case still inside its window is not counted yet)."
    )
    resolution_hours_mean: Figure = Field(description="Of the resolved cases; target: below.")
    resolution_hours_median: Figure
    resolution_hours_p90: Figure
    time_to_logging: Logging
    dispute_rate: Share = Field(
        description="Orders created with at least one payment dispute (a payout dispute or a "
        "payment discrepancy, opened at any time up to now), of the orders created."
    )
    satisfaction: Share = Field(
        description="Feedback given with a score of satisfied_min_score (4) or more, of all "
        "feedback given (by when it was given)."
    )
    communication_satisfaction: Share = Field(
        description="Feedback given with a communication score of satisfied_min_score (4) or "
        "more, of the feedback given with a communication score."
    )


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


class Bucket(Figures):
    start: date = Field(
        description="The week's Monday or the month's 1st (UTC); the first and last bucket "
        "may begin before the period or end after it, and count only its part of them."
    )
    since: datetime = Field(description="The part of the period in this bucket: from ...")
    until: datetime = Field(description="... up to, not including.")


class Summary(Figures):
    since: datetime = Field(description="Cases (and orders, and feedback) from this time ...")
    until: datetime = Field(description="... up to, not including, this time.")
    bucket: Literal["week", "month"]
    targets: Targets
    by_type_and_outcome: list[TypeOutcome]
    top_vendors: list[VendorCount] = Field(description="By cases, at most 10.")
    top_reasons: list[ReasonCount] = Field(description="By cases, at most 10.")
    root_causes: list[RootCause] = Field(
        description="The reason and vendor pairs with the most cases, at most 10."
    )
    buckets: list[Bucket] = Field(
        description="Every week (Monday 00:00 UTC on) or calendar month (UTC) that overlaps "
        "the period, in order, empty ones included."
    )
