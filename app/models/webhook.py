from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column
from app.models.event import Xid8


class WebhookEndpoint(Base):
    """A URL that receives the outbox's events, signed with its own secret.

    Its delivery state lives on the row, so any instance can pick it up: ``position`` is the
    feed position ``(xid, event id)`` up to which every event is finished for this endpoint
    (delivered, given up, or not of its types); ``next_attempt_at`` is set while a message
    waits at the head; ``lease_*`` say which instance holds it, and until when.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index(
            "ix_webhook_endpoints_live_created",
            "created_at",
            "id",
            postgresql_where=text("disabled_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(500), server_default="")
    # ["*"]: every type; otherwise exact event types.
    event_types: Mapped[list[Any]]
    # Kept as it is: signing needs it, so it cannot be hashed like an API key.
    secret: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = created_at_column()
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Starts at the creating transaction: the endpoint gets the events written after it.
    position_xid: Mapped[int] = mapped_column(Xid8(), server_default=func.pg_current_xact_id())
    position_event_id: Mapped[int] = mapped_column(BigInteger, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_token: Mapped[str | None] = mapped_column(String(32))


class WebhookMessage(Base):
    """One event for one endpoint. Its id is the ``webhook-id`` header, the same on every
    attempt, so a receiver can drop a message it has already handled."""

    __tablename__ = "webhook_messages"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        # Head of line: an endpoint has at most one message under way.
        Index(
            "uq_webhook_messages_pending",
            "endpoint_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    event_xid: Mapped[int] = mapped_column(Xid8())
    event_type: Mapped[str] = mapped_column(String(48))
    # pending, delivered, failed (given up after the retry horizon)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = created_at_column()
    first_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(Base):
    """One HTTP request of a message, and what came of it."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_endpoint_attempted", "endpoint_id", "attempted_at", "id"),
        Index("ix_webhook_attempts_message_id", "message_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("webhook_messages.id"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    number: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    response_status: Mapped[int | None] = mapped_column(Integer)
    # The first bytes of the answer, for whoever debugs the receiver.
    response_body: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    # delivered, retrying, gave_up
    outcome: Mapped[str] = mapped_column(String(16))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
