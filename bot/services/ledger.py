"""The credit ledger: the only way a balance changes.

Every function here runs inside the caller's transaction (one ``AsyncSession`` in
``session.begin()``) and raises on any refusal, so the caller's unit of work rolls the
whole transaction back: nothing is half-written.

Rules (see DESIGN.md, Domain):
- a movement is a ``Transfer`` of a positive amount between two accounts; balances are
  updated in the same transaction, so all balances sum to zero;
- debits are one conditional ``UPDATE`` checked by its row count, never read-compute-write;
- every movement carries an idempotency key; repeating a key returns the first result;
- holds reserve credit (``held``) until posted or voided; available = balance - held;
- every credit in is a grant; grants are spent (and held) soonest-expiring first, and an
  expired grant's remainder is removed (see ``bot.services.grants`` for the rule);
- credits moved between resellers (``move(keep_expiry=True)``: transfers, their
  reversals, allocations to and from sub-resellers) keep the expiry of the grants they
  leave (a new one can only shorten it), so moving never lengthens a credit's life; such
  a move takes only free credit above zero, never a collection limit.

Here: the accounts and their balances, ``move`` and what it checks, and issuing or
withdrawing credit (``grant``, ``remove``). Beside it: ``ledger_postings`` (sales charges,
refunds, transfers, cash), ``ledger_holds``, ``ledger_expiry``, ``ledger_reads`` (the
wallet screens) and ``ledger_audit``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import grants
from models import (
    AccountKind,
    CreditGrant,
    EntryKind,
    LedgerAccount,
    SystemAccount,
    Transfer,
    TxType,
)

MAX_COMMENT = 255
MAX_KEY = 128


class LedgerError(Exception):
    """A ledger operation was refused; nothing was written."""


class InsufficientCredit(LedgerError):
    code = "insufficient_credit"

    def __init__(self, available: int, requested: int, credit_limit: int) -> None:
        super().__init__(f"insufficient credit: requested {requested}, available {available}")
        self.available = available
        self.requested = requested
        self.credit_limit = credit_limit

    @property
    def params(self) -> dict[str, int]:
        """Hundredths, for the views to format in the reader's locale."""
        return {"missing": self.missing, "requested": self.requested, "available": self.available}

    @property
    def missing(self) -> int:
        """How much more credit the operation needs."""
        return self.requested - (self.available + self.credit_limit)


class IdempotencyConflict(LedgerError):
    """The key was used before for a different movement."""


class InvalidEntry(LedgerError):
    """The request itself is malformed (amount, comment, key, accounts)."""


@dataclass(frozen=True)
class Movement:
    transfer_id: int
    amount: int
    replayed: bool


@dataclass(frozen=True)
class Balance:
    balance: int
    held: int
    credit_limit: int

    @property
    def available(self) -> int:
        """What may still be spent or held, before the credit limit."""
        return self.balance - self.held

    @property
    def spendable(self) -> int:
        """Available credit including what a postpaid limit allows."""
        return self.available + self.credit_limit


# --- accounts -----------------------------------------------------------------------


async def system_account_id(session: AsyncSession, code: SystemAccount) -> int:
    account_id = await session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code))
    if account_id is None:
        raise LedgerError(f"system account {code} is missing; run `python -m bot db upgrade`")
    return account_id


async def open_reseller_account(session: AsyncSession, reseller_id: int, credit_limit: int) -> int:
    if credit_limit < 0:
        raise InvalidEntry("the credit limit cannot be negative")
    account = LedgerAccount(
        kind=AccountKind.RESELLER, reseller_id=reseller_id, credit_limit=credit_limit
    )
    session.add(account)
    await session.flush()
    return account.id


async def reseller_account_id(session: AsyncSession, reseller_id: int) -> int:
    account_id = await session.scalar(
        select(LedgerAccount.id).where(LedgerAccount.reseller_id == reseller_id)
    )
    if account_id is None:
        raise InvalidEntry(f"reseller {reseller_id} has no ledger account")
    return account_id


