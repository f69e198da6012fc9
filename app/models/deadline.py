from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class Deadline(Base):
    """A case's clock. Due rows are claimed with FOR UPDATE SKIP LOCKED by any instance."""

    __tablename__ = "deadlines"
    __table_args__ = (
        Index(
            "ix_deadlines_pending_due",
            "due_at",
            postgresql_where=text("settled_at IS NULL"),
        ),
        Index("ix_deadlines_case_id", "case_id"),
        # One running clock of a kind per case, so a clock is never started twice.
        Index(
            "uq_deadlines_running",
            "case_id",
            "kind",
            unique=True,
            postgresql_where=text("settled_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # "met" when the awaited thing happened in time, "missed" when the watcher fired it,
    # "cancelled" when the case moved on without it.
    outcome: Mapped[str | None] = mapped_column(String(16))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()

    def settle(self, outcome: str, at: datetime) -> None:
        self.outcome = outcome
        self.settled_at = at
