"""The admin's view of resellers: the list (search and filters), the card's figures, edits
of type, collection limit, threshold and name, and who may be registered.

Plain values in, frozen views out; refusals are ``ActionError`` with a code and params.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log, ledger
from bot.services.admin_log import ActionError
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue
from bot.services.resellers import (
    MAX_NAME,
    ResellerError,
    ResellerRow,
    ResellerView,
    require_by_telegram_id,
)
from bot.services.roles import MAX_TELEGRAM_ID
from models import (
    AdminAction,
    Billing,
    ChatLanguage,
    Customer,
    LedgerAccount,
    OrderStatus,
    Reseller,
    ResellerStatus,
    SubscriptionOrder,
    Transfer,
)


class ListFilter(StrEnum):
    ALL = "all"
    PREPAID = "pre"
    POSTPAID = "post"
    SUSPENDED = "sus"
    BELOW_THRESHOLD = "low"
    OWING = "owe"


class Field(StrEnum):
    """What an admin may edit on a reseller's card."""

    BILLING = "type"
    LIMIT = "limit"
    THRESHOLD = "thr"
    NAME = "name"


@dataclass(frozen=True)
class ResellerCard:
    reseller: ResellerView
    balance: ledger.Balance
    suspension_reason: str | None
    last_activity: dt.datetime | None
    customers: int
    sales_this_month: int  # completed activations and renewals since the month began
    sold_this_month: int  # what they cost, in hundredths
    parent_name: str | None = None  # a sub-reseller's parent
    sub_resellers: int = 0  # its own sub-resellers
    downline_depth: int = 0  # how many levels of sub-resellers it may have

    @property
    def owed(self) -> int:
        return max(0, -self.balance.balance)


@dataclass(frozen=True)
class Candidate:
    """Someone an admin may register: their id and what Telegram told us of them."""

    telegram_id: int
    name: str
    username: str | None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching(query: str) -> ColumnElement[bool]:
    query = query.strip()
    conditions: list[ColumnElement[bool]] = []
    if query.startswith("@"):
        return func.lower(Reseller.username) == query[1:].lower()
    # isdecimal(), not isdigit(): int() reads no "²"; a longer id is nobody's (BIGINT).
    if query.isdecimal() and int(query) <= MAX_TELEGRAM_ID:
        conditions.append(Reseller.telegram_id == int(query))
    conditions.append(func.lower(Reseller.name).like(_like(query), escape="\\"))
    conditions.append(func.lower(Reseller.username).like(_like(query), escape="\\"))
    return or_(*conditions)


def _filtered(flt: ListFilter) -> ColumnElement[bool] | None:
    available = LedgerAccount.balance - LedgerAccount.held
    return {
        ListFilter.ALL: None,
        ListFilter.PREPAID: Reseller.billing == Billing.PREPAID,
        ListFilter.POSTPAID: Reseller.billing == Billing.POSTPAID,
        ListFilter.SUSPENDED: Reseller.status == ResellerStatus.SUSPENDED,
        ListFilter.BELOW_THRESHOLD: available < Reseller.low_balance_threshold,
        ListFilter.OWING: and_(Reseller.billing == Billing.POSTPAID, LedgerAccount.balance < 0),
    }[flt]


async def search(
    db: Database, *, query: str | None = None, flt: ListFilter = ListFilter.ALL
) -> list[ResellerRow]:
    """Resellers by name, @username or Telegram id, narrowed by ``flt``, by name."""
    statement = select(Reseller, LedgerAccount).join(
        LedgerAccount, LedgerAccount.reseller_id == Reseller.id
    )
    if query and query.strip():
        statement = statement.where(_matching(query))
    condition = _filtered(flt)
    if condition is not None:
        statement = statement.where(condition)
    async with db.transaction() as session:
        rows = (await session.execute(statement.order_by(Reseller.name, Reseller.id))).all()
        return [
            ResellerRow(
                ResellerView(
                    id=reseller.id,
                    telegram_id=reseller.telegram_id,
                    name=reseller.name,
                    username=reseller.username,
                    billing=Billing(reseller.billing),
                    status=ResellerStatus(reseller.status),
                    low_balance_threshold=reseller.low_balance_threshold,
                    account_id=account.id,
                    credit_limit=account.credit_limit or 0,
                ),
                ledger.Balance(account.balance, account.held, account.credit_limit or 0),
            )
            for reseller, account in rows
        ]


def month_start(now: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The first moment of ``now``'s month in ``zone``, as UTC."""
    local = now.astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(dt.UTC)


async def card(
    db: Database, telegram_id: int, *, now: dt.datetime, zone: dt.tzinfo
) -> ResellerCard:
    """Everything the admin's card shows about one reseller."""
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        account = reseller.account_id
        reason = None
        if reseller.status == ResellerStatus.SUSPENDED:
            reason = await session.scalar(
                select(AdminAction.reason)
                .where(
                    AdminAction.reseller_id == reseller.id,
                    AdminAction.action == "reseller_suspended",
                )
                .order_by(AdminAction.id.desc())
                .limit(1)
            )
        moved = await session.scalar(
            select(func.max(Transfer.created_at)).where(
                or_(Transfer.from_account_id == account, Transfer.to_account_id == account)
            )
        )
        sold = await session.scalar(
            select(func.max(SubscriptionOrder.created_at)).where(
                SubscriptionOrder.reseller_id == reseller.id
            )
        )
        customers = await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.reseller_id == reseller.id)
        )
        month = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(SubscriptionOrder.price), 0)).where(
                    SubscriptionOrder.reseller_id == reseller.id,
                    SubscriptionOrder.status == OrderStatus.COMPLETED,
                    SubscriptionOrder.created_at >= month_start(now, zone),
                )
            )
        ).one()
        tree = (
            await session.execute(
                select(Reseller.downline_depth, Reseller.parent_id).where(
                    Reseller.id == reseller.id
                )
            )
        ).one()
        below = await session.scalar(
            select(func.count()).select_from(Reseller).where(Reseller.parent_id == reseller.id)
        )
        above = tree.parent_id and await session.scalar(
            select(Reseller.name).where(Reseller.id == tree.parent_id)
        )
        return ResellerCard(
            reseller=reseller,
            parent_name=above or None,
            sub_resellers=below or 0,
            downline_depth=tree.downline_depth,
            balance=await ledger.balance(session, account),
            suspension_reason=reason,
            last_activity=max((m for m in (moved, sold) if m is not None), default=None),
            customers=customers or 0,
            sales_this_month=int(month[0]),
            sold_this_month=int(month[1]),
        )


