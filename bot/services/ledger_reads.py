"""What the wallet screens read: the balance with the credits expiring soon, and an
account's movements page by page. Each is one prebuilt statement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BindParameter, Row, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import aliased

from bot.db import Reads
from bot.services.ledger import Balance, InvalidEntry
from models import CreditGrant, LedgerAccount, Reseller, Transfer


@dataclass(frozen=True)
class ExpiringCredit:
    expires_at: dt.datetime
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
