"""top-up requests, payment methods and price tiers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:06:58.017993
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_methods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("min_total", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "min_total >= 0", name=op.f("ck_payment_methods_min_total_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_methods")),
        sa.UniqueConstraint("code", name=op.f("uq_payment_methods_code")),
    )
    op.create_table(
        "price_tiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("min_credits", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "min_credits >= 0", name=op.f("ck_price_tiers_min_credits_not_negative")
        ),
        sa.CheckConstraint("unit_price > 0", name=op.f("ck_price_tiers_unit_price_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_tiers")),
        sa.UniqueConstraint("min_credits", name=op.f("uq_price_tiers_min_credits")),
    )
    op.create_table(
        "topup_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reseller_id", sa.Integer(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("total_price", sa.BigInteger(), nullable=False),
        sa.Column("price_currency", sa.String(length=16), nullable=False),
        sa.Column("method_id", sa.Integer(), nullable=False),
        sa.Column("proof_kind", sa.String(length=16), nullable=False),
        sa.Column("proof_file_id", sa.String(length=256), nullable=True),
        sa.Column("proof_reference", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_by_name", sa.String(length=128), nullable=True),
        sa.Column("reject_reason", sa.String(length=255), nullable=True),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("admin_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("admin_message_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "proof_kind IN ('photo', 'document', 'reference')",
            name=op.f("ck_topup_requests_proof_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'expired', 'cancelled')",
            name=op.f("ck_topup_requests_status"),
        ),
        sa.CheckConstraint("credits > 0", name=op.f("ck_topup_requests_credits_positive")),
        sa.CheckConstraint("total_price > 0", name=op.f("ck_topup_requests_total_positive")),
        sa.ForeignKeyConstraint(
            ["method_id"],
            ["payment_methods.id"],
            name=op.f("fk_topup_requests_method_id_payment_methods"),
        ),
        sa.ForeignKeyConstraint(
            ["reseller_id"], ["resellers.id"], name=op.f("fk_topup_requests_reseller_id_resellers")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_topup_requests_transfer_id_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topup_requests")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_topup_requests_idempotency_key")),
    )
    with op.batch_alter_table("topup_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_topup_requests_reseller_status", ["reseller_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_topup_requests_status_created", ["status", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("topup_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_topup_requests_status_created")
        batch_op.drop_index("ix_topup_requests_reseller_status")

    op.drop_table("topup_requests")
    op.drop_table("price_tiers")
    op.drop_table("payment_methods")
