"""sub-resellers, credit transfers and price lists

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("percent_off", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "percent_off >= 0 AND percent_off < 10000", name=op.f("ck_price_lists_percent_off")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["resellers.id"], name=op.f("fk_price_lists_owner_id_resellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_lists")),
        sa.UniqueConstraint("owner_id", "name", name="uq_price_lists_owner_name"),
    )
    op.create_table(
        "price_list_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("price_list_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(price IS NULL) <> (percent_off IS NULL)",
            name=op.f("ck_price_list_entries_price_or_percent"),
        ),
        sa.CheckConstraint(
            "price IS NULL OR price > 0", name=op.f("ck_price_list_entries_price_positive")
        ),
        sa.CheckConstraint(
            "percent_off IS NULL OR (percent_off >= 0 AND percent_off < 10000)",
            name=op.f("ck_price_list_entries_percent_off"),
        ),
        sa.ForeignKeyConstraint(
            ["price_list_id"],
            ["price_lists.id"],
            name=op.f("fk_price_list_entries_price_list_id_price_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_price_list_entries_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_list_entries")),
        sa.UniqueConstraint("price_list_id", "plan_id", name="uq_price_list_entries_list_plan"),
    )
    _add_reseller_columns()
    op.create_table(
        "credit_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_reseller_id", sa.Integer(), nullable=False),
        sa.Column("to_reseller_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("tx_type", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.String(length=255), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("ledger_transfer_id", sa.Integer(), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_transfers_amount_positive")),
        sa.CheckConstraint(
            "from_reseller_id <> to_reseller_id",
            name=op.f("ck_credit_transfers_distinct_resellers"),
        ),
        sa.CheckConstraint(
            "kind IN ('transfer', 'allocate', 'reclaim', 'reversal')",
            name=op.f("ck_credit_transfers_kind"),
        ),
        sa.CheckConstraint(
            "tx_type IN ('purchase', 'adjustment')", name=op.f("ck_credit_transfers_tx_type")
        ),
        sa.CheckConstraint(
            "(kind = 'reversal') = (reverses_id IS NOT NULL)",
            name=op.f("ck_credit_transfers_reversal_names_transfer"),
        ),
        sa.ForeignKeyConstraint(
            ["from_reseller_id"],
            ["resellers.id"],
            name=op.f("fk_credit_transfers_from_reseller_id_resellers"),
        ),
        sa.ForeignKeyConstraint(
            ["to_reseller_id"],
            ["resellers.id"],
            name=op.f("fk_credit_transfers_to_reseller_id_resellers"),
        ),
        sa.ForeignKeyConstraint(
            ["ledger_transfer_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_credit_transfers_ledger_transfer_id_ledger_transfers"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["credit_transfers.id"],
            name=op.f("fk_credit_transfers_reverses_id_credit_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_transfers")),
        sa.UniqueConstraint(
            "ledger_transfer_id", name=op.f("uq_credit_transfers_ledger_transfer_id")
        ),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_credit_transfers_reverses_id")),
    )
    op.create_index(
        "ix_credit_transfers_from_created",
        "credit_transfers",
        ["from_reseller_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_credit_transfers_to_created",
        "credit_transfers",
        ["to_reseller_id", "created_at"],
        unique=False,
    )


_DEPTH = "downline_depth >= 0 AND downline_depth <= 5"
_LIMIT = "transfer_daily_limit IS NULL OR transfer_daily_limit > 0"
_COLUMNS = ("price_list_id", "transfer_daily_limit", "transfers_allowed", "downline_depth")


def _add_reseller_columns() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # A batch recreate would drop and copy resellers, which every other table refers
        # to: with foreign keys enforced that fails once rows exist. SQLite adds columns
        # with their checks and reference in place (its constraints are then unnamed).
        for column in (
            f"downline_depth INTEGER DEFAULT 0 NOT NULL CHECK ({_DEPTH})",
            "transfers_allowed BOOLEAN DEFAULT 1 NOT NULL",
            f"transfer_daily_limit BIGINT CHECK ({_LIMIT})",
            "price_list_id INTEGER REFERENCES price_lists (id)",
        ):
            op.execute(f"ALTER TABLE resellers ADD COLUMN {column}")
        return
    op.add_column(
        "resellers", sa.Column("downline_depth", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "resellers",
        sa.Column("transfers_allowed", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column("resellers", sa.Column("transfer_daily_limit", sa.BigInteger(), nullable=True))
    op.add_column("resellers", sa.Column("price_list_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_resellers_price_list_id_price_lists"),
        "resellers",
        "price_lists",
        ["price_list_id"],
        ["id"],
    )
    op.create_check_constraint(op.f("ck_resellers_downline_depth"), "resellers", _DEPTH)
    op.create_check_constraint(op.f("ck_resellers_transfer_limit"), "resellers", _LIMIT)


def downgrade() -> None:
    op.drop_index("ix_credit_transfers_to_created", table_name="credit_transfers")
    op.drop_index("ix_credit_transfers_from_created", table_name="credit_transfers")
    op.drop_table("credit_transfers")
    if op.get_bind().dialect.name == "sqlite":
        # Columns named in a CHECK or a reference cannot be dropped in place on SQLite.
        with op.batch_alter_table("resellers", recreate="always") as batch_op:
            for column in _COLUMNS:
                batch_op.drop_column(column)
    else:
        op.drop_constraint(op.f("ck_resellers_transfer_limit"), "resellers", type_="check")
        op.drop_constraint(op.f("ck_resellers_downline_depth"), "resellers", type_="check")
        op.drop_constraint(
            op.f("fk_resellers_price_list_id_price_lists"), "resellers", type_="foreignkey"
        )
        for column in _COLUMNS:
            op.drop_column("resellers", column)
    op.drop_table("price_list_entries")
    op.drop_table("price_lists")
