from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Decision(Base):
    """An immutable decision record. A later decision supersedes it; nothing edits it."""

    __tablename__ = "decisions"
    # GET /v1/decisions lists newest first by (decided_at, id): each filter that can match
    # many rows has an index ending in those columns, so a page is a short backward index
    # scan. An order has few decisions, so order_id alone is enough.
    __table_args__ = (
        Index("ix_decisions_case_id", "case_id"),
        Index("ix_decisions_order_id", "order_id"),
        Index("ix_decisions_decided", "decided_at", "id"),
        Index("ix_decisions_vendor_decided", "vendor_id", "decided_at", "id"),
        Index("ix_decisions_case_type_decided", "case_type", "decided_at", "id"),
        Index("ix_decisions_outcome_decided", "outcome", "decided_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    case_type: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str | None] = mapped_column(String(64))
    vendor_id: Mapped[str | None] = mapped_column(String(64))
    # "proposed": shown, nothing applied; "final": its effects are in the ledger.
    stage: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(48))
    actions: Mapped[list[Any]]
    # Ticket fields the fired rules set (category, priority, assignee_team); {} if none.
    ticket: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    rules_fired: Mapped[list[Any]]
    ruleset_version: Mapped[str] = mapped_column(String(64))
    policy: Mapped[dict[str, Any]]
    facts: Mapped[dict[str, Any]]
    decided_by: Mapped[dict[str, Any]]
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    supersedes: Mapped[str | None] = mapped_column(String(40))
