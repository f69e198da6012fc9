"""report rollup: finished weeks' figures, and an index to find the cases changed since

bench/report_bench.py took about 2 s for a year's summary of 1,000,000 cases, every figure
computed from every case. The report now keeps each finished week's figures in these tables,
rolled when a report first needs them and rolled again when one of the week's cases changes
(found by ix_cases_updated_at); a year's report reads the rolled weeks and only the cases of
the weeks at its two ends. The tables start empty: the first reports fill them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 05:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_weeks",
        sa.Column("week", sa.DateTime(timezone=True), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("payout_disputes", sa.Integer(), nullable=False),
        sa.Column("acknowledged_in_time", sa.Integer(), nullable=False),
        sa.Column("acknowledgement_due", sa.Integer(), nullable=False),
        sa.Column("resolved_in_time", sa.Integer(), nullable=False),
        sa.Column("resolution_due", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("median_seconds", sa.Double(), nullable=True),
        sa.Column("p90_seconds", sa.Double(), nullable=True),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_report_weeks")),
    )
    op.create_table(
        "report_durations",
        sa.Column("week", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.ARRAY(sa.Double()), nullable=False),
        sa.PrimaryKeyConstraint("week", "bucket", name=op.f("pk_report_durations")),
    )
    op.create_table(
        "report_tallies",
        sa.Column("list", sa.Text(collation="C"), nullable=False),
        sa.Column("key", sa.Text(collation="C"), nullable=False),
        sa.Column("base", sa.Integer(), nullable=False),
        sa.Column("weeks", sa.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("cum", sa.ARRAY(sa.Integer()), nullable=False),
        sa.PrimaryKeyConstraint("list", "key", name=op.f("pk_report_tallies")),
    )
    op.create_table(
        "report_refresh",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id", name=op.f("ck_report_refresh_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_refresh")),
    )
    op.create_index("ix_cases_updated_at", "cases", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_cases_updated_at", table_name="cases")
    op.drop_table("report_refresh")
    op.drop_table("report_tallies")
    op.drop_table("report_durations")
    op.drop_table("report_weeks")
