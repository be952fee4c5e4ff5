"""announcements as a staff permission of their own; notification choices per subscription

Staff who could announce until now (those allowed ``resellers``) are allowed
``announcements`` too, so nobody loses access. A family chat's choices were one per chat:
the screen showed (and the chat believed in) those of its first subscription, while a
subscription linked later kept the defaults. Every subscription of a chat now gets the
choices its first one holds, which is what the chat was shown; from here on each
subscription's own choices are changed one at a time.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-24 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD, NEW = "resellers", "announcements"

staff = sa.table(
    "staff_admins", sa.column("telegram_id", sa.BigInteger()), sa.column("permissions", sa.String())
)


def _set_permissions(change: str) -> None:
    """Add ``announcements`` where ``resellers`` is (``change`` "add") or drop it."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(staff.c.telegram_id, staff.c.permissions)).all()
    for telegram_id, stored in rows:
        codes = {code for code in stored.split(",") if code}
        if change == "add" and OLD in codes:
            codes.add(NEW)
        elif change == "drop":
            codes.discard(NEW)
        after = ",".join(sorted(codes))
        if after != stored:
            connection.execute(
                staff.update().where(staff.c.telegram_id == telegram_id).values(permissions=after)
            )


def _spread_first_choices() -> None:
    """Every linked subscription takes the choices of its chat's first subscription."""
    op.execute(
        """
        UPDATE customers SET
            promotions_opt_out = (
                SELECT earliest.promotions_opt_out FROM customers AS earliest
                WHERE earliest.chat_id = customers.chat_id ORDER BY earliest.id LIMIT 1),
            reminders = (
                SELECT earliest.reminders FROM customers AS earliest
                WHERE earliest.chat_id = customers.chat_id ORDER BY earliest.id LIMIT 1)
        WHERE chat_id IS NOT NULL
        """
    )


def upgrade() -> None:
    _set_permissions("add")
    _spread_first_choices()


def downgrade() -> None:
    # The older code reads a chat's choices from its first subscription and writes all of
    # them at once: make them agree again, as they did before.
    _spread_first_choices()
    _set_permissions("drop")
