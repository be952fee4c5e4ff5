"""Credits sent by one reseller to another.

The sender names an active reseller (by @username or Telegram id, not itself), an
amount and an optional note; the confirmation screen (``preview``) and the movement
(``send``) run the same checks: the sender is active and allowed to transfer, the amount
is within what it may transfer (``transfer_rules.transferable``) and within what its
daily limit leaves today, in the bot's time zone.

``send`` is one transaction: the ledger's ``TRANSFER`` movement, the ``CreditTransfer``
row beside it, and the receiver's notice in the outbox. The credits keep their expiry:
they come out of the sender's free grants, soonest-expiring first (never what a pending
sale holds, never a postpaid sender's collection limit: only credit above zero, which
grants back), and the receiver gets one grant per expiry they had, expiring when the
sender's would have (``ledger.move(keep_expiry=True)``), so passing credits to another
reseller and back never saves them from expiring; the receiver's notice says which expire
when. It is keyed by the nonce of the confirmation screen: a second tap moves nothing and
returns the first result. Only an admin can undo a transfer (``transfer_admin``).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import grants, ledger
from bot.services import transfer_rules as rules
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue
from bot.services.transfer_rules import Allowance, Party, Preview, Sent, TransferError
from models import CreditTransfer, EntryKind, Reseller, Transfer, TransferKind, TxType

KEY_PREFIX = "xfer:"


def key_of(sender_telegram_id: int, nonce: str) -> str:
    """The movement's idempotency key: the sender and the nonce of the screen it saw."""
    return f"{KEY_PREFIX}{sender_telegram_id}:{nonce}"


async def allowance(
    db: Database, sender_telegram_id: int, *, now: dt.datetime, zone: ZoneInfo
) -> Allowance:
    """What the sender may send now, if it may transfer at all (else refused)."""
    async with db.transaction() as session:
        sender = await rules.check_sender(
            session, await _sender(session, sender_telegram_id, lock=False)
        )
        balance = await ledger.balance(session, await rules.account_of(session, sender.id))
        left = await rules.left_today(session, sender, now=now, zone=zone)
        return Allowance(rules.transferable(balance), left)


async def find_recipient(db: Database, sender_telegram_id: int, text: str) -> Party:
    """The reseller ``text`` names, if the sender may transfer to it now."""
    async with db.transaction() as session:
        sender = await rules.check_sender(
            session, await _sender(session, sender_telegram_id, lock=False)
        )
        recipient = rules.check_recipient(sender, await rules.find_recipient(session, text))
        return rules.party(recipient)


async def _sender(session: AsyncSession, telegram_id: int, *, lock: bool) -> Reseller | None:
    if lock:
        return await rules.lock_reseller(session, telegram_id)
    return await session.scalar(select(Reseller).where(Reseller.telegram_id == telegram_id))


async def _checked(
    session: AsyncSession,
    *,
    sender_telegram_id: int,
    recipient: str | int,
    amount: int,
    note: str | None,
    now: dt.datetime,
    zone: ZoneInfo,
    lock: bool,
) -> tuple[Reseller, Reseller, ledger.Balance, int | None]:
    """Every check of a transfer, in the order the screens ask: who, how much, the note."""
    sender = await rules.check_sender(
        session, await _sender(session, sender_telegram_id, lock=lock)
    )
    target = rules.check_recipient(sender, await rules.find_recipient(session, recipient))
    rules.check_amount(amount)
    balance = await ledger.balance(session, await rules.account_of(session, sender.id))
    if amount > rules.transferable(balance):
        raise rules.short_of("insufficient", balance, amount)
    left = await rules.left_today(session, sender, now=now, zone=zone)
    rules.check_daily(sender, amount, left)
    rules.check_note(note)
    return sender, target, balance, left


