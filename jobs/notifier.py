"""The sender: drains the outbox within Telegram's limits, one message at a time.

Notices are bulk: the bot's rate limiter (``bot/ratelimit.py``) gives them only the part
of Telegram's budget that replies to users leave free (about 30 messages a second
overall, 20 a minute per group, less a reserve for replies there), so a reply never
waits behind a queue of notices; it also waits out a 429's ``retry_after``. Here: at
most one message a second per chat, backoff on network errors, and a chat that blocked
the bot (403) is marked unreachable and written to no more until it does anything with
the bot again. The admin group is never marked: a 403 there is logged as an error and
retried.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot import keyboards
from bot.db import Database
from bot.money import format_amount
from bot.ratelimit import BULK
from bot.services import outbox
from bot.services.alerts import Kind
from bot.settings import Settings
from jobs import panel_report

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL = 1.0  # seconds between two messages to one chat
BATCH = 200


def _date(iso: str, settings: Settings) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(settings.zone).strftime("%Y-%m-%d")


def render(
    kind: str, p: dict[str, Any], settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and buttons of a queued message, from its kind and plain values."""

    def money(amount: int) -> str:
        return format_amount(amount, escape(settings.currency))

    top_up = InlineKeyboardMarkup([[keyboards.button("➕ Top up", keyboards.TOPUP_NEW)]])
    if kind == Kind.LOW_BALANCE:
        return (
            f"⚠️ Your available balance is {money(p['available'])}, below your alert "
            f"threshold of {money(p['threshold'])}. Top up to keep selling.",
            top_up,
        )
    if kind == Kind.DEBT_WARNING:
        return (
            f"⚠️ You owe {money(p['owed'])} of your {money(p['limit'])} collection limit. "
            "Please settle with an admin before you reach it.",
            None,
        )
    if kind == Kind.DEBT_LIMIT:
        return (
            f"⛔ You have reached your collection limit: you owe {money(p['owed'])} of "
            f"{money(p['limit'])}. Activations and renewals are paused until an admin "
            "records your payment.",
            None,
        )
    if kind == Kind.EXPIRY_REMINDER:
        when = (
            "expires <b>today</b>"
            if p["days"] == 0
            else f"expires in <b>{p['days']} day{'s' if p['days'] != 1 else ''}</b>"
        )
        return (
            f"⏰ Your subscription <code>{escape(p['username'])}</code> "
            f"({escape(p['plan'])}) {when}, on {_date(p['expires_at'], settings)}.",
            InlineKeyboardMarkup([[keyboards.button("🔁 Request renewal", "cs:rr")]]),
        )
    if kind == Kind.DIGEST:
        lines = ["📋 <b>Your customers today</b>"]
        rows: list[list[InlineKeyboardButton]] = []
        for title, items in (
            ("Expiring within 7 days", p["expiring"]),
            ("Expired since the last digest", p["expired"]),
        ):
            if items:
                lines.append(f"\n<b>{title}</b>")
            for item in items:
                lines.append(
                    f"• {escape(item['username'])} · {_date(item['expires_at'], settings)}"
                )
                if len(rows) < 10:
                    rows.append(
                        [keyboards.button(f"🔁 Renew {item['username']}", "cu", "r", item["id"])]
                    )
        return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None
    if kind == Kind.TOPUP_STALE:
        return (
            f"⏳ Top-up #{p['request_id']} ({money(p['credits'])}) has been waiting since "
            f"{_date(p['created_at'], settings)}. Please decide.",
            InlineKeyboardMarkup(
                [
                    [
                        keyboards.button("✅ Approve", "tu", "ok", p["request_id"]),
                        keyboards.button("❌ Reject", "tu", "no", p["request_id"]),
                    ]
                ]
            ),
        )
    if kind == Kind.TOPUP_EXPIRED:
        return (
            f"⌛ Your top-up request #{p['request_id']} of {money(p['credits'])} expired "
            "without a decision. Send a new one with /topup if you still need credits.",
            None,
        )
    if kind == Kind.GRANT_EXPIRED:
        return f"⌛ {money(p['amount'])} of your credits expired and were removed.", None
    if kind == Kind.TOPUP_APPROVED:
        return (
            f"✅ Your top-up #{p['request_id']} was approved: +{money(p['credits'])}.\n"
            f"Balance: {money(p['balance'])} (available {money(p['available'])}).",
            None,
        )
    if kind == Kind.TOPUP_REJECTED:
        reason = f"\nReason: {escape(p['reason'])}" if p.get("reason") else ""
        return (
            f"❌ Your top-up #{p['request_id']} of {money(p['credits'])} was rejected."
            f"{reason}\nIf this is a mistake, contact an admin.",
            top_up,
        )
    if kind == Kind.RENEWAL_REQUEST:
        return (
            f"🔔 Your customer <b>{escape(p['username'])}</b> asks to renew "
            f"{escape(p['plan'])} ({p['days']} days, {money(p['price'])}). It expires on "
            f"{_date(p['expires_at'], settings)}.",
            InlineKeyboardMarkup(
                [[keyboards.button("🔁 Renew", "cu", "rq", p["customer_id"], p["plan_id"])]]
            ),
        )
    if kind == Kind.CUSTOMER_UNLINKED:
        why = (
            "your reseller made a new invite link"
            if p["reason"] == "replaced"
            else "its invite link was revoked"
        )
        return (
            f"🔓 This chat is no longer linked to the subscription "
            f"<code>{escape(p['username'])}</code>: {why}. You will get no more reminders "
            "here. To link again, ask your reseller for the new invite link.",
            None,
        )
    if kind == Kind.RESELLER_SUSPENDED:
        why = f"\nReason: {escape(p['reason'])}" if p.get("reason") else ""
        return (
            "⛔ An admin has suspended your reseller account: you cannot sell or top up "
            f"until it is reactivated. Your customers and credits are kept.{why}",
            None,
        )
    if kind == Kind.RESELLER_ACTIVATED:
        return "✅ Your reseller account is active again: you can sell and top up.", None
    if kind == Kind.SALE_SETTLED:
        done = "activated" if p["kind"] == "activation" else "renewed"
        link = p.get("subscription_url")
        return (
            f"✅ <b>{escape(p['username'])}</b> was {done} on panel {escape(p['panel'])} after "
            f"all (the panel answered late): {money(p['price'])} charged, it expires on "
            f"{_date(p['expires_at'], settings)}."
            + (f"\nSubscription link: <code>{escape(link)}</code>" if link else ""),
            InlineKeyboardMarkup(
                [[keyboards.button("👤 Customer card", "cu", "v", p["customer_id"])]]
            ),
        )
    if kind == Kind.SALE_VOIDED:
        what = "activation" if p["kind"] == "activation" else "renewal"
        return (
            f"↩️ The {what} of <b>{escape(p['username'])}</b> did not go through on panel "
            f"{escape(p['panel'])}: nothing was charged and {money(p['price'])} is available "
            "again. You may try again.",
            None,
        )
    if kind == Kind.PANEL_CHECK:
        return panel_report.render(p, settings), None
    raise ValueError(f"unknown outbox kind {kind!r}")


