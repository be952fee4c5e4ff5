"""What transfers between resellers share: their frozen views, their refusals, and the
checks both the confirmation screen and the movement run.

A reseller may transfer what it has above zero and not held for a pending sale:
``transferable``. A prepaid reseller never goes below zero anyway; a postpaid one may
sell on its collection limit, but may not hand that limit to someone else, so a transfer
never takes its balance below zero either. The same floor applies to the receiver when
an admin reverses a transfer: the receiver must still have the credits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.days import latin_digits
from bot.money import MAX_AMOUNT
from bot.services import admin_log, downline, ledger
from bot.services.admin_log import ActionError
from bot.services.resellers import USERNAME
from models import CreditTransfer, LedgerAccount, Reseller, ResellerStatus, TransferKind

MAX_NOTE = ledger.MAX_COMMENT
MAX_TELEGRAM_ID = 2**63 - 1


class TransferError(ActionError):
    """A transfer (or its reversal, or a transfer setting) was refused; nothing was
    written. ``code`` says why and ``params`` carry the plain values (hundredths)."""


@dataclass(frozen=True)
class Party:
    """One side of a transfer, as the other side and the admins see it."""

    reseller_id: int
    telegram_id: int
    name: str
    username: str | None


@dataclass(frozen=True)
class Allowance:
    """What a sender may send now: its transferable credit and what its daily limit
    leaves today (None: no limit)."""

    available: int
    left_today: int | None

    @property
    def most(self) -> int:
        return self.available if self.left_today is None else min(self.available, self.left_today)


@dataclass(frozen=True)
class Preview:
    """The confirmation screen: who sends what to whom, and the sender's available
    credit before and after."""

    sender: Party
    recipient: Party
    amount: int
    note: str | None
    available_before: int
    available_after: int
    left_today: int | None  # of the sender's daily limit, before this transfer


@dataclass(frozen=True)
class Sent:
    """What a transfer did (``replayed``: what it had done the first time)."""

    transfer_id: int
    sender: Party
    recipient: Party
    amount: int
    note: str | None
    balance: ledger.Balance  # the sender's, after
    replayed: bool

    @property
    def available_after(self) -> int:
        return transferable(self.balance)


@dataclass(frozen=True)
class TransferItem:
    """One transfer or reversal in a reseller's list."""

    id: int
    kind: TransferKind
    sender: Party  # for a reversal: the receiver the credits were taken back from
    recipient: Party
    amount: int
    note: str | None
    created_at: dt.datetime
    reversed_by: int | None  # the reversal's id, for a reversed transfer
    reverses_id: int | None  # for a reversal: the transfer it undid


@dataclass(frozen=True)
class TransferPage:
    reseller: Party
    allowed: bool
    daily_limit: int | None
    items: tuple[TransferItem, ...]
    page: int  # from 0, clamped to the last
    pages: int
    total: int


@dataclass(frozen=True)
class Reversible:
    """A transfer an admin is about to reverse, and what its receiver has available."""

    transfer: TransferItem
    receiver_available: int


@dataclass(frozen=True)
class Reversed:
    """What reversing a transfer did: the credits back with its sender."""

    reversal_id: int
    transfer: TransferItem
    reason: str
    sender_balance: ledger.Balance
    recipient_balance: ledger.Balance


def transferable(balance: ledger.Balance) -> int:
    """What a reseller may transfer (or have taken back): its available credit above
    zero, never its collection limit."""
    return max(0, balance.available)


