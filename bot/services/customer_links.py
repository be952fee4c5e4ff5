"""Customer links: the invite link of a subscription and the chat linked through it.

An invite link links one chat. Revoking or replacing it unlinks that chat, withdraws the
reminders queued for it and tells it why (through the outbox, in the same transaction);
the customer may unlink their chat too. Reminders go only to linked chats.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import ledger
from bot.services.alerts import Kind
from bot.services.customers import NOT_LINKED, CustomerError, CustomerView, _load, _own
from bot.services.outbox import Outgoing, enqueue
from bot.services.resellers import require_by_telegram_id
from models import Customer, OutboxMessage, OutboxStatus


class UnlinkReason(StrEnum):
    REVOKED = "revoked"
    REPLACED = "replaced"


@dataclass(frozen=True)
class LinkChange:
    """An invite link revoked or replaced: the customer now, the new token, whether a
    linked chat was unlinked (and told)."""

    customer: CustomerView
    token: str | None
    unlinked_chat: bool


# --- the reseller's side ----------------------------------------------------------------


async def invite_token(db: Database, telegram_id: int, customer_id: int) -> str:
    """The customer's invite token, minting one if it was revoked."""
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        customer = await _own(session, reseller, customer_id)
        if customer.link_token:
            return customer.link_token
        token = secrets.token_urlsafe(16)
        await session.execute(
            update(Customer).where(Customer.id == customer.id).values(link_token=token)
        )
        return token


async def _withdraw_reminders(session: AsyncSession, chat_id: int, customer_id: int) -> None:
    """Reminders already queued for a chat no longer linked to a subscription must not go
    out; the chat's other subscriptions keep theirs.

    Deleted rather than marked dropped, so that whichever chat links next gets them.
    """
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.kind == Kind.EXPIRY_REMINDER,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.key.startswith(f"remind:{customer_id}:", autoescape=True),
        )
    )


async def _change_link(
    db: Database, telegram_id: int, customer_id: int, *, now: dt.datetime, reason: UnlinkReason
) -> LinkChange:
    """Revoke or replace the invite link; a chat linked through the old one is unlinked."""
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        await _own(session, reseller, customer_id)
        # Locked: a link made with the old token at this moment either lands before this
        # (and is undone here) or finds the token gone.
        chat_id = await session.scalar(
            select(Customer.chat_id).where(Customer.id == customer_id).with_for_update()
        )
        token = secrets.token_urlsafe(16) if reason == UnlinkReason.REPLACED else None
        await session.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(link_token=token, chat_id=None, linked_at=None)
        )
        customer = await _load(session, customer_id)
        assert customer is not None
        if chat_id is not None:
            await _withdraw_reminders(session, chat_id, customer_id)
            notice = Outgoing(
                key=f"unlinked:{customer_id}:{chat_id}:{now.isoformat()}",
                chat_id=chat_id,
                kind=Kind.CUSTOMER_UNLINKED,
                payload={"username": customer.username, "reason": reason.value},
            )
            await enqueue(session, [notice], now)
        return LinkChange(customer, token, unlinked_chat=chat_id is not None)


async def revoke_invite(
    db: Database, telegram_id: int, customer_id: int, *, now: dt.datetime
) -> LinkChange:
    """The link stops working and the chat linked through it is unlinked (and told)."""
    return await _change_link(db, telegram_id, customer_id, now=now, reason=UnlinkReason.REVOKED)


async def replace_invite(
    db: Database, telegram_id: int, customer_id: int, *, now: dt.datetime
) -> LinkChange:
    """A new link replaces the old one, which stops working; its chat is unlinked (and told)."""
    return await _change_link(db, telegram_id, customer_id, now=now, reason=UnlinkReason.REPLACED)


# --- the customer's side ----------------------------------------------------------------


async def invite_info(db: Database, token: str) -> CustomerView | None:
    """The customer an invite link belongs to, without linking anything (None: not valid)."""
    async with db.transaction() as session:
        customer_id = await session.scalar(select(Customer.id).where(Customer.link_token == token))
        return None if customer_id is None else await _load(session, customer_id)


async def link(db: Database, *, token: str, chat_id: int, now: dt.datetime) -> CustomerView:
    """Link a chat to the subscription behind ``token``: one chat per token."""

    async def _link(session: AsyncSession) -> CustomerView:
        customer = await session.scalar(
            select(Customer)
            .where(Customer.link_token == token)
            .execution_options(populate_existing=True)
        )
        if customer is None:
            raise CustomerError(
                "This invite link is not valid (it may have been revoked). "
                "Ask your reseller for a new one.",
                "invite_invalid",
            )
        if customer.chat_id is not None and customer.chat_id != chat_id:
            raise CustomerError(
                "This invite link was already used by someone else. "
                "Ask your reseller for a new one.",
                "invite_used",
            )
        # A chat linked to other subscriptions (a family's) keeps them and adds this one.
        if customer.chat_id is None:
            linked = await session.execute(
                update(Customer)
                .where(
                    Customer.id == customer.id,
                    Customer.chat_id.is_(None),
                    # Revoked or replaced in the meantime: the old token links nothing.
                    Customer.link_token == token,
                )
                .values(chat_id=chat_id, linked_at=now)
            )
            if ledger.rowcount(linked) != 1:
                raise CustomerError(
                    "This invite link is no longer valid. Ask your reseller for a new one.",
                    "invite_invalid",
                )
        found = await _load(session, customer.id)
        assert found is not None
        return found

    return await db.run(_link)


async def unlink_chat(
    db: Database, chat_id: int, *, now: dt.datetime, customer_id: int | None = None
) -> CustomerView:
    """The customer unlinks their chat from ``customer_id`` (None: its first subscription):
    no more reminders about it here. The link still works."""
    async with db.transaction() as session:
        query = select(Customer.id).where(Customer.chat_id == chat_id)
        if customer_id is not None:
            query = query.where(Customer.id == customer_id)
        found = await session.scalar(query.order_by(Customer.id).limit(1).with_for_update())
        if found is None:
            raise CustomerError(NOT_LINKED, "not_linked")
        customer_id = found
        await session.execute(
            update(Customer).where(Customer.id == customer_id).values(chat_id=None, linked_at=None)
        )
        await _withdraw_reminders(session, chat_id, customer_id)
        customer = await _load(session, customer_id)
        assert customer is not None
        return customer