async def drain(
    bot: ExtBot[Any],
    db: Database,
    settings: Settings,
    now: dt.datetime,
    *,
    budget_seconds: float,
    last_sent: dict[int, float],
) -> int:
    """Send what is due, for at most ``budget_seconds``. Returns how many went out."""
    started = time.monotonic()
    sent = 0
    blocked: set[int] = set()  # refused with a 403 during this run: the batch is stale
    while time.monotonic() - started < budget_seconds:
        batch = await outbox.due(db, now, limit=BATCH)
        if not batch:
            break
        progressed = False
        for message in batch:
            if time.monotonic() - started >= budget_seconds:
                break
            if message.chat_id in blocked:
                continue
            wait = PER_CHAT_INTERVAL - (time.monotonic() - last_sent.get(message.chat_id, -1e9))
            if wait > 0:
                await outbox.postpone(
                    db, message.id, now + dt.timedelta(seconds=max(wait, PER_CHAT_INTERVAL))
                )
                continue
            progressed = True
            outcome = await _send_one(bot, db, settings, now, message)
            if outcome == SENT:
                last_sent[message.chat_id] = time.monotonic()
                sent += 1
            elif outcome == BLOCKED:
                blocked.add(message.chat_id)
        if not progressed:
            break
    return sent


SENT, BLOCKED, NOT_SENT = "sent", "blocked", "not sent"


