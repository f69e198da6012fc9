from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class PaymentRecord(Base):
    """A payment gateway's record of one transaction, as reconciliation received it.

    ``reference`` is the gateway's id: a record is stored once, never changed, and a
    reference sent again is only counted as already known.
    """

    __tablename__ = "payment_records"
    __table_args__ = (Index("ix_payment_records_order_direction", "order_id", "direction"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    reference: Mapped[str] = mapped_column(String(128), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    amount: Mapped[int]
    # succeeded | failed | refunded | charged_back
    status: Mapped[str] = mapped_column(String(16))
    # to_customer (the customer is paid for the phone) | from_customer (the customer pays)
    direction: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = created_at_column()
