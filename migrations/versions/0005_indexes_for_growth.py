"""indexes for growth: open cases by type, a vendor's ledger in id order

Found by bench/growth_bench.py at 1,000,000 decisions: the open_cases gauge scanned every
case (Seq Scan, filter resolved_at IS NULL), and a heavy vendor's ledger page walked the
primary key past every other vendor's entries (90,000 rows removed by filter). The new
ledger index also serves every vendor_id look-up the old (vendor_id, created_at) one did,
which no query orders by, so it replaces it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_cases_open_by_type",
        "cases",
        ["case_type"],
        unique=False,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index("ix_ledger_vendor_id", "ledger_entries", ["vendor_id", "id"], unique=False)
    op.drop_index("ix_ledger_vendor_created", table_name="ledger_entries")


def downgrade() -> None:
    op.create_index(
        "ix_ledger_vendor_created", "ledger_entries", ["vendor_id", "created_at"], unique=False
    )
    op.drop_index("ix_ledger_vendor_id", table_name="ledger_entries")
    op.drop_index(
        "ix_cases_open_by_type",
        table_name="cases",
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