async def balance(session: AsyncSession, account_id: int) -> Balance:
    row = (
        await session.execute(
            select(LedgerAccount.balance, LedgerAccount.held, LedgerAccount.credit_limit).where(
                LedgerAccount.id == account_id
            )
        )
    ).one_or_none()
    if row is None:
        raise InvalidEntry(f"no account {account_id}")
    return Balance(balance=row.balance, held=row.held, credit_limit=row.credit_limit or 0)


# --- movements ----------------------------------------------------------------------


def validate(amount: int, comment: str | None, key: str) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidEntry("the amount must be a positive number of hundredths")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidEntry(f"the comment is longer than {MAX_COMMENT} characters")
    if not key or len(key) > MAX_KEY:
        raise InvalidEntry(f"the idempotency key must be 1 to {MAX_KEY} characters")


def rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


async def raise_insufficient(session: AsyncSession, account_id: int, requested: int) -> None:
    current = await balance(session, account_id)
    raise InsufficientCredit(current.available, requested, current.credit_limit)


async def _debit(
    session: AsyncSession, account_id: int, amount: int, *, from_held: bool, above_zero: bool
) -> None:
    """Take ``amount`` off the balance, in one conditional statement.

    ``from_held`` posts a hold: the amount was already reserved, so balance and held
    drop together and the limit check cannot fail. ``above_zero`` takes only unheld
    credit above zero (what free grants back), never the collection limit.
    """
    account = LedgerAccount
    if from_held:
        stmt = (
            update(account)
            .where(account.id == account_id, account.held >= amount)
            .values(balance=account.balance - amount, held=account.held - amount)
        )
    elif above_zero:
        stmt = (
            update(account)
            .where(account.id == account_id, account.balance - account.held - amount >= 0)
            .values(balance=account.balance - amount)
        )
    else:
        stmt = (
            update(account)
            .where(
                account.id == account_id,
                or_(
                    account.credit_limit.is_(None),
                    account.balance - account.held - amount >= -account.credit_limit,
                ),
            )
            .values(balance=account.balance - amount)
        )
    if rowcount(await session.execute(stmt)) != 1:
        await raise_insufficient(session, account_id, amount)


async def _credit(session: AsyncSession, account_id: int, amount: int) -> None:
    stmt = (
        update(LedgerAccount)
        .where(LedgerAccount.id == account_id)
        .values(balance=LedgerAccount.balance + amount)
    )
    if rowcount(await session.execute(stmt)) != 1:
        raise InvalidEntry(f"no account {account_id}")


async def _replay(
    session: AsyncSession,
    key: str,
    asked: tuple[object, ...],
    expires_at: dt.datetime | None,
    *,
    keep_expiry: bool,
) -> Movement | None:
    """The first movement made with ``key``, if it was this same movement; a key reused
    for anything else (accounts, amount, kind, type, comment, expiry) is refused. A
    movement that kept its credits' expiry has no expiry of its own to compare."""
    found = (
        await session.execute(select(Transfer).where(Transfer.idempotency_key == key))
    ).scalar_one_or_none()
    if found is None:
        return None
    first_expiry = None
    if not keep_expiry:
        first_expiry = await session.scalar(
            select(CreditGrant.expires_at)
            .where(CreditGrant.transfer_id == found.id)
            .order_by(CreditGrant.id)
            .limit(1)
        )
    first = (
        found.from_account_id,
        found.to_account_id,
        found.amount,
        found.kind,
        found.tx_type,
        found.comment,
    )
    if first != asked or first_expiry != expires_at:
        raise IdempotencyConflict(f"key {key!r} was already used for another movement")
    return Movement(transfer_id=found.id, amount=found.amount, replayed=True)


async def lock_accounts(session: AsyncSession, *account_ids: int) -> None:
    """Lock accounts in id order, as ``move`` touches them, before a transaction that
    moves credits between more than two of them (a transfer and its checks, a sale and its
    margins), so two such transactions queue instead of deadlocking."""
    await session.execute(
        select(LedgerAccount.id)
        .where(LedgerAccount.id.in_(account_ids))
        .order_by(LedgerAccount.id)
        .with_for_update(key_share=True)
    )


