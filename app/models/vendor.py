from datetime import datetime
from typing import Any

from sqlalchemy import String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column, updated_at_column


class Vendor(Base):
    """A vendor's standing: the fold of its ledger entries in force (app.effects.standing),
    kept here so it reads in one row. Decisions lock this row first (one writer per vendor).
    Active SLA strikes are counted from the ledger when asked: they expire by time."""

    __tablename__ = "vendors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(24), server_default="active")
    new_leads_blocked: Mapped[bool] = mapped_column(server_default=text("false"))
    max_leads: Mapped[int]
    # What max_leads started at (default_max_leads when the vendor was first seen; the
    # service always sets it, the database default only serves rows written by hand).
    base_max_leads: Mapped[int] = mapped_column(server_default=text("10"))
    flags: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    credits_refunded: Mapped[int] = mapped_column(server_default=text("0"))
    credits_deducted: Mapped[int] = mapped_column(server_default=text("0"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
