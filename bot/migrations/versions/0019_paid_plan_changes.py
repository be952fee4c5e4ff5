"""A change of package paid in Stars by the customer (star_payments.purpose plan_change);
the reseller's own words when declining a change (plan_change_requests.note)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-24 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # star_payments is referred to by nothing: on SQLite the batch recreates it to change
    # its purpose check, keeping every row.
    with op.batch_alter_table("star_payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_star_payments_purpose"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_star_payments_purpose"),
            "purpose IN ('topup', 'renewal', 'plan_change')",
        )
    # Added in place: a nullable column needs no copy of the table.
    op.add_column("plan_change_requests", sa.Column("note", sa.String(length=255), nullable=True))


def downgrade() -> None:
    # Nothing refers to plan_change_requests: on SQLite the batch may recreate it.
    with op.batch_alter_table("plan_change_requests", schema=None) as batch_op:
        batch_op.drop_column("note")
    # The older schema has no place for a paid change: its rows go (their ledger entries
    # stay, as the downgrade of 0015 leaves a renewal's).
    op.execute("DELETE FROM star_payments WHERE purpose = 'plan_change'")
    with op.batch_alter_table("star_payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_star_payments_purpose"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_star_payments_purpose"), "purpose IN ('topup', 'renewal')"
        )
