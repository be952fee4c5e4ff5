"""What a customer paying its own renewal in Stars sees, and what its reseller and the
admins are told: pure functions from plain values and a reader."""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.sale_errors import ALREADY_ON_PLAN, ANOTHER_SALE
from bot.services.star_renewal_outcome import PLAN_CHANGED
from bot.services.star_renewals import Offer, Refusal
from bot.services.stars import Payment, StarsError
from handlers.customer import callbacks as customer_buttons
from handlers.payments import admin_views, change_views
from handlers.payments.views import (
    DESCRIPTION_LIMIT,
    TITLE_LIMIT,
    code_button,
    discount_line,
    stars_amount,
)
from handlers.reader import Reader
from models import StarPurpose

Screen = tuple[str, InlineKeyboardMarkup | None]


def offer_screen(offer: Offer, payment: Payment, r: Reader, problem: str | None = None) -> Screen:
    """What is paid for, stated before the invoice that follows it."""
    t = r.t
    text = t.n_(
        "⭐ <b>Pay and renew</b>\n\nSubscription: <code>{username}</code>\n"
        "Plan: {plan} ({n} day)\nNew expiry: <b>{date}</b>\nTo pay: <b>{stars}</b>\n\n"
        "Pay the invoice below: the subscription is renewed as soon as Telegram confirms "
        "the payment. If the renewal cannot be done, your Stars are refunded automatically.",
        "⭐ <b>Pay and renew</b>\n\nSubscription: <code>{username}</code>\n"
        "Plan: {plan} ({n} days)\nNew expiry: <b>{date}</b>\nTo pay: <b>{stars}</b>\n\n"
        "Pay the invoice below: the subscription is renewed as soon as Telegram confirms "
        "the payment. If the renewal cannot be done, your Stars are refunded automatically.",
        offer.days,
        username=r.name(offer.username),
        plan=r.name(offer.plan_name),
        date=r.date(offer.expires_at),
        stars=stars_amount(r, payment.stars),
    )
    if payment.discount_stars:
        text += "\n" + discount_line(payment, r)
    if problem:
        text = t._("⚠️ {problem}", problem=problem) + "\n\n" + text
    rows = [
        [code_button(payment, r)],
        [keyboards.button(t._("⬅️ Back"), customer_buttons.STATUS.build())],
    ]
    if offer.subscribable and not payment.discount_stars:
        every = keyboards.button(t._("🔁 Renew every 30 days"), customer_buttons.SUBSCRIBE.build())
        rows.insert(0, [every])
    return text, InlineKeyboardMarkup(rows)


def invoice_title(t: Translator) -> str:
    return t._("Subscription renewal")[:TITLE_LIMIT]


def invoice_description(offer: Offer, r: Reader) -> str:
    """Plain text (an invoice takes no HTML)."""
    text = r.t.n_(
        "{username}: {plan}, {n} day more.",
        "{username}: {plan}, {n} days more.",
        offer.days,
        username=offer.username,
        plan=offer.plan_name,
    )
    return text[:DESCRIPTION_LIMIT]


def price_label(t: Translator) -> str:
    return t._("Renewal")


def refusal(refusal: Refusal | str, t: Translator) -> str:
    """Why the renewal cannot be paid: plain text (Telegram's payment window shows it too)."""
    if refusal == Refusal.ALREADY_PAID:
        return t._("This invoice is already paid.")
    if refusal == Refusal.NOT_LINKED:
        return t._("This chat is no longer linked to the subscription; nothing was charged.")
    if refusal == Refusal.SUSPENDED:
        return t._("Your reseller cannot renew subscriptions right now; nothing was charged. "
                   "Please contact them.")  # fmt: skip
    if refusal == Refusal.PLAN_UNAVAILABLE:
        return t._("Your plan is no longer available; nothing was charged. "
                   "Please contact your reseller.")  # fmt: skip
    if refusal == Refusal.NOT_OFFERED:
        return t._("Paying your renewal here is not offered now; nothing was charged. "
                   "Please contact your reseller.")  # fmt: skip
    if refusal == Refusal.CHANGED:
        return t._("The price changed since this invoice; nothing was charged. "
                   "A new invoice follows.")  # fmt: skip
    if refusal == Refusal.PAYMENT_PENDING:
        return t._("Your last payment is still being processed, so this renewal cannot be "
                   "paid now; nothing was charged. Try again once it is done.")  # fmt: skip
    if refusal == Refusal.CODE_INVALID:
        return t._("The discount code is no longer valid (used up or expired); nothing was "
                   "charged. Open /status for a new invoice.")  # fmt: skip
    return t._("This invoice is no longer valid. Open /status for a new one.")


