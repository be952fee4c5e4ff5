"""Credits moved between resellers keep their expiry: a movement may make several grants
(one per expiry it carried), so credit_grants.transfer_id is no longer unique (indexed)

Downgrading merges the grants of each such movement back into its first one (what the
code before this revision wrote: one grant per movement), with the soonest expiry of
its open parts (none if one of them never expires), and points the hold reservations at
it.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-24 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On SQLite this copies the table (the only way to drop a unique constraint there);
    # upgrade_schema runs it with foreign keys off and checks them after.
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_credit_grants_transfer_id"), type_="unique")
        batch_op.create_index(
            batch_op.f("ix_credit_grants_transfer_id"), ["transfer_id"], unique=False
        )


def _merge_split_grants() -> None:
    bind = op.get_bind()
    split = bind.execute(
        sa.text(
            "SELECT transfer_id FROM credit_grants WHERE transfer_id IS NOT NULL"
            " GROUP BY transfer_id HAVING count(*) > 1"
        )
    ).scalars()
    for transfer_id in list(split):
        rows = bind.execute(
            sa.text(
                "SELECT id, amount, remaining, expires_at, expired_at FROM credit_grants"
                " WHERE transfer_id = :t ORDER BY id"
            ),
            {"t": transfer_id},
        ).all()
        kept, others = rows[0].id, [row.id for row in rows[1:]]
        still_open = [row for row in rows if row.expired_at is None]
        expiries = [row.expires_at for row in still_open if row.expires_at is not None]
        # One grant cannot be part expired: it stays open while any part of it is.
        expires_at = min(expiries) if expiries and len(expiries) == len(still_open) else None
        expired_at = None if still_open else max(row.expired_at for row in rows)
        bind.execute(
            sa.text(
                "UPDATE credit_grants SET amount = :a, remaining = :r, expires_at = :e,"
                " expired_at = :x WHERE id = :i"
            ),
            {
                "a": sum(row.amount for row in rows),
                "r": sum(row.remaining for row in rows),
                "e": expires_at,
                "x": expired_at,
                "i": kept,
            },
        )
        moved = sa.bindparam("others", expanding=True)
        bind.execute(
            sa.text(
                "UPDATE ledger_hold_allocations SET grant_id = :kept WHERE grant_id IN :others"
            ).bindparams(moved),
            {"kept": kept, "others": others},
        )
        bind.execute(
            sa.text("DELETE FROM credit_grants WHERE id IN :others").bindparams(moved),
            {"others": others},
        )


def downgrade() -> None:
    _merge_split_grants()
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_grants_transfer_id"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_credit_grants_transfer_id"), ["transfer_id"]
        )
