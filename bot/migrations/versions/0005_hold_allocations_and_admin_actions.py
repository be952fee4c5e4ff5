"""grants back every credit, holds reserve from grants, admin actions

Every credit into a reseller account is now a grant, and a pending hold records which
grants it reserves (ledger_hold_allocations). This migration brings existing accounts to
that rule: grants are trimmed to (or, with an opening grant that never expires, topped up
to) the positive balance, then pending holds reserve from the soonest-expiring grants.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 04:20:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_hold_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "amount >= 0", name=op.f("ck_ledger_hold_allocations_amount_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["credit_grants.id"],
            name=op.f("fk_ledger_hold_allocations_grant_id_credit_grants"),
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["ledger_holds.id"],
            name=op.f("fk_ledger_hold_allocations_hold_id_ledger_holds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_hold_allocations")),
    )
    with op.batch_alter_table("ledger_hold_allocations", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_hold_allocations_grant", ["grant_id"], unique=False)
        batch_op.create_index("ix_ledger_hold_allocations_hold", ["hold_id"], unique=False)

    op.create_table(
        "admin_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reseller_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reseller_id"],
            ["resellers.id"],
            name=op.f("fk_admin_actions_reseller_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_actions")),
    )
    with op.batch_alter_table("admin_actions", schema=None) as batch_op:
        batch_op.create_index("ix_admin_actions_created", ["created_at"], unique=False)
        batch_op.create_index("ix_admin_actions_reseller", ["reseller_id", "id"], unique=False)

    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.alter_column("transfer_id", existing_type=sa.Integer(), nullable=True)

    _settle_existing_accounts()


def _settle_existing_accounts() -> None:
    bind = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # SQLite keeps naive UTC, as the models do
    accounts = bind.execute(
        sa.text("SELECT id, balance, held FROM ledger_accounts WHERE kind = 'reseller'")
    ).all()
    for account_id, balance, held in accounts:
        backed = max(0, balance)
        grants = [
            [grant_id, remaining]
            for grant_id, remaining in bind.execute(
                sa.text(
                    "SELECT id, remaining FROM credit_grants"
                    " WHERE account_id = :a AND expired_at IS NULL AND remaining > 0"
                    " ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id"
                ),
                {"a": account_id},
            ).all()
        ]
        excess = sum(r for _, r in grants) - backed
        for grant in grants:  # credit the balance no longer has: soonest-expiring first
            take = min(max(excess, 0), grant[1])
            grant[1] -= take
            excess -= take
        if excess < 0:  # credit that came in before every credit had a grant
            new_id = bind.execute(
                sa.text(
                    "INSERT INTO credit_grants (account_id, transfer_id, amount, remaining,"
                    " expires_at, expired_at, created_at)"
                    " VALUES (:a, NULL, :x, :x, NULL, NULL, :now) RETURNING id"
                ),
                {"a": account_id, "x": -excess, "now": now},
            ).scalar_one()
            grants.append([new_id, -excess])
        to_reserve = min(held, backed)
        holds = bind.execute(
            sa.text(
                "SELECT id, amount FROM ledger_holds"
                " WHERE account_id = :a AND status = 'pending' ORDER BY id"
            ),
            {"a": account_id},
        ).all()
        g = 0
        for hold_id, amount in holds:
            short = min(amount, to_reserve)
            while short > 0 and g < len(grants):
                take = min(short, grants[g][1])
                if take:
                    bind.execute(
                        sa.text(
                            "INSERT INTO ledger_hold_allocations (hold_id, grant_id, amount)"
                            " VALUES (:h, :g, :x)"
                        ),
                        {"h": hold_id, "g": grants[g][0], "x": take},
                    )
                    grants[g][1] -= take
                    short -= take
                    to_reserve -= take
                if grants[g][1] == 0:
                    g += 1
        for grant_id, remaining in grants:
            bind.execute(
                sa.text("UPDATE credit_grants SET remaining = :r WHERE id = :g"),
                {"r": remaining, "g": grant_id},
            )


def downgrade() -> None:
    op.execute("DELETE FROM credit_grants WHERE transfer_id IS NULL")
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.alter_column("transfer_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("admin_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_admin_actions_reseller")
        batch_op.drop_index("ix_admin_actions_created")
    op.drop_table("admin_actions")
    with op.batch_alter_table("ledger_hold_allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_hold_allocations_hold")
        batch_op.drop_index("ix_ledger_hold_allocations_grant")
    op.drop_table("ledger_hold_allocations")