def cannot_invoice(exc: StarsError, t: Translator) -> str:
    return refusal(exc.code, t)


def renewed(stars: int, username: str, expires_at: dt.datetime, r: Reader) -> str:
    return r.t._(
        "✅ Payment received: {stars}. <code>{username}</code> is renewed until <b>{date}</b>.",
        stars=stars_amount(r, stars),
        username=r.name(username),
        date=r.date(expires_at),
    )


def in_doubt(stars: int, r: Reader) -> str:
    return r.t._(
        "⏳ Payment received: {stars}. The renewal is being confirmed with the provider; "
        "check /status in a while. If it cannot be done, your Stars are refunded.",
        stars=stars_amount(r, stars),
    )


def refunded_to_customer(stars: int, r: Reader, reason: str = "") -> str:
    """The renewal paid could not be done (``reason``: the sale's error code): refunded."""
    if reason == PLAN_CHANGED:  # a change of package made after this payment was let through
        return r.t._(
            "⚠️ Your package changed while this renewal was being paid, so the old package "
            "was not renewed and your {stars} were refunded. Renew your new package from "
            "/status.",
            stars=stars_amount(r, stars),
        )
    return r.t._(
        "⚠️ Your subscription could not be renewed now, so your {stars} were refunded. "
        "Please contact your reseller.",
        stars=stars_amount(r, stars),
    )


def refund_pending(stars: int, r: Reader, reason: str = "") -> str:
    if reason == PLAN_CHANGED:
        return r.t._(
            "⚠️ Your package changed while this renewal was being paid, so the old package "
            "was not renewed. The refund of your {stars} is under way and may take a "
            "while; send /paysupport if you have a question.",
            stars=stars_amount(r, stars),
        )
    return r.t._(
        "⚠️ Your subscription could not be renewed now. The refund of your {stars} is "
        "under way and may take a while; send /paysupport if you have a question.",
        stars=stars_amount(r, stars),
    )


def _reason(code: str, t: Translator, subscription: bool = True) -> str:
    """Why a paid renewal could not be done, from the sale's error code (``subscription``:
    a Stars subscription's charge, stopped when the customer left its plan)."""
    if code == "insufficient_credit":
        return t._("not enough credit")
    if code == "suspended":
        return t._("the reseller is suspended")
    if code == "plan_unavailable":
        return t._("the plan is no longer available")
    if code == "customer_cancelled":
        return t._("the subscription was cancelled")
    if code == ANOTHER_SALE:
        return t._("another change or renewal was still being made")
    if code == ALREADY_ON_PLAN:  # a change paid twice: the first made it
        return t._("it had already been paid for and made")
    if code == PLAN_CHANGED and subscription:  # a Stars subscription's charge for the plan left
        return t._("the customer has changed package since; automatic renewal stopped")
    if code == PLAN_CHANGED:  # a single renewal let through before a change was made
        return t._("the customer has changed package since")
    return t._("the provider refused or failed")


# --- notices (the outbox): the reseller, the admins ----------------------------------------


