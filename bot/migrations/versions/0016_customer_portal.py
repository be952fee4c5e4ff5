"""The customer portal: pauses, plan change requests, cancellation, several
subscriptions per chat (customers.chat_id no longer unique), the resellers' pause allowance

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24 14:07:40.061626
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("until > started_at", name=op.f("ck_customer_pauses_until_after_start")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_pauses_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_pauses")),
    )
    with op.batch_alter_table("customer_pauses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_pauses_customer", ["customer_id", "started_at"], unique=False
        )
        batch_op.create_index("ix_customer_pauses_open", ["resumed_at", "until"], unique=False)

    op.create_table(
        "plan_change_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("from_plan_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'declined')",
            name=op.f("ck_plan_change_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_plan_change_requests_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["from_plan_id"], ["plans.id"], name=op.f("fk_plan_change_requests_from_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_change_requests_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_change_requests")),
    )
    with op.batch_alter_table("plan_change_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_plan_change_requests_customer", ["customer_id", "status"], unique=False
        )

    # On SQLite this copies the table (the only way to drop a unique constraint there);
    # upgrade_schema runs migrations with foreign keys off for that, then checks them.
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("cancel_note", sa.String(length=255), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_customers_chat_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_customers_chat_id"), ["chat_id"], unique=False)

    with op.batch_alter_table("resellers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("max_pause_days", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("resellers", schema=None) as batch_op:
        batch_op.drop_column("max_pause_days")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_chat_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_customers_chat_id"), ["chat_id"])
        batch_op.drop_column("cancel_note")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_at")

    with op.batch_alter_table("plan_change_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_change_requests_customer")

    op.drop_table("plan_change_requests")
    with op.batch_alter_table("customer_pauses", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_pauses_open")
        batch_op.drop_index("ix_customer_pauses_customer")

    op.drop_table("customer_pauses")
