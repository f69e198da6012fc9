"""Decision tickets, list indexes for decisions and cases, transaction ids on events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:26:59.206018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # (status, created_at, id) serves every query (status) served, and the list's order too.
    op.drop_index("ix_cases_status", table_name="cases")
    op.create_index("ix_cases_created", "cases", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_cases_status_created", "cases", ["status", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_cases_type_created", "cases", ["case_type", "created_at", "id"], unique=False
    )
    op.add_column(
        "decisions",
        sa.Column(
            "ticket",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    # (vendor_id, decided_at, id) serves every query (vendor_id) served.
    op.drop_index("ix_decisions_vendor_id", table_name="decisions")
    op.create_index("ix_decisions_decided", "decisions", ["decided_at", "id"], unique=False)
    op.create_index(
        "ix_decisions_vendor_decided",
        "decisions",
        ["vendor_id", "decided_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_decisions_case_type_decided",
        "decisions",
        ["case_type", "decided_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_decisions_outcome_decided",
        "decisions",
        ["outcome", "decided_at", "id"],
        unique=False,
    )
    # Events already written get this migration's transaction id: one transaction, so they
    # keep their id order and come before every later event. The volatile default rewrites
    # the table once.
    op.execute("ALTER TABLE events ADD COLUMN xid xid8 DEFAULT pg_current_xact_id() NOT NULL")
    op.create_index("ix_events_xid_id", "events", ["xid", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_events_xid_id", table_name="events")
    op.drop_column("events", "xid")
    op.drop_index("ix_decisions_outcome_decided", table_name="decisions")
    op.drop_index("ix_decisions_case_type_decided", table_name="decisions")
    op.drop_index("ix_decisions_vendor_decided", table_name="decisions")
    op.drop_index("ix_decisions_decided", table_name="decisions")
    op.create_index("ix_decisions_vendor_id", "decisions", ["vendor_id"], unique=False)
    op.drop_column("decisions", "ticket")
    op.drop_index("ix_cases_type_created", table_name="cases")
    op.drop_index("ix_cases_status_created", table_name="cases")
    op.drop_index("ix_cases_created", table_name="cases")
    op.create_index("ix_cases_status", "cases", ["status"], unique=False)
