"""What an admin does about transfers: allow or forbid them per reseller, set or clear a
reseller's daily limit, list a reseller's transfers, and reverse one.

Transfers are reversible (allocations to sub-resellers are not): a reversal is a new
ledger movement from the receiver back to the sender (``TRANSFER_REVERSAL``) and a
``CreditTransfer`` row naming the transfer it undoes; the database keeps at most one per
transfer, so it is made once however often it is tapped. It is refused when the receiver
no longer has the credits (above zero and unheld).

The credits go back with their expiry. They come first from what is left free of the
grants the transfer gave the receiver, so the sender gets them back expiring when they
did before. What the receiver spent or lost to expiry meanwhile is made up from its other
free credit, soonest-expiring first, and that part keeps the expiry it had with the
receiver: a credit keeps its expiry wherever it goes. Giving it the transfer's expiry
instead would either lengthen the life of the receiver's shorter-lived credit (what
expiry forbids) or, once that expiry has passed, destroy credit the receiver still had.

Every change is in the action log, with the values before and after, in its own
transaction; a reversal tells both sides.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db import Database
from bot.money import MAX_AMOUNT
from bot.services import admin_log, ledger
from bot.services import transfer_rules as rules
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue
from bot.services.transfer_rules import (
    Party,
    Reversed,
    Reversible,
    TransferError,
    TransferItem,
    TransferPage,
)
from models import CreditTransfer, EntryKind, Reseller, TransferKind, TxType

LISTED = (TransferKind.TRANSFER, TransferKind.REVERSAL)


async def _reseller(session: AsyncSession, telegram_id: int) -> Reseller:
    found = await rules.lock_reseller(session, telegram_id)
    if found is None:
        raise TransferError("no_reseller", f"no reseller with Telegram id {telegram_id}")
    return found


async def set_allowed(
    db: Database, *, telegram_id: int, allowed: bool, actor: str, now: dt.datetime
) -> Party:
    """Allow or forbid a reseller to send transfers (receiving is always allowed). Asking
    for what is already so changes and logs nothing."""

    async def _set(session: AsyncSession) -> Party:
        reseller = await _reseller(session, telegram_id)
        before = reseller.transfers_allowed
        if before != allowed:
            reseller.transfers_allowed = allowed
            await session.flush()
            await admin_log.record(
                session,
                actor=actor,
                action="transfer_allowed",
                now=now,
                reseller_id=reseller.id,
                before={"transfers_allowed": before},
                after={"transfers_allowed": allowed},
            )
        return rules.party(reseller)

    return await db.run(_set)


async def set_daily_limit(
    db: Database, *, telegram_id: int, limit: int | None, actor: str, now: dt.datetime
) -> Party:
    """Set (hundredths, above zero) or clear (None) what a reseller may send a day."""
    if limit is not None and (isinstance(limit, bool) or not 0 < limit <= MAX_AMOUNT):
        raise TransferError("bad_limit", "the limit must be above zero", maximum=MAX_AMOUNT)

    async def _set(session: AsyncSession) -> Party:
        reseller = await _reseller(session, telegram_id)
        before = reseller.transfer_daily_limit
        if before != limit:
            reseller.transfer_daily_limit = limit
            await session.flush()
            await admin_log.record(
                session,
                actor=actor,
                action="transfer_limit",
                now=now,
                reseller_id=reseller.id,
                before={"limit": before},
                after={"limit": limit},
            )
        return rules.party(reseller)

    return await db.run(_set)


async def _items(
    session: AsyncSession, where: ColumnElement[bool], *, offset: int, limit: int
) -> list[TransferItem]:
    sender, recipient, reversal = aliased(Reseller), aliased(Reseller), aliased(CreditTransfer)
    rows = await session.execute(
        select(CreditTransfer, sender, recipient, reversal.id)
        .join(sender, sender.id == CreditTransfer.from_reseller_id)
        .join(recipient, recipient.id == CreditTransfer.to_reseller_id)
        .outerjoin(reversal, reversal.reverses_id == CreditTransfer.id)
        .where(CreditTransfer.kind.in_(LISTED), where)
        .order_by(CreditTransfer.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [
        TransferItem(
            id=row.id,
            kind=TransferKind(row.kind),
            sender=rules.party(out),
            recipient=rules.party(into),
            amount=row.amount,
            note=row.comment,
            created_at=row.created_at,
            reversed_by=reversal_id,
            reverses_id=row.reverses_id,
        )
        for row, out, into, reversal_id in rows
    ]


async def transfers_page(
    db: Database, telegram_id: int, *, page: int, page_size: int = 8
) -> TransferPage:
    """A reseller's transfers and reversals, sent and received, newest first, with its
    transfer settings. ``page`` counts from 0 and is clamped to the last."""
    async with db.transaction() as session:
        reseller = await session.scalar(select(Reseller).where(Reseller.telegram_id == telegram_id))
        if reseller is None:
            raise TransferError("no_reseller", f"no reseller with Telegram id {telegram_id}")
        involving = or_(
            CreditTransfer.from_reseller_id == reseller.id,
            CreditTransfer.to_reseller_id == reseller.id,
        )
        total = (
            await session.scalar(
                select(func.count())
                .select_from(CreditTransfer)
                .where(CreditTransfer.kind.in_(LISTED), involving)
            )
            or 0
        )
        pages = max(1, -(-total // page_size))
        page = min(max(page, 0), pages - 1)
        items = await _items(session, involving, offset=page * page_size, limit=page_size)
        return TransferPage(
            reseller=rules.party(reseller),
            allowed=reseller.transfers_allowed,
            daily_limit=reseller.transfer_daily_limit,
            items=tuple(items),
            page=page,
            pages=pages,
            total=total,
        )


async def _transfer(session: AsyncSession, transfer_id: int) -> TransferItem | None:
    found = await _items(session, CreditTransfer.id == transfer_id, offset=0, limit=1)
    return found[0] if found else None


async def reversible(db: Database, transfer_id: int, telegram_id: int) -> Reversible:
    """One transfer that ``telegram_id`` sent, with what its receiver has available now,
    for the reversal's screens; anything else (no such transfer, a reversal, another
    reseller's) is refused."""
    async with db.transaction() as session:
        item = _sent_by(await _transfer(session, transfer_id), telegram_id)
        account = await rules.account_of(session, item.recipient.reseller_id)
        available = rules.transferable(await ledger.balance(session, account))
        return Reversible(item, available)


