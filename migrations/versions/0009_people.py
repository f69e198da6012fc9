"""people: named keys with their last use and rotation, two manager roles, orders by phone

Every key now belongs to a named person or system. Keys made before names existed are named
"<role> key <key id>" (e.g. "ops key key_01J…"), which `dispute-service keys list` shows
until the key is replaced by one made with --name. The roles a key may have are checked
by the database, the two managers' included, and only a vendor key names a vendor.

Orders get customer_phone: the customer's number spelled one way (E.164, as
app/orders/phones.py does it), filled here for the orders already stored, with an index
for GET /v1/orders?customer_phone=, newest first.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("vendor", "support", "ops", "ops_manager", "finance_manager", "service")

# app.orders.phones.normalise, for the numbers the API accepted (^\+?[0-9]{10,15}$).
NORMALISED_PHONE = r"""
    CASE
        WHEN p !~ '^\+?[0-9]{10,15}$' THEN NULL
        WHEN p LIKE '+%' THEN p
        WHEN length(p) = 10 THEN '+91' || p
        WHEN length(p) = 11 AND p LIKE '0%' THEN '+91' || substr(p, 2)
        ELSE '+' || p
    END
"""


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

    op.add_column("orders", sa.Column("customer_phone", sa.String(length=16), nullable=True))
    # Not updated_at: the snapshot did not change, only how this service indexes it.
    op.execute(
        "UPDATE orders SET customer_phone = q.phone FROM ("
        f"  SELECT id, {NORMALISED_PHONE} AS phone"
        "   FROM (SELECT id, customer->>'phone' AS p FROM orders) raw"
        ") q WHERE orders.id = q.id"
    )
    op.create_index(
        "ix_orders_customer_phone_created",
        "orders",
        ["customer_phone", "created_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_orders_customer_phone_created", table_name="orders")
    op.drop_column("orders", "customer_phone")
    # Keys of the manager roles stay: the code of before refuses them every right (403).
    op.drop_constraint(op.f("ck_api_keys_vendor_binding"), "api_keys", type_="check")
    op.drop_constraint(op.f("ck_api_keys_role"), "api_keys", type_="check")
    op.drop_column("api_keys", "rotated_at")
    op.drop_column("api_keys", "last_used_at")
    op.drop_column("api_keys", "name")
