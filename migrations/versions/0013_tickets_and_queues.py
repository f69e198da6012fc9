"""typed tickets and the queues: a case's ticket as columns, its team, assignee, last
escalation and soonest deadline, each indexed for the lists that filter or sort by it; and
the payouts and wallet refunds, newest first

The ticket was a JSON object; its fields (category, status, priority, team, assignee) become
columns, so GET /v1/cases can filter by team or assignee from an index, and the ticket has
one typed shape. escalated_to is the team the case was last escalated to. due_at is the
soonest running work clock (vendor response or resolution), kept by the database itself:
a trigger on deadlines sets it whenever a clock starts, moves or settles, whatever code path
did it, so sort=due_at can never disagree with the clocks.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORK_CLOCKS = "('vendor_response', 'resolution')"

DUE_AT_FUNCTION = f"""
CREATE FUNCTION cases_keep_due_at() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target varchar := CASE WHEN TG_OP = 'DELETE' THEN OLD.case_id ELSE NEW.case_id END;
BEGIN
    UPDATE cases SET due_at = (
        SELECT min(d.due_at) FROM deadlines d
        WHERE d.case_id = target AND d.settled_at IS NULL AND d.kind IN {WORK_CLOCKS})
    WHERE id = target;
    RETURN NULL;
END
$$
"""
DUE_AT_TRIGGER = """
CREATE TRIGGER deadlines_keep_case_due_at
AFTER INSERT OR DELETE OR UPDATE OF due_at, settled_at ON deadlines
FOR EACH ROW EXECUTE FUNCTION cases_keep_due_at()
"""
BACKFILL = f"""
UPDATE cases SET
    category = ticket->>'category',
    ticket_status = coalesce(ticket->>'status', status),
    priority = coalesce(ticket->>'priority', 'normal'),
    assignee_team = ticket->>'assignee_team',
    assignee = ticket->>'assignee',
    escalated_to = escalations->(jsonb_array_length(escalations) - 1)->>'to',
    due_at = (SELECT min(d.due_at) FROM deadlines d
              WHERE d.case_id = cases.id AND d.settled_at IS NULL AND d.kind IN {WORK_CLOCKS})
"""


def upgrade() -> None:
    op.add_column("cases", sa.Column("category", sa.String(length=48), nullable=True))
    op.add_column(
        "cases",
        sa.Column("ticket_status", sa.String(length=48), server_default="open", nullable=False),
    )
    op.add_column(
        "cases",
        sa.Column("priority", sa.String(length=16), server_default="normal", nullable=False),
    )
    op.add_column("cases", sa.Column("assignee_team", sa.String(length=32), nullable=True))
    op.add_column("cases", sa.Column("assignee", sa.String(length=200), nullable=True))
    op.add_column("cases", sa.Column("escalated_to", sa.String(length=32), nullable=True))
    op.add_column("cases", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)
    op.drop_column("cases", "ticket")
    op.create_index("ix_cases_assignee_created", "cases", ["assignee", "created_at", "id"])
    op.create_index("ix_cases_team_created", "cases", ["assignee_team", "created_at", "id"])
    op.create_index("ix_cases_escalated_created", "cases", ["escalated_to", "created_at", "id"])
    op.create_index(
        "ix_cases_due", "cases", ["due_at", "id"], postgresql_where=sa.text("due_at IS NOT NULL")
    )
    op.execute(DUE_AT_FUNCTION)
    op.execute(DUE_AT_TRIGGER)
    op.create_index(
        "ix_ledger_payouts",
        "ledger_entries",
        ["seq"],
        postgresql_where=sa.text("kind = 'platform_payout'"),
    )
    op.create_index(
        "ix_ledger_payouts_waiting",
        "ledger_entries",
        ["seq"],
        postgresql_where=sa.text(
            "kind = 'platform_payout' AND details->>'status' = 'pending_approval'"
        ),
    )
    op.create_index(
        "ix_ledger_wallet_refunds",
        "ledger_entries",
        ["seq"],
        postgresql_where=sa.text("kind = 'wallet_refund_eligible'"),
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_wallet_refunds", table_name="ledger_entries")
    op.drop_index("ix_ledger_payouts_waiting", table_name="ledger_entries")
    op.drop_index("ix_ledger_payouts", table_name="ledger_entries")
    op.execute("DROP TRIGGER deadlines_keep_case_due_at ON deadlines")
    op.execute("DROP FUNCTION cases_keep_due_at()")
    op.drop_index("ix_cases_due", table_name="cases")
    op.drop_index("ix_cases_escalated_created", table_name="cases")
    op.drop_index("ix_cases_team_created", table_name="cases")
    op.drop_index("ix_cases_assignee_created", table_name="cases")
    op.add_column(
        "cases",
        sa.Column(
            "ticket",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.execute(
        "UPDATE cases SET ticket = jsonb_build_object('type', case_type, 'category', category, "
        "'status', ticket_status, 'priority', priority, 'assignee_team', assignee_team, "
        "'assignee', assignee)"
    )
    for column in (
        "due_at",
        "escalated_to",
        "assignee",
        "assignee_team",
        "priority",
        "ticket_status",
        "category",
    ):
        op.drop_column("cases", column)
