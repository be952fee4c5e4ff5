"""customers and subscription orders

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:18:35.885409
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reseller_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("provider_details", sa.Text(), nullable=True),
        sa.Column("link_token", sa.String(length=64), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'expired', 'paused', 'cancelled')",
            name=op.f("ck_customers_status"),
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_customers_plan_id_plans")),
        sa.ForeignKeyConstraint(
            ["reseller_id"], ["resellers.id"], name=op.f("fk_customers_reseller_id_resellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_customers_chat_id")),
        sa.UniqueConstraint("link_token", name=op.f("uq_customers_link_token")),
        sa.UniqueConstraint("username", name=op.f("uq_customers_username")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_reseller_expires", ["reseller_id", "expires_at"], unique=False
        )

    op.create_table(
        "subscription_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reseller_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("expires_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('activation', 'renewal')", name=op.f("ck_subscription_orders_kind")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'completed', 'failed')",
            name=op.f("ck_subscription_orders_status"),
        ),
        sa.CheckConstraint("days > 0", name=op.f("ck_subscription_orders_days_positive")),
        sa.CheckConstraint("price > 0", name=op.f("ck_subscription_orders_price_positive")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_subscription_orders_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["ledger_holds.id"],
            name=op.f("fk_subscription_orders_hold_id_ledger_holds"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_subscription_orders_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_id"],
            ["resellers.id"],
            name=op.f("fk_subscription_orders_reseller_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_orders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_subscription_orders_idempotency_key")),
    )
    with op.batch_alter_table("subscription_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscription_orders_customer", ["customer_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subscription_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_orders_customer")

    op.drop_table("subscription_orders")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_reseller_expires")

    op.drop_table("customers")
