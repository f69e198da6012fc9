"""money guard and standing fold: pickup status, ledger order and names, base max leads

- orders.pickup_status: the order system's word on the pickup (disputes need a completed
  one, fail reasons one not completed). Existing orders are taken as completed when they
  have a payout dispute and as scheduled otherwise.
- ledger_entries.seq: the order a vendor's standing is folded in and its ledger is listed in
  (ix_ledger_vendor_id moves to it); created_by_name: the
  person behind the key that acted. ix_ledger_order_id serves the money guard, and
  ix_ledger_strikes the count of a vendor's active strikes.
- A manager's unblock is a standing entry of its own, no longer a settlement of the block.
- vendors.base_max_leads: what max_leads started at (restore_max_leads gives it back),
  recovered from the reductions in force. vendors.active_strikes goes: strikes expire by
  time, so they are counted from the ledger when asked.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASE_MAX_LEADS = """
UPDATE vendors v SET base_max_leads = v.max_leads + coalesce((
    SELECT sum((l.details->>'previous_max_leads')::bigint - (l.details->>'max_leads')::bigint)
    FROM ledger_entries l
    WHERE l.vendor_id = v.id AND l.kind = 'reduce_max_leads' AND NOT EXISTS (
        SELECT 1 FROM ledger_entries r WHERE r.settles_entry_id = l.id AND r.kind = 'reversal')
), 0)
"""
# A manager's unblock was recorded as settling the block it lifted; it is a standing entry of
# its own now (folded like any other), so it keeps the block it lifted in its details.
UNBLOCKS_STAND_ALONE = """
UPDATE ledger_entries
SET details = details || jsonb_build_object('lifts', settles_entry_id), settles_entry_id = NULL
WHERE kind = 'unblock_new_leads' AND settles_entry_id IS NOT NULL
"""
COMPLETED_WHEN_DISPUTED = """
UPDATE orders o SET pickup_status = 'completed'
WHERE EXISTS (SELECT 1 FROM cases c WHERE c.order_id = o.id AND c.case_type = 'payout_dispute')
"""


def upgrade() -> None:
    op.add_column(
        "orders",
        sa.Column(
            "pickup_status", sa.String(length=16), server_default="scheduled", nullable=False
        ),
    )
    op.execute(COMPLETED_WHEN_DISPUTED)

    op.add_column(
        "ledger_entries",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
    )
    op.create_unique_constraint(op.f("uq_ledger_entries_seq"), "ledger_entries", ["seq"])
    op.drop_index("ix_ledger_vendor_id", table_name="ledger_entries")
    op.create_index("ix_ledger_vendor_id", "ledger_entries", ["vendor_id", "seq"])
    op.add_column(
        "ledger_entries", sa.Column("created_by_name", sa.String(length=200), nullable=True)
    )
    op.create_index("ix_ledger_order_id", "ledger_entries", ["order_id"])
    op.create_index(
        "ix_ledger_strikes",
        "ledger_entries",
        ["vendor_id", "created_at"],
        postgresql_where=sa.text("kind = 'sla_strike'"),
    )

    op.execute(UNBLOCKS_STAND_ALONE)

    op.add_column(
        "vendors",
        sa.Column("base_max_leads", sa.BigInteger(), server_default=sa.text("10"), nullable=False),
    )
    op.execute(BASE_MAX_LEADS)
    op.drop_column("vendors", "active_strikes")


def downgrade() -> None:
    op.add_column(
        "vendors",
        sa.Column("active_strikes", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.execute(
        "UPDATE vendors v SET active_strikes = (SELECT count(*) FROM ledger_entries l "
        "WHERE l.vendor_id = v.id AND l.kind = 'sla_strike' AND NOT EXISTS (SELECT 1 FROM "
        "ledger_entries r WHERE r.settles_entry_id = l.id AND r.kind = 'reversal'))"
    )
    op.drop_column("vendors", "base_max_leads")
    op.drop_index("ix_ledger_strikes", table_name="ledger_entries")
    op.drop_index("ix_ledger_order_id", table_name="ledger_entries")
    op.drop_column("ledger_entries", "created_by_name")
    op.drop_index("ix_ledger_vendor_id", table_name="ledger_entries")
    op.create_index("ix_ledger_vendor_id", "ledger_entries", ["vendor_id", "id"])
    op.drop_constraint(op.f("uq_ledger_entries_seq"), "ledger_entries", type_="unique")
    op.drop_column("ledger_entries", "seq")
    op.drop_column("orders", "pickup_status")