# --- edits -----------------------------------------------------------------------------


def check_name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > MAX_NAME:
        raise ActionError(
            "bad_name", f"a name is 1 to {MAX_NAME} characters", length=len(name), limit=MAX_NAME
        )
    return name


async def _notify(
    session: AsyncSession, reseller_id: int, chat_id: int, kind: Kind, payload: dict[str, Any],
    now: dt.datetime,
) -> None:  # fmt: skip
    count = await session.scalar(
        select(func.count()).select_from(AdminAction).where(AdminAction.reseller_id == reseller_id)
    )
    notice = Outgoing(f"{kind}:{reseller_id}:{count}", chat_id, kind, payload)
    await enqueue(session, [notice], now)


async def edit(
    db: Database,
    *,
    telegram_id: int,
    field: Field,
    value: str | int,
    actor: str,
    now: dt.datetime,
) -> ResellerView:
    """Change one of the reseller's settings, once: logged with before and after, the
    reseller told. ``value`` is a ``Billing`` for the type, hundredths for the limit and
    the threshold, text for the name."""

    async def _edit(session: AsyncSession) -> ResellerView:
        row = (
            await session.execute(
                select(Reseller, LedgerAccount)
                .join(LedgerAccount, LedgerAccount.reseller_id == Reseller.id)
                .where(Reseller.telegram_id == telegram_id)
                .with_for_update(key_share=True)
            )
        ).one_or_none()
        if row is None:
            raise ResellerError(f"no reseller with Telegram id {telegram_id}")
        reseller, account = row
        before, after = _apply(reseller, account, field, value)
        if before == after:
            raise ActionError("unchanged", "nothing changed", field=field)
        await session.flush()
        await admin_log.record(
            session,
            actor=actor,
            action=f"reseller_{'type' if field == Field.BILLING else field}",
            now=now,
            reseller_id=reseller.id,
            before=before,
            after=after,
        )
        payload = {"field": str(field), "value": after[str(field)]}
        await _notify(
            session, reseller.id, reseller.telegram_id, Kind.RESELLER_CHANGED, payload, now
        )
        return await require_by_telegram_id(session, telegram_id)

    return await db.run(_edit)


def _apply(
    reseller: Reseller, account: LedgerAccount, field: Field, value: str | int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check ``value`` and set it; (before, after) as the log keeps them."""
    key = str(field)
    if field == Field.NAME:
        name = check_name(str(value))
        before, reseller.name = reseller.name, name
        return {key: before}, {key: name}
    used = max(0, account.held - account.balance)  # how far below zero it is now
    if field == Field.BILLING:
        billing = Billing(str(value))
        if billing == Billing.PREPAID and used > 0:
            raise ActionError("still_owes", "they owe credits", owed=used)
        if billing == Billing.POSTPAID and reseller.parent_id is not None:
            # Its parent carries the risk of a sub-reseller: credit comes from the parent.
            raise ActionError("sub_reseller_prepaid", "a sub-reseller is always prepaid")
        before_billing = reseller.billing
        reseller.billing = billing
        if billing == Billing.PREPAID:
            account.credit_limit = 0
        return {key: before_billing}, {key: str(billing)}
    amount = int(value)
    if amount < 0:
        raise ActionError("negative", "it cannot be negative")
    if field == Field.LIMIT:
        if reseller.billing != Billing.POSTPAID:
            raise ActionError("prepaid_no_limit", "a prepaid reseller has no collection limit")
        if amount < used:
            raise ActionError("limit_below_owed", "they already use more", owed=used)
        before_limit = account.credit_limit or 0
        account.credit_limit = amount
        return {key: before_limit}, {key: amount}
    before_threshold = reseller.low_balance_threshold
    reseller.low_balance_threshold = amount
    return {key: before_threshold}, {key: amount}


# --- registering ---------------------------------------------------------------------


async def candidate(db: Database, telegram_id: int) -> Candidate | None:
    """Someone who has started the bot (so the bot may write to them), or None."""
    async with db.transaction() as session:
        known = await session.get(ChatLanguage, telegram_id)
    return None if known is None else Candidate(telegram_id, "", None)


async def by_username(db: Database, username: str) -> ResellerView | None:
    """The reseller with this @username, if any (the only usernames the bot keeps)."""
    async with db.transaction() as session:
        found = await session.scalar(
            select(Reseller.telegram_id).where(
                func.lower(Reseller.username) == username.removeprefix("@").lower()
            )
        )
        return None if found is None else await require_by_telegram_id(session, found)
