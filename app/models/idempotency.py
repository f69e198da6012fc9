from datetime import datetime

from sqlalchemy import Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class IdempotencyRecord(Base):
    """The first response to a POST with an Idempotency-Key, kept to replay it.

    Written in the same transaction as the request's effects, so a stored response always
    means the effects happened, and an effect never happens without its stored response.
    Kept IDEMPOTENCY_RETENTION_HOURS, then swept (app.watcher.IdempotencySweeper) by age.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (Index("ix_idempotency_records_created_at", "created_at"),)

    # The id of the API key that sent it: an Idempotency-Key is scoped to the API key.
    principal: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = created_at_column()
