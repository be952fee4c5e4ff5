"""Which notices a linked customer gets: promotions on or off, and every expiry reminder
or only the last one before the expiry (never none: a customer who forgot would lose the
subscription without a word). Service notices, such as maintenance, always come."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from bot.db import Database
from bot.services.customers import CustomerError
from models import Customer, ReminderChoice


@dataclass(frozen=True)
class Choices:
    username: str
    promotions: bool
    reminders: ReminderChoice


async def choices_of(db: Database, chat_id: int) -> Choices | None:
    """The choices of the subscription linked to this chat; None if none is."""
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(Customer.username, Customer.promotions_opt_out, Customer.reminders)
                .where(Customer.chat_id == chat_id)
                .order_by(Customer.id)
                .limit(1)
            )
        ).first()
    if row is None:
        return None
    username, opted_out, reminders = row
    return Choices(username, not opted_out, ReminderChoice(reminders))


async def choose(
    db: Database,
    chat_id: int,
    *,
    promotions: bool | None = None,
    reminders: ReminderChoice | None = None,
) -> Choices:
    """Change what this chat is told (for every subscription linked to it)."""
    values: dict[str, object] = {}
    if promotions is not None:
        values["promotions_opt_out"] = not promotions
    if reminders is not None:
        values["reminders"] = ReminderChoice(reminders)
    if values:
        async with db.transaction() as session:
            await session.execute(
                update(Customer).where(Customer.chat_id == chat_id).values(values)
            )
    found = await choices_of(db, chat_id)
    if found is None:
        raise CustomerError("this chat is not linked", "not_linked")
    return found
