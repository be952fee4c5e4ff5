"""top-up reject prompts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "topup_reject_prompts",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["topup_requests.id"],
            name=op.f("fk_topup_reject_prompts_request_id_topup_requests"),
        ),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_topup_reject_prompts")),
    )
    with op.batch_alter_table("topup_reject_prompts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_topup_reject_prompts_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("topup_reject_prompts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topup_reject_prompts_request_id"))
    op.drop_table("topup_reject_prompts")
