"""plans in the order the admin sets

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
    # Existing plans keep the order resellers saw them in: cheapest first, then oldest.
    op.execute(
        "UPDATE plans SET position = (SELECT COUNT(*) FROM plans AS other"
        " WHERE other.price < plans.price"
        " OR (other.price = plans.price AND other.id <= plans.id))"
    )


def downgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("position")
