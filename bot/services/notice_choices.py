"""Which notices a linked subscription's chat gets: promotions on or off, and every expiry
reminder or only the last one before the expiry (never none: a customer who forgot would
lose the subscription without a word). Service notices, such as maintenance, always come.

The choices are each subscription's own: a family chat linked to several chooses for each
one (the reminder job reads them per subscription). A chat may change only the
subscriptions linked to it; any other id is refused like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from bot.db import Database
from bot.services.customers import CustomerError
from models import Customer, ReminderChoice


@dataclass(frozen=True)
class Choices:
    customer_id: int
    username: str
    promotions: bool
    reminders: ReminderChoice


async def subscriptions_of(db: Database, chat_id: int) -> list[Choices]:
    """The choices of every subscription linked to this chat, oldest first."""
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(
                    Customer.id,
                    Customer.username,
                    Customer.promotions_opt_out,
                    Customer.reminders,
                )
                .where(Customer.chat_id == chat_id)
                .order_by(Customer.id)
            )
        ).all()
    return [
        Choices(customer_id, username, not opted_out, ReminderChoice(reminders))
        for customer_id, username, opted_out, reminders in rows
    ]


async def choices_of(db: Database, chat_id: int, customer_id: int) -> Choices:
    """The choices of one subscription linked to this chat."""
    for found in await subscriptions_of(db, chat_id):
        if found.customer_id == customer_id:
            return found
    raise CustomerError(f"subscription {customer_id} is not linked here", "not_linked")


async def choose(
    db: Database,
    chat_id: int,
    customer_id: int,
    *,
    promotions: bool | None = None,
    reminders: ReminderChoice | None = None,
) -> Choices:
    """Set what this chat is told about one of its subscriptions. Setting what is already
    set changes nothing, so a second tap on the same button is harmless."""
    values: dict[str, object] = {}
    if promotions is not None:
        values["promotions_opt_out"] = not promotions
    if reminders is not None:
        values["reminders"] = ReminderChoice(reminders)
    if values:
        async with db.transaction() as session:
            await session.execute(
                update(Customer)
                .where(Customer.id == customer_id, Customer.chat_id == chat_id)
                .values(values)
            )
    return await choices_of(db, chat_id, customer_id)
