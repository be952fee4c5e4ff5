"""What each queued notice says: its text and buttons, from its kind and plain values.

The outbox keeps a kind and parameters, never text, so a notice is written here at the
moment it is sent, in the language its reader has then.

Values are written by the shared ``Reader``; buttons are built by the features' callback
codecs, so their data is what those features route.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.alerts import Kind
from bot.settings import Settings
from handlers.admin import cash_views, credit_views, panel_report_views, reseller_views
from handlers.announce import history_views as announcement_views
from handlers.customer import views as customer_views
from handlers.downline import views as downline_views
from handlers.payments import admin_views as payment_views
from handlers.payments import renewal_views
from handlers.portal import callbacks as portal_buttons
from handlers.portal import notice_views as portal_notices
from handlers.reader import Reader
from handlers.sale import callbacks as sale_buttons
from handlers.topup import callbacks as topup_buttons
from handlers.transfer import views as transfer_views
from jobs import report_views

Notice = tuple[str, InlineKeyboardMarkup | None]
DIGEST_BUTTONS = 10  # at most this many Renew buttons under a digest


def _date(r: Reader, iso: str) -> str:
    """A date the outbox keeps as ISO text, as the reader writes dates."""
    return r.date(dt.datetime.fromisoformat(iso))


def _top_up(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[keyboards.button(t._("➕ Top up"), keyboards.TOPUP_NEW)]])


def _low_balance(p: dict[str, Any], r: Reader) -> Notice:
    text = r.t._(
        "⚠️ Your available balance is {available}, below your alert threshold of "
        "{threshold}. Top up to keep selling.",
        available=r.money(p["available"]),
        threshold=r.money(p["threshold"]),
    )
    return text, _top_up(r.t)


def _debt_warning(p: dict[str, Any], r: Reader) -> Notice:
    text = r.t._(
        "⚠️ You owe {owed} of your {limit} collection limit. "
        "Please settle with an admin before you reach it.",
        owed=r.money(p["owed"]),
        limit=r.money(p["limit"]),
    )
    return text, None


def _debt_limit(p: dict[str, Any], r: Reader) -> Notice:
    text = r.t._(
        "⛔ You have reached your collection limit: you owe {owed} of {limit}. Activations "
        "and renewals are paused until an admin records your payment.",
        owed=r.money(p["owed"]),
        limit=r.money(p["limit"]),
    )
    return text, None


def _expiry_reminder(p: dict[str, Any], r: Reader) -> Notice:
    t, days = r.t, int(p["days"])
    values = {"username": r.name(p["username"]), "plan": r.name(p["plan"]),
              "date": _date(r, p["expires_at"])}  # fmt: skip
    if days == 0:
        text = t._(
            "⏰ Your subscription <code>{username}</code> ({plan}) expires <b>today</b>, "
            "on {date}.",
            **values,
        )
    else:
        text = t.n_(
            "⏰ Your subscription <code>{username}</code> ({plan}) expires in "
            "<b>{n} day</b>, on {date}.",
            "⏰ Your subscription <code>{username}</code> ({plan}) expires in "
            "<b>{n} days</b>, on {date}.",
            days,
            **values,
        )
    # For this subscription: a chat may have several (the portal checks it is the chat's).
    request = portal_buttons.RENEWAL.build(p["customer_id"])
    renew = keyboards.button(t._("🔁 Request renewal"), request)
    rows = [[renew]]
    if p.get("stars"):  # the reseller lets its customers pay their renewal in Stars
        rows.insert(0, [customer_views.pay_button(int(p["stars"]), r)])
    return text, InlineKeyboardMarkup(rows)


def _digest(p: dict[str, Any], r: Reader) -> Notice:
    t = r.t
    lines = [t._("📋 <b>Your customers today</b>")]
    rows: list[list[InlineKeyboardButton]] = []
    for title, items in (
        (t._("<b>Expiring within 7 days</b>"), p["expiring"]),
        (t._("<b>Expired since the last digest</b>"), p["expired"]),
    ):
        if items:
            lines.append("\n" + title)
        for item in items:
            lines.append(f"• {r.name(item['username'])} · {_date(r, item['expires_at'])}")
            if len(rows) < DIGEST_BUTTONS:
                # A button's label is plain text: nothing in it is escaped.
                label = t._("🔁 Renew {username}", username=t.isolate(item["username"]))
                rows.append(
                    [keyboards.button(label, sale_buttons.RENEW_CUSTOMER.build(item["id"]))]
                )
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


def _topup_stale(p: dict[str, Any], r: Reader) -> Notice:
    t = r.t
    text = t._(
        "⏳ Top-up #{request} ({credits}) has been waiting since {date}. Please decide.",
        request=r.number(p["request_id"]),
        credits=r.money(p["credits"]),
        date=_date(r, p["created_at"]),
    )
    decide = [
        keyboards.button(t._("✅ Approve"), topup_buttons.APPROVE.build(p["request_id"])),
        keyboards.button(t._("❌ Reject"), topup_buttons.REJECT.build(p["request_id"])),
    ]
    return text, InlineKeyboardMarkup([decide])


def _topup_expired(p: dict[str, Any], r: Reader) -> Notice:
    text = r.t._(
        "⌛ Your top-up request #{request} of {credits} expired without a decision. "
        "Send a new one with /topup if you still need credits.",
        request=r.number(p["request_id"]),
        credits=r.money(p["credits"]),
    )
    return text, None


def _grant_expired(p: dict[str, Any], r: Reader) -> Notice:
    text = r.t._(
        "⌛ {amount} of your credits expired and were removed.", amount=r.money(p["amount"])
    )
    return text, None


def _topup_approved(p: dict[str, Any], r: Reader) -> Notice:
    text = r.t._(
        "✅ Your top-up #{request} was approved: +{credits}.\n"
        "Balance: {balance} (available {available}).",
        request=r.number(p["request_id"]),
        credits=r.money(p["credits"]),
        balance=r.money(p["balance"]),
        available=r.money(p["available"]),
    )
    return text, None


def _reason(p: dict[str, Any], r: Reader) -> list[str]:
    return [r.t._("Reason: {reason}", reason=escape(p["reason"]))] if p.get("reason") else []


def _topup_rejected(p: dict[str, Any], r: Reader) -> Notice:
    t = r.t
    lines = [
        t._(
            "❌ Your top-up #{request} of {credits} was rejected.",
            request=r.number(p["request_id"]),
            credits=r.money(p["credits"]),
        ),
        *_reason(p, r),
        t._("If this is a mistake, contact an admin."),
    ]
    return "\n".join(lines), _top_up(t)


def _renewal_request(p: dict[str, Any], r: Reader) -> Notice:
    t = r.t
    text = t.n_(
        "🔔 Your customer <b>{username}</b> asks to renew {plan} ({n} day, {price}). "
        "It expires on {date}.",
        "🔔 Your customer <b>{username}</b> asks to renew {plan} ({n} days, {price}). "
        "It expires on {date}.",
        int(p["days"]),
        username=r.name(p["username"]),
        plan=r.name(p["plan"]),
        price=r.money(p["price"]),
        date=_date(r, p["expires_at"]),
    )
    renew = keyboards.button(
        t._("🔁 Renew"), sale_buttons.RENEW_REQUESTED.build(p["customer_id"], p["plan_id"])
    )
    return text, InlineKeyboardMarkup([[renew]])


def _customer_unlinked(p: dict[str, Any], r: Reader) -> Notice:
    username = r.name(p["username"])
    if p["reason"] == "replaced":
        text = r.t._(
            "🔓 This chat is no longer linked to the subscription <code>{username}</code>: "
            "your reseller made a new invite link. You will get no more reminders here. "
            "To link again, ask your reseller for the new invite link.",
            username=username,
        )
    else:
        text = r.t._(
            "🔓 This chat is no longer linked to the subscription <code>{username}</code>: "
            "its invite link was revoked. You will get no more reminders here. "
            "To link again, ask your reseller for the new invite link.",
            username=username,
        )
    return text, None


def _reseller_suspended(p: dict[str, Any], r: Reader) -> Notice:
    lines = [
        r.t._(
            "⛔ An admin has suspended your reseller account: you cannot sell or top up "
            "until it is reactivated. Your customers and credits are kept."
        ),
        *_reason(p, r),
    ]
    return "\n".join(lines), None


def _reseller_activated(p: dict[str, Any], r: Reader) -> Notice:
    return r.t._("✅ Your reseller account is active again: you can sell and top up."), None


def _sale_settled(p: dict[str, Any], r: Reader) -> Notice:
    t = r.t
    values = {"username": r.name(p["username"]), "panel": r.name(p["panel"]),
              "price": r.money(p["price"]), "date": _date(r, p["expires_at"])}  # fmt: skip
    if p["kind"] == "activation":
        done = t._(
            "✅ <b>{username}</b> was activated on panel {panel} after all (the panel "
            "answered late): {price} charged, it expires on {date}.",
            **values,
        )
    else:
        done = t._(
            "✅ <b>{username}</b> was renewed on panel {panel} after all (the panel "
            "answered late): {price} charged, it expires on {date}.",
            **values,
        )
    lines = [done]
    if p.get("subscription_url"):
        lines.append(
            t._(
                "Subscription link: <code>{link}</code>",
                link=t.isolate(escape(p["subscription_url"])),
            )
        )
    card = keyboards.button(t._("👤 Customer card"), sale_buttons.CARD.build(p["customer_id"]))
    return "\n".join(lines), InlineKeyboardMarkup([[card]])


def _sale_voided(p: dict[str, Any], r: Reader) -> Notice:
    values = {"username": r.name(p["username"]), "panel": r.name(p["panel"]),
              "price": r.money(p["price"])}  # fmt: skip
    if p["kind"] == "activation":
        text = r.t._(
            "↩️ The activation of <b>{username}</b> did not go through on panel {panel}: "
            "nothing was charged and {price} is available again. You may try again.",
            **values,
        )
    else:
        text = r.t._(
            "↩️ The renewal of <b>{username}</b> did not go through on panel {panel}: "
            "nothing was charged and {price} is available again. You may try again.",
            **values,
        )
    return text, None


def _panel_check(p: dict[str, Any], r: Reader) -> Notice:
    return panel_report_views.render(p, r), None


VIEWS: dict[str, Callable[[dict[str, Any], Reader], Notice]] = {
    Kind.LOW_BALANCE: _low_balance,
    Kind.DEBT_WARNING: _debt_warning,
    Kind.DEBT_LIMIT: _debt_limit,
    Kind.EXPIRY_REMINDER: _expiry_reminder,
    Kind.DIGEST: _digest,
    Kind.TOPUP_STALE: _topup_stale,
    Kind.TOPUP_EXPIRED: _topup_expired,
    Kind.GRANT_EXPIRED: _grant_expired,
    Kind.TOPUP_APPROVED: _topup_approved,
    Kind.TOPUP_REJECTED: _topup_rejected,
    Kind.RENEWAL_REQUEST: _renewal_request,
    Kind.CUSTOMER_UNLINKED: _customer_unlinked,
    Kind.RESELLER_SUSPENDED: _reseller_suspended,
    Kind.RESELLER_ACTIVATED: _reseller_activated,
    Kind.SALE_SETTLED: _sale_settled,
    Kind.SALE_VOIDED: _sale_voided,
    Kind.PANEL_CHECK: _panel_check,
    Kind.CASH_RECEIVED: cash_views.notice,
    Kind.RESELLER_WELCOME: reseller_views.welcome_notice,
    Kind.RESELLER_CHANGED: reseller_views.changed_notice,
    Kind.CREDIT_ADDED: credit_views.added_notice,
    Kind.CREDIT_REMOVED: credit_views.removed_notice,
    Kind.TRANSFER_RECEIVED: transfer_views.received_notice,
    Kind.TRANSFER_REVERSED: transfer_views.reversed_notice,
    Kind.SUBRESELLER_WELCOME: downline_views.welcome_notice,
    Kind.CREDIT_ALLOCATED: downline_views.allocated_notice,
    Kind.CREDIT_RECLAIMED: downline_views.reclaimed_notice,
    Kind.STARS_PAID: payment_views.paid_notice,
    Kind.STARS_REFUNDED: payment_views.refunded_notice,
    Kind.STARS_TELEGRAM_REFUND: payment_views.telegram_refund_notice,
    Kind.STARS_REFUND_FINISHED: payment_views.refund_finished_notice,
    Kind.STARS_RECONCILE: payment_views.reconcile_notice,
    Kind.PAY_SUPPORT: payment_views.support_notice,
    Kind.SUMMARY: report_views.summary_notice,
    Kind.SELF_PAY_RENEWED: renewal_views.renewed_notice,
    Kind.SELF_PAY_REFUNDED: renewal_views.refunded_notice,
    Kind.SELF_PAY_REFUND_FAILED: renewal_views.refund_failed_notice,
    Kind.ANNOUNCEMENT_REFUSED: announcement_views.refused_notice,
}
VIEWS.update(portal_notices.VIEWS)


# Sent as a document, made when it is sent (jobs/reports.py), not written here.
DOCUMENTS = frozenset({Kind.STATEMENT})


def render(kind: str, p: dict[str, Any], settings: Settings, t: Translator) -> Notice:
    """The text and buttons of a queued message, in ``t``'s language."""
    view = VIEWS.get(kind)
    if view is None:
        raise ValueError(f"unknown outbox kind {kind!r}")
    return view(p, Reader.of(settings, t))