async def _send_one(
    bot: ExtBot[Any], db: Database, settings: Settings, now: dt.datetime, message: outbox.Due
) -> str:
    try:
        text, markup = render(message.kind, message.payload, settings)
        await bot.send_message(message.chat_id, text, reply_markup=markup, rate_limit_args=BULK)
    except Forbidden as exc:
        if message.chat_id == settings.admin_chat_id:
            await _admin_group_refused(db, settings, now, message, exc)
            return BLOCKED
        log.info("chat %s blocked the bot; marking it unreachable", message.chat_id)
        await outbox.mark_unreachable(db, message.chat_id, str(exc), now)
        return BLOCKED
    except RetryAfter as exc:
        # The rate limiter already waited and retried; try this one again later.
        wait = exc.retry_after
        delay = wait if isinstance(wait, dt.timedelta) else dt.timedelta(seconds=wait)
        await outbox.retry_later(
            db, message, now, f"429: {exc}", max_attempts=settings.outbox_max_attempts, wait=delay
        )
        return NOT_SENT
    except BadRequest as exc:
        log.warning("outbox message %s refused: %s", message.id, exc)
        await outbox.fail(db, message.id, f"400: {exc}")
        return NOT_SENT
    except NetworkError as exc:
        kept = await outbox.retry_later(
            db, message, now, f"network: {exc}", max_attempts=settings.outbox_max_attempts
        )
        if not kept:
            log.warning("outbox message %s given up after network errors: %s", message.id, exc)
        return NOT_SENT
    except (TelegramError, ValueError, KeyError) as exc:
        log.error("outbox message %s cannot be sent: %s", message.id, exc)
        await outbox.fail(db, message.id, str(exc))
        return NOT_SENT
    await outbox.mark_sent(db, message.id, now)
    return SENT


# The admin group is never marked unreachable: a 403 there means the bot was removed from
# it or may not post, which an operator puts right, and top-up decisions depend on the
# group. So the message stays pending, with a slower backoff than a network error's (5,
# 10, 20, 40 minutes, then hourly) still bounded by OUTBOX_MAX_ATTEMPTS: with the default
# 8 attempts it is tried for about four hours, with an error logged at every one.
ADMIN_GROUP_FIRST_WAIT = dt.timedelta(minutes=5)
ADMIN_GROUP_MAX_WAIT = dt.timedelta(hours=1)


async def _admin_group_refused(
    db: Database, settings: Settings, now: dt.datetime, message: outbox.Due, exc: Forbidden
) -> None:
    wait = min(ADMIN_GROUP_MAX_WAIT, ADMIN_GROUP_FIRST_WAIT * 2 ** min(message.attempts, 8))
    kept = await outbox.retry_later(
        db, message, now, f"403: {exc}", max_attempts=settings.outbox_max_attempts, wait=wait
    )
    log.error(
        "the admin group %s refused outbox message %s (403: %s); check that the bot is "
        "still in the group and may post there. %s",
        message.chat_id,
        message.id,
        exc,
        f"Retrying in {wait}." if kept else "Given up after the last attempt.",
    )
