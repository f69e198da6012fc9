from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class ApiKey(Base):
    """A client's key, made for one named person or system. Only its SHA-256 is kept: keys
    are long random strings, so a fast hash is as safe as a slow one and keeps every request's
    look-up to one index probe. Rotating a key replaces the hash and keeps the row."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "role IN ('vendor', 'support', 'ops', 'ops_manager', 'finance_manager', 'service')",
            name="role",
        ),
        CheckConstraint("(role = 'vendor') = (vendor_id IS NOT NULL)", name="vendor_binding"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    vendor_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at_column()
    # Written by each instance at most once every API_KEY_LAST_USED_SECONDS (app.watcher).
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
