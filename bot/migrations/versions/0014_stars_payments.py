"""Telegram Stars payments: the star_payments table and Stars payment methods

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "star_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("reseller_id", sa.Integer(), nullable=False),
        sa.Column("method_id", sa.Integer(), nullable=False),
        sa.Column("topup_request_id", sa.Integer(), nullable=True),
        sa.Column("stars", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("telegram_payment_charge_id", sa.String(length=255), nullable=True),
        sa.Column("provider_payment_charge_id", sa.String(length=255), nullable=True),
        sa.Column("payer_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("grant_transfer_id", sa.Integer(), nullable=True),
        sa.Column("refund_transfer_id", sa.Integer(), nullable=True),
        sa.Column("refund_shortfall", sa.BigInteger(), nullable=False),
        sa.Column("refund_attempts", sa.Integer(), nullable=False),
        sa.Column("refund_reason", sa.String(length=255), nullable=True),
        sa.Column("refund_actor", sa.String(length=64), nullable=True),
        sa.Column("refund_error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('topup')", name=op.f("ck_star_payments_purpose")),
        sa.CheckConstraint(
            "state IN ('invoiced', 'paid', 'refund_pending', 'refunded', 'cancelled')",
            name=op.f("ck_star_payments_state"),
        ),
        sa.CheckConstraint("credits > 0", name=op.f("ck_star_payments_credits_positive")),
        sa.CheckConstraint("rate > 0", name=op.f("ck_star_payments_rate_positive")),
        sa.CheckConstraint(
            "refund_shortfall >= 0", name=op.f("ck_star_payments_shortfall_not_negative")
        ),
        sa.CheckConstraint("stars > 0", name=op.f("ck_star_payments_stars_positive")),
        sa.ForeignKeyConstraint(
            ["grant_transfer_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_star_payments_grant_transfer_id_ledger_transfers"),
        ),
        sa.ForeignKeyConstraint(
            ["method_id"],
            ["payment_methods.id"],
            name=op.f("fk_star_payments_method_id_payment_methods"),
        ),
        sa.ForeignKeyConstraint(
            ["refund_transfer_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_star_payments_refund_transfer_id_ledger_transfers"),
        ),
        sa.ForeignKeyConstraint(
            ["reseller_id"], ["resellers.id"], name=op.f("fk_star_payments_reseller_id_resellers")
        ),
        sa.ForeignKeyConstraint(
            ["topup_request_id"],
            ["topup_requests.id"],
            name=op.f("fk_star_payments_topup_request_id_topup_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_star_payments")),
        sa.UniqueConstraint("payload", name=op.f("uq_star_payments_payload")),
        sa.UniqueConstraint(
            "telegram_payment_charge_id", name=op.f("uq_star_payments_telegram_payment_charge_id")
        ),
    )
    op.create_index("ix_star_payments_paid_at", "star_payments", ["paid_at"], unique=False)
    op.create_index(
        "ix_star_payments_reseller_state", "star_payments", ["reseller_id", "state"], unique=False
    )
    # Added in place (ALTER TABLE ... ADD COLUMN on both databases): top-up requests refer
    # to payment_methods, so it is never recreated.
    op.add_column(
        "payment_methods",
        sa.Column("kind", sa.String(length=16), server_default="manual", nullable=False),
    )
    for column in _STARS_COLUMNS:
        op.add_column("payment_methods", sa.Column(column, sa.BigInteger(), nullable=True))


_STARS_COLUMNS = ("stars_rate", "stars_min_credits", "stars_max_credits")


def downgrade() -> None:
    for column in (*reversed(_STARS_COLUMNS), "kind"):
        # Plain columns (no check, no reference): SQLite drops them in place too.
        op.drop_column("payment_methods", column)
    op.drop_index("ix_star_payments_reseller_state", table_name="star_payments")
    op.drop_index("ix_star_payments_paid_at", table_name="star_payments")
    op.drop_table("star_payments")