def renewed_notice(p: dict[str, Any], r: Reader) -> Screen:
    """To the reseller; or to the customer (``p["audience"]``), done after it paid (the bot
    had stopped before the sale)."""
    if p.get("audience") == "customer":
        stars, expires_at = int(p["stars"]), dt.datetime.fromisoformat(p["expires_at"])
        if p.get("from_plan"):
            return change_views.changed_to(stars, p["username"], p["plan"], expires_at, r), None
        return renewed(stars, p["username"], expires_at, r), None
    if p.get("from_plan"):  # a change of package the customer paid
        return change_views.changed_notice(p, r), None
    t = r.t
    text = t._(
        "⭐ <code>{username}</code> paid {stars} and is renewed until {date} ({plan}).\n"
        "Revenue: +{revenue} · Renewal: −{charged} · Your margin: {margin}\n"
        "Balance: <b>{balance}</b>",
        username=r.name(p["username"]),
        stars=stars_amount(r, int(p["stars"])),
        date=r.date(dt.datetime.fromisoformat(p["expires_at"])),
        plan=r.name(p["plan"]),
        revenue=r.money(int(p["revenue"])),
        charged=r.money(int(p["charged"])),
        margin=r.money(int(p["revenue"]) - int(p["charged"])),
        balance=r.money(int(p["balance"])),
    )
    return text, None


def refunded_notice(p: dict[str, Any], r: Reader) -> Screen:
    """To the reseller, the admin group, or the customer (``p["audience"]``)."""
    t = r.t
    code = str(p["reason"]).rpartition(" not done: ")[2]
    subscription = bool(p.get("subscription", True))  # notices queued before it was said
    reason = _reason(code, t, subscription)
    values = {"username": r.name(p["username"]), "stars": stars_amount(r, int(p["stars"])),
              "reason": reason}  # fmt: skip
    change = p.get("purpose") == StarPurpose.PLAN_CHANGE
    if p.get("audience") == "customer":
        if change:
            return change_views.refunded(int(p["stars"]), r, done=True, reason=code), None
        if code == PLAN_CHANGED and subscription:
            # Imported here: subscription_views takes its refusals from this module.
            from handlers.payments.subscription_views import left_plan_refunded

            return left_plan_refunded(int(p["stars"]), r), None
        return refunded_to_customer(int(p["stars"]), r, code), None
    if change:
        return change_views.refunded_notice(p, values, r), None
    if p.get("audience") == "admins":
        text = t._(
            "⚠️ A renewal of <code>{username}</code> (a customer of <b>{name}</b>, "
            "<code>{telegram_id}</code>) paid with {stars} could not be done ({reason}). "
            "Payment #{payment_id} was refunded automatically.",
            name=r.name(p["name"]), telegram_id=p["telegram_id"], payment_id=p["payment_id"],
            **values,
        )  # fmt: skip
    else:
        text = t._(
            "⚠️ <code>{username}</code> paid {stars} for a renewal that could not be done "
            "({reason}). The Stars were refunded and the revenue taken back.",
            **values,
        )
    return text, None


def refund_failed_notice(p: dict[str, Any], r: Reader) -> Screen:
    """The admin group: Telegram did not make a customer's refund. It stays pending and
    the bot asks again by itself (``jobs.stars.finish_pending_refunds``); the button asks
    now."""
    retry = admin_views.retry_keyboard(int(p["payment_id"]), r.t)
    if p.get("purpose") == StarPurpose.PLAN_CHANGE:
        return change_views.refund_failed_notice(p, r), retry
    text = r.t._(
        "⛔ The automatic refund of Stars payment #{payment_id} ({stars}, a renewal of "
        "<code>{username}</code>, a customer of <b>{name}</b>) failed: {error}. It stays "
        "pending and the bot keeps asking Telegram by itself, less and less often; "
        "🔁 Ask Telegram again asks now.",
        payment_id=p["payment_id"],
        stars=stars_amount(r, int(p["stars"])),
        username=r.name(p["username"]),
        name=r.name(p["name"]),
        error=r.name(p["error"]),
    )
    return text, retry
