"""Customers paying their own renewal in Stars: prices per reseller and plan, Stars
subscriptions, discount codes

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "self_pay_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reseller_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("stars > 0", name=op.f("ck_self_pay_prices_stars_positive")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_self_pay_prices_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_id"], ["resellers.id"], name=op.f("fk_self_pay_prices_reseller_id_resellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_pay_prices")),
        sa.UniqueConstraint("reseller_id", "plan_id", name="uq_self_pay_prices_reseller_plan"),
    )
    op.create_table(
        "star_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reseller_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("method_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.String(length=128), nullable=False),
        sa.Column("payer_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("first_charge_id", sa.String(length=255), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("rate > 0", name=op.f("ck_star_subscriptions_rate_positive")),
        sa.CheckConstraint("stars > 0", name=op.f("ck_star_subscriptions_stars_positive")),
        sa.CheckConstraint(
            "state IN ('pending', 'active', 'cancelled')", name=op.f("ck_star_subscriptions_state")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"],
            name=op.f("fk_star_subscriptions_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["method_id"], ["payment_methods.id"],
            name=op.f("fk_star_subscriptions_method_id_payment_methods"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_star_subscriptions_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_id"], ["resellers.id"],
            name=op.f("fk_star_subscriptions_reseller_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_star_subscriptions")),
        sa.UniqueConstraint("payload", name=op.f("uq_star_subscriptions_payload")),
    )  # fmt: skip
    op.create_index(
        "ix_star_subscriptions_customer_state",
        "star_subscriptions",
        ["customer_id", "state"],
        unique=False,
    )
    op.create_table(
        "discount_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("stars_off", sa.BigInteger(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("max_uses_per_user", sa.Integer(), nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("reseller_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("target IN ('topup', 'renewal')", name=op.f("ck_discount_codes_target")),
        sa.CheckConstraint(
            "(percent_off IS NULL) <> (stars_off IS NULL)",
            name=op.f("ck_discount_codes_one_kind_of_discount"),
        ),
        sa.CheckConstraint(
            "percent_off IS NULL OR (percent_off > 0 AND percent_off < 100)",
            name=op.f("ck_discount_codes_percent_range"),
        ),
        sa.CheckConstraint(
            "stars_off IS NULL OR stars_off > 0", name=op.f("ck_discount_codes_stars_positive")
        ),
        sa.CheckConstraint(
            "max_uses IS NULL OR max_uses > 0", name=op.f("ck_discount_codes_max_uses_positive")
        ),
        sa.CheckConstraint(
            "max_uses_per_user IS NULL OR max_uses_per_user > 0",
            name=op.f("ck_discount_codes_per_user_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_discount_codes_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["reseller_id"], ["resellers.id"], name=op.f("fk_discount_codes_reseller_id_resellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_discount_codes_code")),
    )
    # Added in place: resellers are referred to by most tables, so never recreated.
    op.add_column(
        "resellers",
        sa.Column("self_pay_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    # star_payments is referred to by nothing: on SQLite the batch recreates it to change
    # its purpose check and add the references.
    with op.batch_alter_table("star_payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_star_payments_purpose"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_star_payments_purpose"), "purpose IN ('topup', 'renewal')"
        )
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("subscription_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("discount_code_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("discount_stars", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_star_payments_discount_code_id_discount_codes"),
            "discount_codes", ["discount_code_id"], ["id"],
        )  # fmt: skip
        batch_op.create_foreign_key(
            batch_op.f("fk_star_payments_customer_id_customers"), "customers",
            ["customer_id"], ["id"],
        )  # fmt: skip
        batch_op.create_foreign_key(
            batch_op.f("fk_star_payments_plan_id_plans"), "plans", ["plan_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_star_payments_subscription_id_star_subscriptions"),
            "star_subscriptions", ["subscription_id"], ["id"],
        )  # fmt: skip


def downgrade() -> None:
    op.execute("DELETE FROM star_payments WHERE purpose = 'renewal'")
    with op.batch_alter_table("star_payments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_star_payments_subscription_id_star_subscriptions"), type_="foreignkey"
        )
        batch_op.drop_column("subscription_id")
        batch_op.drop_constraint(
            batch_op.f("fk_star_payments_discount_code_id_discount_codes"), type_="foreignkey"
        )
        batch_op.drop_column("discount_stars")
        batch_op.drop_column("discount_code_id")
        batch_op.drop_constraint(batch_op.f("fk_star_payments_plan_id_plans"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_star_payments_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_column("plan_id")
        batch_op.drop_column("customer_id")
        batch_op.drop_constraint(batch_op.f("ck_star_payments_purpose"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_star_payments_purpose"), "purpose IN ('topup')"
        )
    op.drop_column("resellers", "self_pay_enabled")
    op.drop_table("discount_codes")
    op.drop_index("ix_star_subscriptions_customer_state", table_name="star_subscriptions")
    op.drop_table("star_subscriptions")
    op.drop_table("self_pay_prices")
