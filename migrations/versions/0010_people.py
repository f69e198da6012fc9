"""people: named keys with their last use and rotation, two manager roles

Every key now belongs to a named person or system. Keys made before names existed are named
"<role> key <key id>" (e.g. "ops key key_01J…"), which `dispute-service keys list` shows
until the key is replaced by one made with --name. The roles a key may have are checked
by the database, the two managers' included, and only a vendor key names a vendor.

Revision ID: 0010_people
Revises: 0007
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_people"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("vendor", "support", "ops", "ops_manager", "finance_manager", "service")


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("name", sa.String(length=200), nullable=True))
    op.execute("UPDATE api_keys SET name = role || ' key ' || id")
    op.alter_column("api_keys", "name", nullable=False)
    op.add_column("api_keys", sa.Column("last_used_at", sa.DateTime(timezone=True)))
    op.add_column("api_keys", sa.Column("rotated_at", sa.DateTime(timezone=True)))
    op.create_check_constraint(
        op.f("ck_api_keys_role"), "api_keys", "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")"
    )
    op.create_check_constraint(
        op.f("ck_api_keys_vendor_binding"),
        "api_keys",
        "(role = 'vendor') = (vendor_id IS NOT NULL)",
    )


def downgrade() -> None:
    # Keys of the manager roles stay: the code of before refuses them every right (403).
    op.drop_constraint(op.f("ck_api_keys_vendor_binding"), "api_keys", type_="check")
    op.drop_constraint(op.f("ck_api_keys_role"), "api_keys", type_="check")
    op.drop_column("api_keys", "rotated_at")
    op.drop_column("api_keys", "last_used_at")
    op.drop_column("api_keys", "name")
