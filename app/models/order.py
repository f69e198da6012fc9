from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column, updated_at_column


class Order(Base):
    """The order system's snapshot of an order, plus its status in this service."""

    __tablename__ = "orders"
    __table_args__ = (
        # The summary report's dispute rate counts the orders created in a period.
        Index("ix_orders_created_at", "created_at"),
        # GET /v1/orders?customer_phone=: a customer's orders, newest first, page by page.
        Index("ix_orders_customer_phone_created", "customer_phone", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendors.id"), index=True)
    customer: Mapped[dict[str, Any]]
    # customer.phone spelled one way (app.orders.phones); null only in rows written by hand.
    customer_phone: Mapped[str | None] = mapped_column(String(16))
    device: Mapped[dict[str, Any]]
    pickup_slot: Mapped[str | None] = mapped_column(String(100))
    unlock_credits: Mapped[int]
    quoted_amount: Mapped[int | None]
    final_invoice_amount: Mapped[int]
    payment: Mapped[dict[str, Any]]
    # Each note carries the time this service first saw it: only notes recorded before a
    # dispute may justify a deduction.
    pickup_notes: Mapped[list[Any]]
    # The order system's word on the pickup: scheduled | completed | cancelled. Disputes are
    # taken only on completed pickups, fail reasons only on pickups not completed.
    pickup_status: Mapped[str] = mapped_column(String(16), server_default="scheduled")
    # This service's word on the order: open | to_be_failed | failed.
    status: Mapped[str] = mapped_column(String(24), server_default="open")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
