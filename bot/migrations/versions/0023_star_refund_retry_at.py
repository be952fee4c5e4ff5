"""A refund of Stars Telegram would not make is asked again by the recovery job only from
``refund_retry_at`` on, a wait that grows with how long it has been pending, instead of
every minute for the 30 days the job looks back

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-25 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("star_payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refund_retry_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("star_payments", schema=None) as batch_op:
        batch_op.drop_column("refund_retry_at")