async def move(
    session: AsyncSession,
    *,
    src: int,
    dst: int,
    amount: int,
    kind: EntryKind,
    tx_type: TxType,
    actor: str,
    key: str,
    comment: str | None = None,
    related: str | None = None,
    from_held: bool = False,
    expires_at: dt.datetime | None = None,
    keep_expiry: bool = False,
    first_from: int | None = None,
) -> Movement:
    """Move ``amount`` from ``src`` to ``dst`` once per ``key``.

    Credit into a reseller account becomes a grant (expiring at ``expires_at``, if
    given); afterwards both accounts' grants are settled against their balances.

    ``keep_expiry`` moves credits between two reseller accounts as they are: only
    ``src``'s free credit above zero, taken from its grants as ``grants.take_free`` says
    (those of movement ``first_from`` first), becomes one grant of ``dst``'s per expiry;
    an ``expires_at`` given with it is the latest any of them may expire (``grants.capped``).
    """
    validate(amount, comment, key)
    if src == dst:
        raise InvalidEntry("cannot move credits from an account to itself")
    if keep_expiry:
        if from_held:
            raise InvalidEntry("credits that keep their expiry are not taken from a hold")
        await require_reseller_account(session, src)
        await require_reseller_account(session, dst)
    asked = (src, dst, amount, kind, tx_type, comment)
    first_expiry = None if keep_expiry else expires_at  # kept expiries: none to compare
    replay = await _replay(session, key, asked, first_expiry, keep_expiry=keep_expiry)
    if replay is not None:
        return replay
    # Touch the two rows in id order so opposite movements cannot deadlock.
    for account_id in sorted((src, dst)):
        if account_id == src:
            await _debit(session, src, amount, from_held=from_held, above_zero=keep_expiry)
        else:
            await _credit(session, dst, amount)
    transfer = Transfer(
        from_account_id=src,
        to_account_id=dst,
        amount=amount,
        kind=kind,
        tx_type=tx_type,
        comment=comment,
        actor=actor,
        related=related,
        idempotency_key=key,
    )
    session.add(transfer)
    await session.flush()
    resellers = set(
        await session.scalars(
            select(LedgerAccount.id).where(
                LedgerAccount.id.in_((src, dst)), LedgerAccount.kind == AccountKind.RESELLER
            )
        )
    )
    if keep_expiry:
        parts = await grants.take_free(session, src, amount, first_from=first_from)
        parts = grants.capped(parts, expires_at)
        await grants.record_parts(session, account_id=dst, transfer_id=transfer.id, parts=parts)
    elif dst in resellers:
        await grants.record_credit(
            session,
            account_id=dst,
            transfer_id=transfer.id,
            amount=amount,
            expires_at=expires_at,
        )
    for account_id in sorted(resellers):
        await grants.settle(session, account_id)
    return Movement(transfer_id=transfer.id, amount=amount, replayed=False)


async def require_reseller_account(session: AsyncSession, account_id: int) -> None:
    kind = await session.scalar(select(LedgerAccount.kind).where(LedgerAccount.id == account_id))
    if kind != AccountKind.RESELLER:
        raise InvalidEntry(f"account {account_id} is not a reseller account")


async def grant(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    kind: EntryKind,
    tx_type: TxType,
    actor: str,
    key: str,
    now: dt.datetime,
    comment: str | None = None,
    related: str | None = None,
    expires_at: dt.datetime | None = None,
) -> Movement:
    """Grant new credits to a reseller (a top-up or an added adjustment)."""
    if expires_at is not None and expires_at <= now:
        raise InvalidEntry("the expiry date must be in the future")
    await require_reseller_account(session, account_id)
    return await move(
        session,
        src=await system_account_id(session, SystemAccount.ISSUANCE),
        dst=account_id,
        amount=amount,
        kind=kind,
        tx_type=tx_type,
        actor=actor,
        key=key,
        comment=comment,
        related=related,
        expires_at=expires_at,
    )


async def remove(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    tx_type: TxType,
    actor: str,
    key: str,
    comment: str | None = None,
    related: str | None = None,
) -> Movement:
    """Take credits back from a reseller (a correcting adjustment)."""
    await require_reseller_account(session, account_id)
    return await move(
        session,
        src=account_id,
        dst=await system_account_id(session, SystemAccount.ISSUANCE),
        amount=amount,
        kind=EntryKind.ADJUSTMENT,
        tx_type=tx_type,
        actor=actor,
        key=key,
        comment=comment,
        related=related,
    )
