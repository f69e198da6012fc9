"""an entry is settled at most once: approved, rejected, released or reversed, never two

A payout waiting for finance could, in the database, carry both an approval and a reversal
(a cancelled payout that still paid), and a wallet refund both a release and a reversal:
the per-kind index let one of each kind through, and only the vendor's row lock, which
every writer takes first, kept them apart. One unique index on the settled entry makes the
database refuse the second settlement, whatever its kind, and replaces both earlier ones
(the queues look settlements up by the entry, which it still serves). Upgrading fails on a
database that already holds an entry settled twice: that is money to look at by hand.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 11:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTLEMENTS = sa.text("settles_entry_id IS NOT NULL")
PAYOUT_SETTLEMENTS = sa.text("kind IN ('payout_approved', 'payout_rejected')")


def upgrade() -> None:
    op.drop_index("uq_ledger_payout_settled_once", table_name="ledger_entries")
    op.drop_index("uq_ledger_settles_once", table_name="ledger_entries")
    op.create_index(
        "uq_ledger_settles_once",
        "ledger_entries",
        ["settles_entry_id"],
        unique=True,
        postgresql_where=SETTLEMENTS,
    )


def downgrade() -> None:
    op.drop_index("uq_ledger_settles_once", table_name="ledger_entries")
    op.create_index(
        "uq_ledger_settles_once",
        "ledger_entries",
        ["settles_entry_id", "kind"],
        unique=True,
        postgresql_where=SETTLEMENTS,
    )
    op.create_index(
        "uq_ledger_payout_settled_once",
        "ledger_entries",
        ["settles_entry_id"],
        unique=True,
        postgresql_where=PAYOUT_SETTLEMENTS,
    )
