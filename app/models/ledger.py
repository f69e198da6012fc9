from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class LedgerEntry(Base):
    """One effect on a vendor (credits, payouts, wallet, standing), append-only.

    ``(decision_id, action_index)`` is unique, so an action of a decision is applied once
    however often the request that made it is retried.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("decision_id", "action_index", name="uq_ledger_decision_action"),
        # A vendor's entries in ledger order: a ledger page reads its rows and stops, and
        # folding the standing reads them in the order they were written.
        Index("ix_ledger_vendor_id", "vendor_id", "seq"),
        # An order's money (payouts, wallet refunds, credit refunds), checked by every
        # decision that moves it (app.effects.guard).
        Index("ix_ledger_order_id", "order_id"),
        # The queues: payouts and wallet refunds newest first, and the payouts that waited
        # for finance (the pending ones among them: app.payouts.repository).
        Index("ix_ledger_payouts", "seq", postgresql_where=text("kind = 'platform_payout'")),
        Index(
            "ix_ledger_payouts_waiting",
            "seq",
            postgresql_where=text(
                "kind = 'platform_payout' AND details->>'status' = 'pending_approval'"
            ),
        ),
        Index(
            "ix_ledger_wallet_refunds",
            "seq",
            postgresql_where=text("kind = 'wallet_refund_eligible'"),
        ),
        # A vendor's strikes by time: active strikes are those not yet expired.
        Index(
            "ix_ledger_strikes",
            "vendor_id",
            "created_at",
            postgresql_where=text("kind = 'sla_strike'"),
        ),
        # An entry is settled at most once, whatever the kind: a payout is approved,
        # rejected or reversed, a wallet refund released or reversed, never two of them (a
        # cancelled payout that also paid). Writers are kept apart by the vendor's lock;
        # this is the database's own refusal if one ever slipped.
        Index(
            "uq_ledger_settles_once",
            "settles_entry_id",
            unique=True,
            postgresql_where=text("settles_entry_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Insertion order. A vendor's entries are written one transaction at a time (under its
    # row lock), so this is the order its standing is folded in; ids, made by many
    # processes, are only ordered to the millisecond.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendors.id"))
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decisions.id"))
    action_index: Mapped[int | None]
    case_id: Mapped[str | None] = mapped_column(String(40))
    order_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    settles_entry_id: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(64), server_default="rules")
    # The person (or system) behind the key that acted; null for the rules' own entries.
    created_by_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at_column()
