"""payout disputes: one running clock per case and kind, payouts settled once

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:25:55.064483
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYOUT_SETTLEMENTS = sa.text("kind IN ('payout_approved', 'payout_rejected')")


def upgrade() -> None:
    op.create_index(
        "uq_deadlines_running",
        "deadlines",
        ["case_id", "kind"],
        unique=True,
        postgresql_where=sa.text("settled_at IS NULL"),
    )
    op.create_index(
        "uq_ledger_payout_settled_once",
        "ledger_entries",
        ["settles_entry_id"],
        unique=True,
        postgresql_where=PAYOUT_SETTLEMENTS,
    )


def downgrade() -> None:
    op.drop_index("uq_ledger_payout_settled_once", table_name="ledger_entries")
    op.drop_index("uq_deadlines_running", table_name="deadlines")
