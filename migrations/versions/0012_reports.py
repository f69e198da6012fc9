"""reports: spans (the parts of weeks in one month) in the rollup, time to logging,
communication satisfaction

The summary report now buckets by week or by calendar month. Its rollup kept whole weeks,
which straddle months; it now keeps spans, the part of a week in one month, so that a week
and a month are each a whole number of spans. The rolled tables are made anew, empty: the
report roller (or the first report) fills them again.

cases.detected_at: when the payment record that showed a case occurred, for the cases opened
from payment records; time to logging runs from it to created_at. Existing cases get it from
the records they name (a discrepancy's details.references, a reconciliation dispute's
evidence). case_feedback.communication_score: the second feedback score.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REPORT_COLUMNS = ["case_type", "outcome", "reason", "vendor_id", "acknowledged_at", "resolved_at"]


def _rollup_tables() -> None:
    op.create_table(
        "report_spans",
        sa.Column("span", sa.DateTime(timezone=True), nullable=False),
        sa.Column("span_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("disputed_orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("span", name=op.f("pk_report_spans")),
    )
    counts = [
        "cases",
        "acknowledged_in_time",
        "acknowledgement_due",
        "resolved_in_time",
        "resolution_due",
        "resolved",
    ]
    op.create_table(
        "report_span_clocks",
        sa.Column("span", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_type", sa.String(length=32), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in counts),
        sa.Column("resolution_us", sa.BigInteger(), nullable=False),
        sa.Column("logged", sa.Integer(), nullable=False),
        sa.Column("logged_in_time", sa.Integer(), nullable=False),
        sa.Column("logging_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("span", "case_type", name=op.f("pk_report_span_clocks")),
    )
    op.create_table(
        "report_durations",
        sa.Column("span", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.ARRAY(sa.Double()), nullable=False),
        sa.PrimaryKeyConstraint("span", "kind", "bucket", name=op.f("pk_report_durations")),
    )
    op.create_table(
        "report_tallies",
        sa.Column("list", sa.Text(collation="C"), nullable=False),
        sa.Column("key", sa.Text(collation="C"), nullable=False),
        sa.Column("base", sa.Integer(), nullable=False),
        sa.Column("spans", sa.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("cum", sa.ARRAY(sa.Integer()), nullable=False),
        sa.PrimaryKeyConstraint("list", "key", name=op.f("pk_report_tallies")),
    )


def upgrade() -> None:
    op.drop_table("report_tallies")
    op.drop_table("report_durations")
    op.drop_table("report_weeks")
    op.execute("DELETE FROM report_refresh")
    _rollup_tables()

    op.add_column("cases", sa.Column("detected_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        """
        UPDATE cases c SET detected_at = r.first
        FROM (SELECT c.id, min(p.occurred_at) AS first
              FROM cases c
              CROSS JOIN LATERAL jsonb_array_elements_text(
                  CASE WHEN jsonb_typeof(c.details -> 'references') = 'array'
                       THEN c.details -> 'references' ELSE '[]' END) AS ref(reference)
              JOIN payment_records p ON p.reference = ref.reference
              WHERE c.case_type = 'payment_discrepancy'
              GROUP BY c.id
              UNION ALL
              SELECT c.id, min(p.occurred_at)
              FROM cases c
              CROSS JOIN LATERAL jsonb_array_elements(
                  CASE WHEN jsonb_typeof(c.details -> 'evidence') = 'array'
                       THEN c.details -> 'evidence' ELSE '[]' END) AS e(item)
              JOIN payment_records p
                ON 'payment record ' || p.reference = e.item ->> 'ref'
              WHERE c.case_type = 'payout_dispute' AND c.details ->> 'channel' = 'reconciliation'
              GROUP BY c.id) r
        WHERE c.id = r.id
        """
    )
    op.drop_index("ix_cases_report", table_name="cases")
    op.create_index(
        "ix_cases_report",
        "cases",
        ["created_at"],
        unique=False,
        postgresql_include=[*_REPORT_COLUMNS, "detected_at"],
    )

    op.add_column(
        "case_feedback", sa.Column("communication_score", sa.SmallInteger(), nullable=True)
    )
    op.create_check_constraint(
        op.f("ck_case_feedback_communication_score_range"),
        "case_feedback",
        "communication_score BETWEEN 1 AND 5",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_case_feedback_communication_score_range"), "case_feedback", type_="check"
    )
    op.drop_column("case_feedback", "communication_score")
    op.drop_index("ix_cases_report", table_name="cases")
    op.create_index(
        "ix_cases_report", "cases", ["created_at"], unique=False, postgresql_include=_REPORT_COLUMNS
    )
    op.drop_column("cases", "detected_at")

    op.drop_table("report_tallies")
    op.drop_table("report_durations")
    op.drop_table("report_span_clocks")
    op.drop_table("report_spans")
    op.execute("DELETE FROM report_refresh")
    op.create_table(
        "report_weeks",
        sa.Column("week", sa.DateTime(timezone=True), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "cases",
                "payout_disputes",
                "acknowledged_in_time",
                "acknowledgement_due",
                "resolved_in_time",
                "resolution_due",
                "resolved",
            )
        ),
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
