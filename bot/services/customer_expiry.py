"""Customers' expiry, as the scheduled jobs see it: marking the expired ones, the
reminders to their linked chats (one per expiry date and offset), and each reseller's
daily digest of who expires soon and who has expired.

Like the alerts, every decision is kept in the database (outbox keys, the digest's date),
so a restart neither repeats nor loses one; each function takes ``now``.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services.alerts import Kind, Settings, alert_state
from bot.services.ledger import rowcount
from bot.services.outbox import Outgoing, enqueue, enqueue_checked
from models import (
    Customer,
    CustomerStatus,
    Plan,
    ReminderChoice,
    Reseller,
    ResellerStatus,
    SelfPayPrice,
)

DIGEST_EXPIRING_WITHIN = dt.timedelta(days=7)
# Customers read and queued per transaction: bounds the memory. 500 rather than 1,000
# lowers the bot's peak by about 2.4 MiB for some 10% more CPU (README, Benchmark).
REMINDER_BATCH = 500


async def expire_customers(db: Database, now: dt.datetime) -> int:
    async with db.transaction() as session:
        result = await session.execute(
            update(Customer)
            .where(Customer.status == CustomerStatus.ACTIVE, Customer.expires_at <= now)
            .values(status=CustomerStatus.EXPIRED)
        )
        return rowcount(result)


def _day_start(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return _local_midnight(moment.astimezone(zone).date(), zone)


@functools.lru_cache(maxsize=4096)
def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    # Cached: the reminder job asks this for every linked customer, about a few dates.
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def reminder_due(
    expires_at: dt.datetime, now: dt.datetime, offsets: tuple[int, ...], zone: ZoneInfo
) -> int | None:
    """The most recent reminder offset due now, or None.

    The reminder for ``d`` days is due from the start of the local day ``d`` days before
    the expiry day. After downtime only the latest missed one is due, never all of them.
    """
    expiry_day = _day_start(expires_at, zone)
    if now >= expiry_day + dt.timedelta(days=1):
        return None  # past the expiry day: the digest reports it, not a reminder
    due = [d for d in offsets if expiry_day - dt.timedelta(days=d) <= now]
    return min(due) if due else None


async def queue_expiry_reminders(db: Database, now: dt.datetime, settings: Settings) -> int:
    """One reminder per customer, expiry date and offset, to linked chats only."""
    horizon = now + dt.timedelta(days=max(settings.reminder_offsets_days) + 2)
    queued = 0
    last_id = 0
    due_by_day: dict[tuple[dt.date, str], int | None] = {}
    while True:
        async with db.transaction() as session:
            # On the session's connection, as Core: plain rows, without the ORM's loading
            # machinery, which costs more than the rest of the job per customer.
            connection = await session.connection()
            rows = (
                await connection.execute(
                    select(
                        Customer.id,
                        Customer.chat_id,
                        Customer.expires_at,
                        Customer.username,
                        Plan.id,
                        Plan.name,
                        Customer.reminders,
                        SelfPayPrice.stars,
                    )
                    .join(Plan, Plan.id == Customer.plan_id)
                    # The Stars price, where the reseller lets customers pay their renewal.
                    .join(Reseller, Reseller.id == Customer.reseller_id)
                    .outerjoin(
                        SelfPayPrice,
                        (SelfPayPrice.reseller_id == Customer.reseller_id)
                        & (SelfPayPrice.plan_id == Customer.plan_id)
                        & Reseller.self_pay_enabled.is_(True)
                        & (Reseller.status == ResellerStatus.ACTIVE)
                        & Plan.active.is_(True),
                    )
                    .where(
                        Customer.id > last_id,
                        Customer.chat_id.is_not(None),
                        # Paused and cancelled customers get no reminders.
                        Customer.status.in_([CustomerStatus.ACTIVE, CustomerStatus.EXPIRED]),
                        Customer.expires_at > now - dt.timedelta(days=2),
                        Customer.expires_at <= horizon,
                    )
                    .order_by(Customer.id)
                    .limit(REMINDER_BATCH)
                )
            ).all()
            if not rows:
                return queued
            last_id = rows[-1][0]
            messages = []
            for row in rows:
                customer_id, chat_id, expires_at, username, plan_id, plan_name, choice, stars = row
                # What is due depends on the expiry's local day and the customer's choice
                # only: worked out once for each. A customer who asked for fewer
                # reminders still gets the last one.
                day = expires_at.astimezone(settings.zone).date()
                if (day, choice) not in due_by_day:
                    offsets = settings.reminder_offsets_days
                    if choice == ReminderChoice.LAST:
                        offsets = (min(offsets),)
                    due_by_day[day, choice] = reminder_due(expires_at, now, offsets, settings.zone)
                offset = due_by_day[day, choice]
                if offset is None or chat_id is None:
                    continue
                expiry = expires_at.isoformat()
                messages.append(
                    Outgoing(
                        key=f"remind:{customer_id}:{expiry}:{offset}",
                        chat_id=chat_id,
                        kind=Kind.EXPIRY_REMINDER,
                        payload={
                            "customer_id": customer_id,
                            "username": username,
                            "plan": plan_name,
                            "plan_id": plan_id,
                            "expires_at": expiry,
                            "days": offset,
                            "stars": stars,
                        },
                    )
                )
            queued += await enqueue(session, messages, now)


async def queue_digests(db: Database, now: dt.datetime, settings: Settings) -> int:
    """Once a day per reseller, from the digest time: expiring soon and newly expired."""
    local = now.astimezone(settings.zone)
    if local.time() < settings.digest_time:
        return 0
    today = local.date()
    async with db.transaction() as session:
        resellers = (
            await session.execute(
                select(Reseller.id, Reseller.telegram_id).where(
                    Reseller.status == ResellerStatus.ACTIVE
                )
            )
        ).all()
    queued = 0
    for reseller_id, telegram_id in resellers:
        async with db.transaction() as session:
            state = await alert_state(session, reseller_id)
            if state.last_digest_date is not None and state.last_digest_date >= today:
                continue
            since = state.last_digest_at or now - dt.timedelta(days=1)
            expiring = await _digest_rows(
                session,
                and_(
                    Customer.reseller_id == reseller_id,
                    Customer.expires_at > now,
                    Customer.expires_at <= now + DIGEST_EXPIRING_WITHIN,
                    Customer.status == CustomerStatus.ACTIVE,
                ),
            )
            expired = await _digest_rows(
                session,
                and_(
                    Customer.reseller_id == reseller_id,
                    Customer.expires_at > since,
                    Customer.expires_at <= now,
                ),
            )
            if expiring or expired:
                digest = Outgoing(
                    key=f"digest:{reseller_id}:{today.isoformat()}",
                    chat_id=telegram_id,
                    kind=Kind.DIGEST,
                    payload={"expiring": expiring, "expired": expired},
                )
                result = await enqueue_checked(session, [digest], now)
                if result.skipped:
                    # The reseller blocked the bot: not sent, so not done. The next run
                    # after they come back sends it, covering the time since the last one.
                    continue
                queued += result.written
            state.last_digest_date = today
            state.last_digest_at = now
    return queued


async def _digest_rows(session: AsyncSession, where: object) -> list[dict[str, object]]:
    rows = await session.execute(
        select(Customer.id, Customer.username, Customer.expires_at, Customer.plan_id)
        .where(where)  # type: ignore[arg-type]
        .order_by(Customer.expires_at)
        .limit(30)
    )
    return [
        {"id": cid, "username": name, "expires_at": exp.isoformat(), "plan_id": plan_id}
        for cid, name, exp, plan_id in rows
    ]