def check_amount(amount: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise TransferError("bad_amount", "the amount must be positive", amount=amount)
    if amount > MAX_AMOUNT:
        raise TransferError("amount_too_large", "the amount is too large", maximum=MAX_AMOUNT)
    return amount


def check_note(note: str | None) -> str | None:
    return admin_log.check_text(note, MAX_NOTE, "note_too_long", TransferError)


def party(reseller: Reseller) -> Party:
    return Party(reseller.id, reseller.telegram_id, reseller.name, reseller.username)


def day_start(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """When the local day of ``now`` began, in UTC."""
    local = now.astimezone(zone).date()
    return dt.datetime.combine(local, dt.time(), tzinfo=zone).astimezone(dt.UTC)


async def lock_reseller(session: AsyncSession, telegram_id: int) -> Reseller | None:
    """The reseller, its row locked until the transaction ends (one transfer of a sender
    at a time, so two cannot both pass its daily limit)."""
    return (
        await session.execute(
            select(Reseller)
            .where(Reseller.telegram_id == telegram_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def find_recipient(session: AsyncSession, text: str | int) -> Reseller:
    """The reseller named by a Telegram id or an @username (any case)."""
    query = str(text) if isinstance(text, int) else latin_digits(" ".join(text.split()))
    if query.isdecimal():  # isdigit() would let "²" through to int()
        telegram_id = int(query)
        if not 0 < telegram_id <= MAX_TELEGRAM_ID:
            raise TransferError("recipient_unknown", "no such reseller", query=query)
        found = list(
            await session.scalars(select(Reseller).where(Reseller.telegram_id == telegram_id))
        )
    else:
        username = query.removeprefix("@")
        if not USERNAME.fullmatch(username):
            raise TransferError("recipient_unreadable", "send an @username or an id", query=query)
        username = username.lower()
        found = list(
            await session.scalars(
                select(Reseller)
                .where(func.lower(Reseller.username) == username)
                .order_by(Reseller.id)
                .limit(2)
            )
        )
    if not found:
        raise TransferError("recipient_unknown", f"no reseller {query!r}", query=query)
    if len(found) > 1:
        raise TransferError("recipient_ambiguous", "several resellers have it", query=query)
    return found[0]


async def check_sender(session: AsyncSession, sender: Reseller | None) -> Reseller:
    """An active reseller allowed transfers, and so is every reseller above it: a
    suspension stops the whole subtree, and a parent forbidden to transfer cannot pass its
    credits on through a sub-reseller."""
    if sender is None:
        raise TransferError("not_a_reseller", "only resellers can transfer")
    above = await downline.ancestors(session, sender.id)
    rows = [sender, *(await session.scalars(select(Reseller).where(Reseller.id.in_(above))))]
    if any(row.status != ResellerStatus.ACTIVE for row in rows):
        raise TransferError("sender_suspended", "a suspended reseller cannot transfer")
    if not all(row.transfers_allowed for row in rows):
        raise TransferError("transfers_forbidden", "an admin has not allowed transfers")
    return sender


def check_recipient(sender: Reseller, recipient: Reseller) -> Reseller:
    if recipient.id == sender.id:
        raise TransferError("recipient_self", "a reseller cannot transfer to itself")
    if recipient.status != ResellerStatus.ACTIVE:
        raise TransferError(
            "recipient_suspended", f"{recipient.name} is suspended", name=recipient.name
        )
    return recipient


async def sent_today(
    session: AsyncSession, sender_id: int, *, now: dt.datetime, zone: ZoneInfo
) -> int:
    """What the sender transferred since its local day began; reversed transfers aside."""
    reversal = aliased(CreditTransfer)
    total = await session.scalar(
        select(func.coalesce(func.sum(CreditTransfer.amount), 0)).where(
            CreditTransfer.kind == TransferKind.TRANSFER,
            CreditTransfer.from_reseller_id == sender_id,
            CreditTransfer.created_at >= day_start(now, zone),
            ~exists().where(reversal.reverses_id == CreditTransfer.id),
        )
    )
    return int(total or 0)


async def left_today(
    session: AsyncSession, sender: Reseller, *, now: dt.datetime, zone: ZoneInfo
) -> int | None:
    """What the sender's daily limit still lets it send today; None without a limit."""
    if sender.transfer_daily_limit is None:
        return None
    sent = await sent_today(session, sender.id, now=now, zone=zone)
    return max(0, sender.transfer_daily_limit - sent)


def check_daily(sender: Reseller, amount: int, left: int | None) -> None:
    if left is not None and amount > left:
        raise TransferError(
            "daily_limit",
            f"over the daily limit: {left} left today",
            limit=sender.transfer_daily_limit or 0,
            left=left,
            requested=amount,
        )


def short_of(code: str, balance: ledger.Balance, amount: int, **extra: object) -> TransferError:
    available = transferable(balance)
    return TransferError(
        code,
        f"{amount} asked, {available} available",
        available=available,
        requested=amount,
        missing=amount - available,
        **extra,
    )


async def check_covers(
    session: AsyncSession, account_id: int, amount: int, code: str, **extra: object
) -> None:
    """Refuse unless the account has ``amount`` above zero and unheld, in one conditional
    statement that also locks its row until the transaction ends, so the debit that
    follows (``ledger.move``, whose own check stops at the collection limit) finds it
    still there."""
    account = LedgerAccount
    guarded = await session.execute(
        update(account)
        .where(account.id == account_id, account.balance - account.held >= amount)
        .values(balance=account.balance)
        .execution_options(synchronize_session=False)
    )
    if ledger.rowcount(guarded) != 1:
        raise short_of(code, await ledger.balance(session, account_id), amount, **extra)


async def account_of(session: AsyncSession, reseller_id: int) -> int:
    return await ledger.reseller_account_id(session, reseller_id)
