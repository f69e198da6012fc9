from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column, updated_at_column


class Case(Base):
    """One dispute, complaint, fail reason or payment discrepancy, with its ticket."""

    __tablename__ = "cases"
    # GET /v1/cases lists newest first by (created_at, id); the filters with many matching
    # rows (none, case_type, status) have an index ending in those columns. The vendor index
    # also serves the vendor-history count; an order has few cases.
    __table_args__ = (
        Index("ix_cases_vendor_type_created", "vendor_id", "case_type", "created_at"),
        Index("ix_cases_order_id", "order_id"),
        Index("ix_cases_created", "created_at", "id"),
        Index("ix_cases_type_created", "case_type", "created_at", "id"),
        Index("ix_cases_status_created", "status", "created_at", "id"),
        # Open cases by type (the open_cases gauge): only open rows, so it stays small.
        Index("ix_cases_open_by_type", "case_type", postgresql_where=text("resolved_at IS NULL")),
        # The summary report reads every case opened in a period: with these columns in the
        # index it never touches the wide rows (ticket, details, notes are JSONB).
        Index(
            "ix_cases_report",
            "created_at",
            postgresql_include=[
                "case_type",
                "outcome",
                "reason",
                "vendor_id",
                "acknowledged_at",
                "resolved_at",
                "detected_at",
            ],
        ),
        # The report's rollup finds the weeks whose cases changed since it last looked.
        Index("ix_cases_updated_at", "updated_at"),
        # The queues: a person's cases, a team's, those escalated to a manager, newest first;
        # and the cases with a running clock, soonest deadline first.
        Index("ix_cases_assignee_created", "assignee", "created_at", "id"),
        Index("ix_cases_team_created", "assignee_team", "created_at", "id"),
        Index("ix_cases_escalated_created", "escalated_to", "created_at", "id"),
        Index("ix_cases_due", "due_at", "id", postgresql_where=text("due_at IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_type: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"))
    vendor_id: Mapped[str | None] = mapped_column(ForeignKey("vendors.id"))
    status: Mapped[str] = mapped_column(String(32))
    # The ticket (app.cases.tickets.Ticket), field by field: the procedure's own words for
    # where the case is, and who works it.
    category: Mapped[str | None] = mapped_column(String(48))
    ticket_status: Mapped[str] = mapped_column(String(48), server_default="open")
    priority: Mapped[str] = mapped_column(String(16), server_default="normal")
    assignee_team: Mapped[str | None] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(200))
    # The team the case was last escalated to (app.cases.escalations).
    escalated_to: Mapped[str | None] = mapped_column(String(32))
    # The soonest running work clock (vendor response, resolution), kept by the database
    # itself (a trigger on deadlines, migration 0013): what sort=due_at orders by.
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The submission as the client sent it, validated: what the case is about.
    details: Mapped[dict[str, Any]]
    escalations: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    notes: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    current_decision_id: Mapped[str | None] = mapped_column(String(40))
    # The outcome of the current applied (not merely proposed) decision; kept on the case so
    # reports group a million cases without joining their decisions.
    outcome: Mapped[str | None] = mapped_column(String(48))
    # The code the case is about (a claim, a fail reason, a discrepancy type): the root
    # cause reports count.
    reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    # When the customer was told the case is being handled; null for cases no customer opened.
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # For a case opened from payment records: when the earliest record that showed it
    # occurred. Time to logging runs from it to created_at.
    detected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
