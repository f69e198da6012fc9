from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, func
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from app.models.base import Base, created_at_column


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (never wraps around); asyncpg reads it as an int."""

    cache_ok = True

    def get_col_spec(self, **_: Any) -> str:
        return "XID8"


# Taught to reflection too, so comparing the database with the models knows the column.
ischema_names["xid8"] = Xid8


class Event(Base):
    """The outbox: everything other systems hear about, written in the deciding transaction.

    ``id`` is taken when the row is inserted but transactions commit in any order, so the
    feed is read in ``(xid, id)`` order, and only for transactions older than every one still
    running: no event can later appear before a position a reader has passed.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_xid_id", "xid", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    type: Mapped[str] = mapped_column(String(48))
    case_id: Mapped[str | None] = mapped_column(String(40))
    order_id: Mapped[str | None] = mapped_column(String(64))
    vendor_id: Mapped[str | None] = mapped_column(String(64))
    decision_id: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    # The request that caused it, as in its log lines and X-Request-ID header.
    request_id: Mapped[str | None] = mapped_column(String(64))
    # The writing transaction's id, set by the database in the same INSERT.
    xid: Mapped[int] = mapped_column(Xid8(), server_default=func.pg_current_xact_id())
    created_at: Mapped[datetime] = created_at_column()
