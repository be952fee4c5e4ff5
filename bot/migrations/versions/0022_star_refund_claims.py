"""A refund of Stars under way keeps when it began and who holds it: the job that
finishes refunds the bot stopped in the middle of looks back from the first, and the
second (a short lease) keeps it and an admin's retry from asking Telegram at once

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-25 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("star_payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refund_begun_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("refund_claimed_until", sa.DateTime(timezone=True), nullable=True)
        )
    # Refunds already under way: their start is unknown, the payment's time stands in.
    op.execute("UPDATE star_payments SET refund_begun_at = paid_at WHERE state = 'refund_pending'")


def downgrade() -> None:
    with op.batch_alter_table("star_payments", schema=None) as batch_op:
        batch_op.drop_column("refund_claimed_until")
        batch_op.drop_column("refund_begun_at")
