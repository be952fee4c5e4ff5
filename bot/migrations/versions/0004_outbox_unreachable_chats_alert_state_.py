"""outbox, unreachable chats, alert state, top-up reminders

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:29:23.288558
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=191), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'dropped')", name=op.f("ck_outbox_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_status_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "unreachable_chats",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_unreachable_chats")),
    )
    op.create_table(
        "reseller_alert_state",
        sa.Column("reseller_id", sa.Integer(), nullable=False),
        sa.Column("low_balance", sa.Boolean(), nullable=False),
        sa.Column("low_balance_alerts", sa.Integer(), nullable=False),
        sa.Column("debt_warning", sa.Boolean(), nullable=False),
        sa.Column("debt_limit", sa.Boolean(), nullable=False),
        sa.Column("debt_alerts", sa.Integer(), nullable=False),
        sa.Column("last_digest_date", sa.Date(), nullable=True),
        sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reseller_id"],
            ["resellers.id"],
            name=op.f("fk_reseller_alert_state_reseller_id_resellers"),
        ),
        sa.PrimaryKeyConstraint("reseller_id", name=op.f("pk_reseller_alert_state")),
    )
    with op.batch_alter_table("topup_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("topup_requests", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")

    op.drop_table("reseller_alert_state")
    op.drop_table("unreachable_chats")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_due")

    op.drop_table("outbox")
