"""idempotency records expire: an index to sweep them by age

Stored answers to Idempotency-Keys are kept IDEMPOTENCY_RETENTION_HOURS (24 by default) and
then deleted by every instance's sweeper, oldest first, a small batch at a time; this index
is what finds them. Built concurrently: records were never deleted before, so the table may
be large, and POSTs keep writing to it while the index is built.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_idempotency_records_created_at",
            "idempotency_records",
            ["created_at"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_idempotency_records_created_at",
            table_name="idempotency_records",
            postgresql_concurrently=True,
            if_exists=True,
        )