async def preview(
    db: Database,
    *,
    sender_telegram_id: int,
    recipient: str | int,
    amount: int,
    note: str | None,
    now: dt.datetime,
    zone: ZoneInfo,
) -> Preview:
    """The confirmation screen's figures, after the same checks ``send`` makes."""
    async with db.transaction() as session:
        sender, target, balance, left = await _checked(
            session,
            sender_telegram_id=sender_telegram_id,
            recipient=recipient,
            amount=amount,
            note=note,
            now=now,
            zone=zone,
            lock=False,
        )
        available = rules.transferable(balance)
        return Preview(
            sender=rules.party(sender),
            recipient=rules.party(target),
            amount=amount,
            note=rules.check_note(note),
            available_before=available,
            available_after=available - amount,
            left_today=left,
        )


async def send(
    db: Database,
    *,
    sender_telegram_id: int,
    recipient: str | int,
    amount: int,
    note: str | None,
    key: str,
    now: dt.datetime,
    zone: ZoneInfo,
) -> Sent:
    """Send ``amount`` to ``recipient`` once per ``key`` (see the module's docstring)."""

    async def _send(session: AsyncSession) -> Sent:
        first = await _replayed(session, key)
        if first is not None:
            return first
        sender, target, _, _ = await _checked(
            session,
            sender_telegram_id=sender_telegram_id,
            recipient=recipient,
            amount=amount,
            note=note,
            now=now,
            zone=zone,
            lock=True,
        )
        comment = rules.check_note(note)
        src = await rules.account_of(session, sender.id)
        dst = await rules.account_of(session, target.id)
        await ledger.lock_accounts(session, src, dst)
        await rules.check_covers(session, src, amount, "insufficient")
        movement = await ledger.move(
            session,
            src=src,
            dst=dst,
            amount=amount,
            kind=EntryKind.TRANSFER,
            tx_type=TxType.PURCHASE,
            actor=f"tg:{sender.telegram_id}",
            key=key,
            comment=comment,
            keep_expiry=True,
        )
        row = CreditTransfer(
            kind=TransferKind.TRANSFER,
            from_reseller_id=sender.id,
            to_reseller_id=target.id,
            amount=amount,
            tx_type=TxType.PURCHASE,
            comment=comment,
            actor_telegram_id=sender.telegram_id,
            ledger_transfer_id=movement.transfer_id,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        received = await ledger.balance(session, dst)
        expiring = await grants.expiring_parts(session, movement.transfer_id)
        notice = Outgoing(
            key=f"transfer-received:{row.id}",
            chat_id=target.telegram_id,
            kind=Kind.TRANSFER_RECEIVED,
            payload={
                "amount": amount,
                "sender": sender.name,
                "sender_username": sender.username,
                "note": comment,
                "balance": received.balance,
                "available": received.available,
                # [when (ISO), amount] of the credits received that expire, soonest first.
                "expiring": [
                    [p.expires_at.isoformat(), p.amount] for p in expiring if p.expires_at
                ],
            },
        )
        await enqueue(session, [notice], now)
        return Sent(
            transfer_id=row.id,
            sender=rules.party(sender),
            recipient=rules.party(target),
            amount=amount,
            note=comment,
            balance=await ledger.balance(session, src),
            replayed=False,
        )

    return await db.run(_send)


async def _replayed(session: AsyncSession, key: str) -> Sent | None:
    """The transfer first made with ``key``, as ``send`` returned it; None if none was."""
    row = (
        await session.execute(
            select(CreditTransfer)
            .join(Transfer, Transfer.id == CreditTransfer.ledger_transfer_id)
            .where(Transfer.idempotency_key == key)
        )
    ).scalar_one_or_none()
    if row is None:
        if await session.scalar(select(Transfer.id).where(Transfer.idempotency_key == key)):
            raise TransferError("key_reused", "the key was used for another movement")
        return None
    sender = await session.get_one(Reseller, row.from_reseller_id)
    target = await session.get_one(Reseller, row.to_reseller_id)
    return Sent(
        transfer_id=row.id,
        sender=rules.party(sender),
        recipient=rules.party(target),
        amount=row.amount,
        note=row.comment,
        balance=await ledger.balance(session, await rules.account_of(session, sender.id)),
        replayed=True,
    )


async def sent_with(db: Database, key: str) -> Sent | None:
    """The transfer made with ``key`` (a second tap on a Send that did its work), if any."""
    async with db.transaction() as session:
        return await _replayed(session, key)
