"""panels, plans bound to a panel, orders that remember their panel

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "panels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("base_url", sa.String(length=255), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('marzban', 'pasarguard', '3x-ui', 'remnawave', 'xui-one', 'webhook')",
            name=op.f("ck_panels_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panels")),
        sa.UniqueConstraint("name", name=op.f("uq_panels_name")),
    )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("panel_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("template", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("data_limit_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "reset_traffic_on_renewal",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_plans_panel_id_panels"), "panels", ["panel_id"], ["id"]
        )
    with op.batch_alter_table("subscription_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("panel_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("panel_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_subscription_orders_panel_id_panels"), "panels", ["panel_id"], ["id"]
        )
        batch_op.create_index(
            "ix_subscription_orders_status", ["status", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subscription_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_orders_status")
        batch_op.drop_constraint(
            batch_op.f("fk_subscription_orders_panel_id_panels"), type_="foreignkey"
        )
        batch_op.drop_column("panel_expires_at")
        batch_op.drop_column("panel_id")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_plans_panel_id_panels"), type_="foreignkey")
        batch_op.drop_column("reset_traffic_on_renewal")
        batch_op.drop_column("data_limit_bytes")
        batch_op.drop_column("template")
        batch_op.drop_column("panel_id")
    op.drop_table("panels")
