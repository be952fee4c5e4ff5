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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    CursorResult,
    Row,
    Select,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db import Reads
from bot.services import grants
from models import (
    AccountKind,
    CreditGrant,
    EntryKind,
    Hold,
    HoldStatus,
    LedgerAccount,
    Reseller,
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


class HoldNotPending(LedgerError):
    def __init__(self, hold_id: int, status: str) -> None:
        super().__init__(f"hold {hold_id} is {status}, not pending")
        self.status = status


class InvalidEntry(LedgerError):
    """The request itself is malformed (amount, comment, key, accounts)."""


@dataclass(frozen=True)
class Movement:
    transfer_id: int
    amount: int
    replayed: bool


@dataclass(frozen=True)
class HoldPlaced:
    hold_id: int
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


@dataclass(frozen=True)
class ExpiringCredit:
    expires_at: dt.datetime
    amount: int


@dataclass(frozen=True)
class ExpiredGrant:
    grant_id: int
    account_id: int
    amount: int


@dataclass(frozen=True)
class HistoryEntry:
    transfer_id: int
    created_at: dt.datetime
    kind: str
    tx_type: str
    amount: int  # signed: positive in, negative out
    comment: str | None
    # The other reseller's name, for a movement between two resellers (a transfer).
    other: str | None = None


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class AuditReport:
    accounts: int
    transfers: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


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


def _validate(amount: int, comment: str | None, key: str) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidEntry("the amount must be a positive number of hundredths")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidEntry(f"the comment is longer than {MAX_COMMENT} characters")
    if not key or len(key) > MAX_KEY:
        raise InvalidEntry(f"the idempotency key must be 1 to {MAX_KEY} characters")


def rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


async def _insufficient(session: AsyncSession, account_id: int, requested: int) -> None:
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
        await _insufficient(session, account_id, amount)


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
    _validate(amount, comment, key)
    if src == dst:
        raise InvalidEntry("cannot move credits from an account to itself")
    if keep_expiry:
        if from_held:
            raise InvalidEntry("credits that keep their expiry are not taken from a hold")
        await _require_reseller_account(session, src)
        await _require_reseller_account(session, dst)
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


async def _require_reseller_account(session: AsyncSession, account_id: int) -> None:
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
    await _require_reseller_account(session, account_id)
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
    await _require_reseller_account(session, account_id)
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


async def spend(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    kind: EntryKind,
    actor: str,
    key: str,
    comment: str | None = None,
    related: str | None = None,
) -> Movement:
    """Charge a reseller for a sale (activation, renewal) with no outside call to wait on."""
    await _require_reseller_account(session, account_id)
    return await move(
        session,
        src=account_id,
        dst=await system_account_id(session, SystemAccount.SALES),
        amount=amount,
        kind=kind,
        tx_type=TxType.PURCHASE,
        actor=actor,
        key=key,
        comment=comment,
        related=related,
    )


async def refund(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    actor: str,
    key: str,
    comment: str | None = None,
    related: str | None = None,
) -> Movement:
    await _require_reseller_account(session, account_id)
    return await move(
        session,
        src=await system_account_id(session, SystemAccount.SALES),
        dst=account_id,
        amount=amount,
        kind=EntryKind.REFUND,
        tx_type=TxType.ADJUSTMENT,
        actor=actor,
        key=key,
        comment=comment,
        related=related,
    )


async def transfer_between(
    session: AsyncSession,
    *,
    from_account_id: int,
    to_account_id: int,
    amount: int,
    actor: str,
    key: str,
    comment: str | None = None,
) -> Movement:
    """Move credits from one reseller to another: what the sender has above zero and
    unheld, keeping their expiry (``move(keep_expiry=True)``)."""
    return await move(
        session,
        src=from_account_id,
        dst=to_account_id,
        amount=amount,
        kind=EntryKind.TRANSFER,
        tx_type=TxType.PURCHASE,
        actor=actor,
        key=key,
        comment=comment,
        keep_expiry=True,
    )


async def record_cash_received(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    actor: str,
    key: str,
    comment: str | None = None,
) -> Movement:
    """Cash collected from a postpaid reseller: reduces what it owes."""
    await _require_reseller_account(session, account_id)
    return await move(
        session,
        src=await system_account_id(session, SystemAccount.CASH),
        dst=account_id,
        amount=amount,
        kind=EntryKind.CASH_RECEIVED,
        tx_type=TxType.PURCHASE,
        actor=actor,
        key=key,
        comment=comment,
    )


# --- holds --------------------------------------------------------------------------


async def place_hold(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    kind: EntryKind,
    actor: str,
    key: str,
    comment: str | None = None,
    related: str | None = None,
) -> HoldPlaced:
    """Reserve credit for a sale whose outside step (provisioning) has not happened yet."""
    _validate(amount, comment, key)
    await _require_reseller_account(session, account_id)
    sales = await system_account_id(session, SystemAccount.SALES)
    found = (
        await session.execute(select(Hold).where(Hold.idempotency_key == key))
    ).scalar_one_or_none()
    if found is not None:
        if (found.account_id, found.amount, found.kind) != (account_id, amount, kind):
            raise IdempotencyConflict(f"key {key!r} was already used for another hold")
        return HoldPlaced(hold_id=found.id, amount=found.amount, replayed=True)
    account = LedgerAccount
    reserved = await session.execute(
        update(account)
        .where(
            account.id == account_id,
            account.balance - account.held - amount >= -account.credit_limit,
        )
        .values(held=account.held + amount)
    )
    if rowcount(reserved) != 1:
        await _insufficient(session, account_id, amount)
    hold = Hold(
        account_id=account_id,
        to_account_id=sales,
        amount=amount,
        kind=kind,
        tx_type=TxType.PURCHASE,
        comment=comment,
        actor=actor,
        related=related,
        idempotency_key=key,
    )
    session.add(hold)
    await session.flush()
    await grants.settle(session, account_id)  # reserve it from the soonest-expiring grants
    return HoldPlaced(hold_id=hold.id, amount=amount, replayed=False)


async def _claim_hold(
    session: AsyncSession, hold_id: int, new_status: HoldStatus, now: dt.datetime
) -> Hold:
    """Move a hold out of pending exactly once; return it as it was before."""
    hold = (
        await session.execute(
            select(Hold).where(Hold.id == hold_id).execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if hold is None:
        raise InvalidEntry(f"no hold {hold_id}")
    claimed = await session.execute(
        update(Hold)
        .where(Hold.id == hold_id, Hold.status == HoldStatus.PENDING)
        .values(status=new_status, resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1:
        status = await session.scalar(select(Hold.status).where(Hold.id == hold_id))
        raise HoldNotPending(hold_id, str(status))
    return hold


async def post_hold(session: AsyncSession, hold_id: int, *, now: dt.datetime) -> Movement:
    """Turn a pending hold into a transfer. Posting a posted hold returns its transfer."""
    posted = (
        await session.execute(
            select(Hold.status, Hold.transfer_id, Hold.amount).where(Hold.id == hold_id)
        )
    ).one_or_none()
    if posted is not None and posted.status == HoldStatus.POSTED and posted.transfer_id:
        return Movement(transfer_id=posted.transfer_id, amount=posted.amount, replayed=True)
    hold = await _claim_hold(session, hold_id, HoldStatus.POSTED, now)
    movement = await move(
        session,
        src=hold.account_id,
        dst=hold.to_account_id,
        amount=hold.amount,
        kind=EntryKind(hold.kind),
        tx_type=TxType(hold.tx_type),
        actor=hold.actor,
        key=f"hold:{hold.id}:post",
        comment=hold.comment,
        related=hold.related,
        from_held=True,
    )
    await session.execute(
        update(Hold)
        .where(Hold.id == hold_id)
        .values(transfer_id=movement.transfer_id)
        .execution_options(synchronize_session=False)
    )
    return movement


async def void_hold(session: AsyncSession, hold_id: int, *, now: dt.datetime) -> bool:
    """Release a pending hold. Returns False if it was already voided.

    What it reserved goes back to its grants; what it reserved from a grant that expired
    meanwhile expires now, as it would have if the hold had never been placed.
    """
    status = await session.scalar(select(Hold.status).where(Hold.id == hold_id))
    if status == HoldStatus.VOIDED:
        return False
    hold = await _claim_hold(session, hold_id, HoldStatus.VOIDED, now)
    await session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == hold.account_id)
        .values(held=LedgerAccount.held - hold.amount)
    )
    returned = await grants.return_reservations(session, hold_id)
    expired = sum(returned.to_expired.values())
    if expired:
        await move(
            session,
            src=hold.account_id,
            dst=await system_account_id(session, SystemAccount.EXPIRED),
            amount=expired,
            kind=EntryKind.EXPIRY,
            tx_type=TxType.ADJUSTMENT,
            actor="system",
            key=f"hold:{hold_id}:void:expiry",
            comment="Expired credits",
            related=f"hold:{hold_id}",
        )
    else:
        await grants.settle(session, hold.account_id)
    return True


# --- grants and their expiry --------------------------------------------------------


async def due_grant_ids(session: AsyncSession, *, now: dt.datetime, limit: int = 500) -> list[int]:
    rows = await session.scalars(
        select(CreditGrant.id)
        .where(CreditGrant.expired_at.is_(None), CreditGrant.expires_at <= now)
        .order_by(CreditGrant.expires_at, CreditGrant.id)
        .limit(limit)
    )
    return list(rows)


async def expire_grant(
    session: AsyncSession, grant_id: int, *, now: dt.datetime
) -> ExpiredGrant | None:
    """Remove what is left of an expired grant, once. None if there was nothing to do.

    Only its free remainder goes: what a pending hold reserves from it stays reserved,
    and expires when that hold is voided (a posted hold has spent it).
    """
    account_id = await session.scalar(
        select(CreditGrant.account_id).where(
            CreditGrant.id == grant_id,
            CreditGrant.expired_at.is_(None),
            CreditGrant.expires_at <= now,
        )
    )
    if account_id is None:
        return None
    # Lock the account first, as every debit does, so the grant's remainder is stable.
    await session.execute(
        select(LedgerAccount.id).where(LedgerAccount.id == account_id).with_for_update()
    )
    remaining = await session.scalar(
        select(CreditGrant.remaining).where(CreditGrant.id == grant_id)
    )
    claimed = await session.execute(
        update(CreditGrant)
        .where(CreditGrant.id == grant_id, CreditGrant.expired_at.is_(None))
        .values(expired_at=now, remaining=0)
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1 or remaining is None:
        return None
    if remaining > 0:
        await move(
            session,
            src=account_id,
            dst=await system_account_id(session, SystemAccount.EXPIRED),
            amount=remaining,
            kind=EntryKind.EXPIRY,
            tx_type=TxType.ADJUSTMENT,
            actor="system",
            key=f"grant:{grant_id}:expiry",
            comment="Expired credits",
            related=f"grant:{grant_id}",
        )
    return ExpiredGrant(grant_id=grant_id, account_id=account_id, amount=remaining)


def _balance_and_expiring() -> Select[Any]:
    account = LedgerAccount
    return (
        select(account.balance, account.held, account.credit_limit)
        .add_columns(CreditGrant.expires_at, CreditGrant.remaining)
        .outerjoin(
            CreditGrant,
            and_(  # grants with credit left that expire within the window
                CreditGrant.account_id == account.id,
                CreditGrant.expired_at.is_(None),
                CreditGrant.remaining > 0,
                CreditGrant.expires_at > bindparam("now"),
                CreditGrant.expires_at <= bindparam("until"),
            ),
        )
        .where(account.id == bindparam("account_id"))
        .order_by(CreditGrant.expires_at)
    )


# Built once: /balance runs it on every ask, and building costs more than running it.
_BALANCE_AND_EXPIRING = _balance_and_expiring()


async def balance_and_expiring(
    session: Reads, account_id: int, *, now: dt.datetime, within: dt.timedelta
) -> tuple[Balance, list[ExpiringCredit]]:
    """The balance and the credits expiring soonest first, in one statement: the
    account's row once per expiring grant (once, with no grant, when none expires)."""
    values = {"account_id": account_id, "now": now, "until": now + within}
    rows = (await session.execute(_BALANCE_AND_EXPIRING, values)).all()
    if not rows:
        raise InvalidEntry(f"no account {account_id}")
    first = rows[0]
    found = Balance(first.balance, first.held, first.credit_limit or 0)
    expiring = [ExpiringCredit(r.expires_at, r.remaining) for r in rows if r.expires_at]
    return found, expiring


# --- reading --------------------------------------------------------------------------


async def history(
    session: Reads, account_id: int, *, page: int, page_size: int = 10
) -> HistoryPage:
    """Movements of one account, newest first. ``page`` counts from 0 and is clamped."""
    page = max(page, 0)
    rows = await _history_rows(session, account_id, page, page_size)
    if not rows and page > 0:  # past the last page (an old button): show the last one
        involving = or_(
            Transfer.from_account_id == account_id, Transfer.to_account_id == account_id
        )
        total = await session.scalar(select(func.count()).select_from(Transfer).where(involving))
        page = max(0, -(-(total or 0) // page_size) - 1)
        rows = await _history_rows(session, account_id, page, page_size)
    total = rows[0].total if rows else 0
    entries = [
        HistoryEntry(
            transfer_id=r.id,
            created_at=r.created_at,
            kind=r.kind,
            tx_type=r.tx_type,
            amount=r.amount if r.to_account_id == account_id else -r.amount,
            comment=r.comment,
            other=r.other,
        )
        for r in rows
    ]
    return HistoryPage(
        entries=entries, page=page, pages=max(1, -(-total // page_size)), total=total
    )


def _history_rows_query() -> Select[Any]:
    """One page of an account's movements, each with the other reseller's name (for a
    transfer between resellers) and the count of all the account's movements."""
    t = Transfer
    account: BindParameter[int] = bindparam("account_id")
    other_account = aliased(LedgerAccount)
    other_id = case((t.to_account_id == account, t.from_account_id), else_=t.to_account_id)
    return (
        select(t.id, t.created_at, t.kind, t.tx_type, t.amount, t.comment, t.to_account_id)
        .add_columns(Reseller.name.label("other"), func.count().over().label("total"))
        .outerjoin(other_account, other_account.id == other_id)
        .outerjoin(Reseller, Reseller.id == other_account.reseller_id)
        .where(or_(t.from_account_id == account, t.to_account_id == account))
        .order_by(t.id.desc())
        .offset(bindparam("skip"))
        .limit(bindparam("size"))
    )


_HISTORY_ROWS = _history_rows_query()  # built once, as _BALANCE_AND_EXPIRING


async def _history_rows(
    session: Reads, account_id: int, page: int, page_size: int
) -> Sequence[Row[Any]]:
    values = {"account_id": account_id, "skip": page * page_size, "size": page_size}
    return cast("Sequence[Row[Any]]", (await session.execute(_HISTORY_ROWS, values)).all())


async def audit(session: AsyncSession) -> AuditReport:
    """Recompute every balance and reservation from the entries and compare."""
    incoming = (
        select(Transfer.to_account_id.label("account_id"), func.sum(Transfer.amount).label("s"))
        .group_by(Transfer.to_account_id)
        .subquery()
    )
    outgoing = (
        select(Transfer.from_account_id.label("account_id"), func.sum(Transfer.amount).label("s"))
        .group_by(Transfer.from_account_id)
        .subquery()
    )
    pending = (
        select(Hold.account_id.label("account_id"), func.sum(Hold.amount).label("s"))
        .where(Hold.status == HoldStatus.PENDING)
        .group_by(Hold.account_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                LedgerAccount.id,
                LedgerAccount.code,
                LedgerAccount.reseller_id,
                LedgerAccount.balance,
                LedgerAccount.held,
                LedgerAccount.credit_limit,
                func.coalesce(incoming.c.s, 0) - func.coalesce(outgoing.c.s, 0),
                func.coalesce(pending.c.s, 0),
            )
            .outerjoin(incoming, incoming.c.account_id == LedgerAccount.id)
            .outerjoin(outgoing, outgoing.c.account_id == LedgerAccount.id)
            .outerjoin(pending, pending.c.account_id == LedgerAccount.id)
            .order_by(LedgerAccount.id)
        )
    ).all()
    problems: list[str] = []
    total = 0
    for account_id, code, reseller_id, stored, held, limit, computed, reserved in rows:
        name = f"account {account_id} ({code or f'reseller {reseller_id}'})"
        total += stored
        if stored != computed:
            problems.append(f"{name}: balance {stored} but its entries sum to {computed}")
        if held != reserved:
            problems.append(f"{name}: held {held} but its pending holds sum to {reserved}")
        if limit is not None and stored - held < -limit:
            problems.append(f"{name}: available {stored - held} is below its limit -{limit}")
    if total != 0:
        problems.append(f"balances sum to {total}, not 0")
    unposted = await session.scalar(
        select(func.count())
        .select_from(Hold)
        .where(Hold.status == HoldStatus.POSTED, Hold.transfer_id.is_(None))
    )
    if unposted:
        problems.append(f"{unposted} posted holds have no transfer")
    problems.extend(await grants.problems(session))
    transfers = await session.scalar(select(func.count()).select_from(Transfer)) or 0
    return AuditReport(accounts=len(rows), transfers=transfers, problems=problems)
