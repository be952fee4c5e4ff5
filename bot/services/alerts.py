"""What the scheduled jobs decide: who must be told what, written into the outbox.

Every decision is kept in the database (alert states, outbox keys, timestamps), so a
restart neither repeats nor loses anything. Each function takes ``now``, so tests run
them at simulated times.

Here: the kinds of notice, the balance and debt alerts, stale top-ups and expired
grants. Customers' expiry (reminders, the resellers' digests) is ``customer_expiry``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import ledger, ledger_expiry
from bot.services.outbox import Outgoing, enqueue, enqueue_checked
from models import (
    Billing,
    LedgerAccount,
    Reseller,
    ResellerAlertState,
    ResellerStatus,
    TopUpRequest,
    TopUpStatus,
)

DEBT_WARNING_SHARE = 0.8


class Kind(StrEnum):
    LOW_BALANCE = "low_balance"
    DEBT_WARNING = "debt_warning"
    DEBT_LIMIT = "debt_limit"
    EXPIRY_REMINDER = "expiry_reminder"
    DIGEST = "digest"
    TOPUP_STALE = "topup_stale"
    TOPUP_EXPIRED = "topup_expired"
    GRANT_EXPIRED = "grant_expired"
    TOPUP_APPROVED = "topup_approved"  # the reseller told an admin approved their top-up
    TOPUP_REJECTED = "topup_rejected"  # ... or rejected it, with the reason if one was given
    RENEWAL_REQUEST = "renewal_request"  # a customer asks their reseller to renew
    CUSTOMER_UNLINKED = "customer_unlinked"  # the reseller revoked or replaced the link
    RESELLER_SUSPENDED = "reseller_suspended"  # an admin suspended the reseller (and why)
    RESELLER_ACTIVATED = "reseller_activated"  # ... or made it active again
    RESELLER_WELCOME = "reseller_welcome"  # an admin registered them: how to start
    RESELLER_CHANGED = "reseller_changed"  # an admin changed their type, limit, threshold, name
    SALE_SETTLED = "sale_settled"  # reconciliation found a sale done on the panel: charged
    SALE_VOIDED = "sale_voided"  # ... or not there: the held credit was released
    PANEL_CHECK = "panel_check"  # the admins: customers and a panel disagree (or it is down)
    CASH_RECEIVED = "cash_received"  # an admin recorded cash from a postpaid reseller
    CREDIT_ADDED = "credit_added"  # an admin added credits (a purchase or an adjustment)
    CREDIT_REMOVED = "credit_removed"  # ... or took credits back
    TRANSFER_RECEIVED = "transfer_received"  # another reseller sent them credits
    TRANSFER_REVERSED = "transfer_reversed"  # an admin reversed a transfer (both sides)
    SUBRESELLER_WELCOME = "subreseller_welcome"  # a parent registered them as its sub-reseller
    CREDIT_ALLOCATED = "credit_allocated"  # their parent gave them credits
    CREDIT_RECLAIMED = "credit_reclaimed"  # ... or took credits back
    STARS_PAID = "stars_paid"  # the admins: a reseller paid a top-up in Stars (for information)
    STARS_REFUNDED = "stars_refunded"  # the reseller: a Stars top-up was refunded, credits removed
    STARS_TELEGRAM_REFUND = "stars_telegram_refund"  # the admins: Telegram reported a refund
    # The admins: a top-up refund left pending was finished by the recovery job.
    STARS_REFUND_FINISHED = "stars_refund_finished"
    STARS_RECONCILE = "stars_reconcile"  # the admins: Stars payments and the ledger disagree
    PAY_SUPPORT = "pay_support"  # the admins: someone asked for help with a payment
    SUMMARY = "summary"  # the admins: a day's or a week's figures (report_schedule.py)
    STATEMENT = "statement"  # a reseller: last month's statement, as a document with its XLSX
    CUSTOMER_CANCELLED = "customer_cancelled"  # the reseller: a customer cancelled, and why
    PLAN_CHANGE_REQUEST = "plan_change_request"  # the reseller: approve or decline a change
    PLAN_CHANGE_DECIDED = "plan_change_decided"  # the customer: approved or declined, and why
    SUBSCRIPTION_RESUMED = "subscription_resumed"  # the customer: a pause ended by itself
    SELF_PAY_RENEWED = "self_pay_renewed"  # the reseller: a customer paid and renewed in Stars
    SELF_PAY_REFUNDED = "self_pay_refunded"  # reseller and admins: such a renewal failed, refunded
    SELF_PAY_REFUND_FAILED = "self_pay_refund_failed"  # the admins: ... and the refund failed
    # The author: their scheduled announcement was not sent, as they may no longer announce.
    ANNOUNCEMENT_REFUSED = "announcement_refused"


@dataclass(frozen=True)
class Settings:
    """The job settings the services need, as plain values."""

    zone: ZoneInfo
    reminder_offsets_days: tuple[int, ...]
    digest_time: dt.time
    topup_remind_after: dt.timedelta
    topup_expire_after: dt.timedelta
    admin_chat_id: int | None


async def alert_state(session: AsyncSession, reseller_id: int) -> ResellerAlertState:
    state = await session.get(ResellerAlertState, reseller_id, with_for_update=True)
    if state is None:
        state = ResellerAlertState(
            reseller_id=reseller_id,
            low_balance=False,
            low_balance_alerts=0,
            debt_warning=False,
            debt_limit=False,
            debt_alerts=0,
        )
        session.add(state)
        await session.flush()
    return state


async def scan_balances(db: Database, now: dt.datetime) -> int:
    """Low-balance and postpaid-debt alerts: one per crossing, re-armed on recovery."""
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(Reseller, LedgerAccount)
                .join(LedgerAccount, LedgerAccount.reseller_id == Reseller.id)
                .where(Reseller.status == ResellerStatus.ACTIVE)
            )
        ).all()
    queued = 0
    for reseller, account in rows:
        async with db.transaction() as session:
            queued += await _scan_one(session, reseller, account.id, now)
    return queued


async def _scan_one(
    session: AsyncSession, reseller: Reseller, account_id: int, now: dt.datetime
) -> int:
    state = await alert_state(session, reseller.id)
    balance = await ledger.balance(session, account_id)
    threshold = reseller.low_balance_threshold
    owed = max(0, -balance.balance)
    payload = {
        "available": balance.available,
        "threshold": threshold,
        "owed": owed,
        "limit": balance.credit_limit,
    }
    low = threshold > 0 and balance.available < threshold
    postpaid = reseller.billing == Billing.POSTPAID and balance.credit_limit > 0
    at_limit = postpaid and balance.spendable <= 0
    warn = postpaid and owed >= DEBT_WARNING_SHARE * balance.credit_limit
    chat_id = reseller.telegram_id
    low_alert = debt_alert = None
    if low and not state.low_balance:
        key = f"low:{reseller.id}:{state.low_balance_alerts + 1}"
        low_alert = Outgoing(key, chat_id, Kind.LOW_BALANCE, payload)
    if at_limit and not state.debt_limit:
        key = f"debt-limit:{reseller.id}:{state.debt_alerts + 1}"
        debt_alert = Outgoing(key, chat_id, Kind.DEBT_LIMIT, payload)
    elif warn and not state.debt_warning:
        key = f"debt-warn:{reseller.id}:{state.debt_alerts + 1}"
        debt_alert = Outgoing(key, chat_id, Kind.DEBT_WARNING, payload)
    queued = await enqueue_checked(session, [m for m in (low_alert, debt_alert) if m], now)
    # A crossing counts as told only once its alert is queued: one that a blocked chat
    # kept out is raised again by the first scan after the chat came back.
    if low_alert is not None and low_alert.key not in queued.skipped:
        state.low_balance = True
        state.low_balance_alerts += 1
    elif not low:
        state.low_balance = False
    if debt_alert is not None and debt_alert.key not in queued.skipped:
        state.debt_alerts += 1
        state.debt_warning = True
        if debt_alert.kind == Kind.DEBT_LIMIT:
            state.debt_limit = True
    if postpaid:
        if not at_limit:
            state.debt_limit = False
        if not warn:
            state.debt_warning = False
    return queued.written


async def stale_topups(db: Database, now: dt.datetime, settings: Settings) -> int:
    """Raise old pending top-ups again in the admin group; expire very old ones."""
    queued = 0
    async with db.transaction() as session:
        expired_rows = (
            await session.execute(
                update(TopUpRequest)
                .where(
                    TopUpRequest.status == TopUpStatus.PENDING,
                    TopUpRequest.created_at <= now - settings.topup_expire_after,
                )
                .values(status=TopUpStatus.EXPIRED, decided_at=now)
                .returning(TopUpRequest.id, TopUpRequest.reseller_id, TopUpRequest.credits)
            )
        ).all()
        owners = dict(
            (
                await session.execute(
                    select(Reseller.id, Reseller.telegram_id).where(
                        Reseller.id.in_({r.reseller_id for r in expired_rows})
                    )
                )
            ).all()
        )
        queued += await enqueue(
            session,
            [
                Outgoing(
                    key=f"topup-expired:{r.id}",
                    chat_id=owners[r.reseller_id],
                    kind=Kind.TOPUP_EXPIRED,
                    payload={"request_id": r.id, "credits": r.credits},
                )
                for r in expired_rows
            ],
            now,
        )
    if settings.admin_chat_id is None:
        return queued
    async with db.transaction() as session:
        stale = (
            await session.execute(
                select(TopUpRequest.id, TopUpRequest.credits, TopUpRequest.created_at)
                .where(
                    TopUpRequest.status == TopUpStatus.PENDING,
                    TopUpRequest.reminded_at.is_(None),
                    TopUpRequest.created_at <= now - settings.topup_remind_after,
                )
                .order_by(TopUpRequest.id)
                .with_for_update()
            )
        ).all()
        reminders = {
            r.id: Outgoing(
                key=f"topup-stale:{r.id}",
                chat_id=settings.admin_chat_id,
                kind=Kind.TOPUP_STALE,
                payload={
                    "request_id": r.id,
                    "credits": r.credits,
                    "created_at": r.created_at.isoformat(),
                },
            )
            for r in stale
        }
        result = await enqueue_checked(session, reminders.values(), now)
        # Reminded only once the reminder is queued: one the group was marked unreachable
        # for is raised again on the first pass after it came back.
        reminded = [i for i, m in reminders.items() if m.key not in result.skipped]
        if reminded:
            await session.execute(
                update(TopUpRequest).where(TopUpRequest.id.in_(reminded)).values(reminded_at=now)
            )
        queued += result.written
    return queued


async def expire_grants(db: Database, now: dt.datetime) -> list[ledger_expiry.ExpiredGrant]:
    """Remove what is left of every grant past its expiry, one transaction per grant, and
    queue the reseller's notice in that same transaction.

    Returns the grants that still had credit to remove (what a reseller is told about).
    """
    async with db.transaction() as session:
        due = await ledger_expiry.due_grant_ids(session, now=now)
    removed: list[ledger_expiry.ExpiredGrant] = []
    for grant_id in due:
        async with db.transaction() as session:
            expired = await ledger_expiry.expire_grant(session, grant_id, now=now)
            if expired is None or expired.amount == 0:
                continue
            removed.append(expired)
            telegram_id = await session.scalar(
                select(Reseller.telegram_id)
                .join(LedgerAccount, LedgerAccount.reseller_id == Reseller.id)
                .where(LedgerAccount.id == expired.account_id)
            )
            if telegram_id is not None:
                notice = Outgoing(
                    key=f"grant-expired:{grant_id}",
                    chat_id=telegram_id,
                    kind=Kind.GRANT_EXPIRED,
                    payload={"amount": expired.amount},
                )
                await enqueue(session, [notice], now)
    return removed
