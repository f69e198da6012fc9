from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class CaseFeedback(Base):
    """The customer's satisfaction with a resolved case. The case id is the key: once per case."""

    __tablename__ = "case_feedback"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        CheckConstraint("communication_score BETWEEN 1 AND 5", name="communication_score_range"),
        # Satisfaction in the summary report counts the feedback given in a period.
        Index("ix_case_feedback_created_at", "created_at"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    # How satisfied the customer was with our communication; asked beside the score, optional.
    communication_score: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    given_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