def _sent_by(item: TransferItem | None, telegram_id: int) -> TransferItem:
    if item is None or item.kind != TransferKind.TRANSFER or item.sender.telegram_id != telegram_id:
        raise TransferError("no_transfer", "no such transfer from this reseller")
    return item


def _reason(reason: str | None) -> str:
    checked = admin_log.check_reason(reason)
    if checked is None:
        raise TransferError("no_reason", "say why the transfer is reversed")
    return checked


async def reverse(
    db: Database,
    *,
    transfer_id: int,
    telegram_id: int,
    reason: str | None,
    actor: str,
    actor_telegram_id: int,
    now: dt.datetime,
) -> Reversed:
    """Reverse transfer ``transfer_id`` sent by the reseller ``telegram_id`` (see the
    module's docstring). A transfer already reversed is refused with ``already_reversed``."""
    why = _reason(reason)

    async def _reverse(session: AsyncSession) -> Reversed:
        # Lock the transfer's row first: two admins tapping at once queue here.
        locked = await session.scalar(
            select(CreditTransfer.id).where(CreditTransfer.id == transfer_id).with_for_update()
        )
        item = _sent_by(await _transfer(session, transfer_id) if locked else None, telegram_id)
        if item.reversed_by is not None:
            raise TransferError("already_reversed", "it was reversed before", id=item.reversed_by)
        given = await session.scalar(
            select(CreditTransfer.ledger_transfer_id).where(CreditTransfer.id == item.id)
        )
        src = await rules.account_of(session, item.recipient.reseller_id)
        dst = await rules.account_of(session, item.sender.reseller_id)
        await ledger.lock_accounts(session, src, dst)
        before_src, before_dst = (
            await ledger.balance(session, src),
            await ledger.balance(session, dst),
        )
        await rules.check_covers(
            session, src, item.amount, "receiver_short", name=item.recipient.name
        )
        movement = await ledger.move(
            session,
            src=src,
            dst=dst,
            amount=item.amount,
            kind=EntryKind.TRANSFER_REVERSAL,
            tx_type=TxType.ADJUSTMENT,
            actor=actor,
            key=f"xfer-reversal:{item.id}",
            comment=why,
            related=f"transfer:{item.id}",
            keep_expiry=True,
            first_from=given,
        )
        row = CreditTransfer(
            kind=TransferKind.REVERSAL,
            from_reseller_id=item.recipient.reseller_id,
            to_reseller_id=item.sender.reseller_id,
            amount=item.amount,
            tx_type=TxType.ADJUSTMENT,
            comment=why,
            actor_telegram_id=actor_telegram_id,
            ledger_transfer_id=movement.transfer_id,
            reverses_id=item.id,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        after_src, after_dst = (
            await ledger.balance(session, src),
            await ledger.balance(session, dst),
        )
        await admin_log.record(
            session,
            actor=actor,
            action="transfer_reversed",
            now=now,
            reseller_id=item.sender.reseller_id,
            reason=why,
            before={"balance": before_dst.balance, "receiver_balance": before_src.balance},
            after={
                "balance": after_dst.balance,
                "receiver_balance": after_src.balance,
                "amount": item.amount,
                "transfer_id": item.id,
                "receiver": item.recipient.name,
            },
        )
        told = [
            (item.sender, "sender", item.recipient, after_dst),
            (item.recipient, "receiver", item.sender, after_src),
        ]
        await enqueue(
            session,
            [
                Outgoing(
                    key=f"transfer-reversed:{row.id}:{side}",
                    chat_id=who.telegram_id,
                    kind=Kind.TRANSFER_REVERSED,
                    payload={
                        "side": side,
                        "amount": item.amount,
                        "other": other.name,
                        "reason": why,
                        "balance": balance.balance,
                        "available": balance.available,
                    },
                )
                for who, side, other, balance in told
            ],
            now,
        )
        return Reversed(row.id, item, why, after_dst, after_src)

    return await db.run(_reverse)
