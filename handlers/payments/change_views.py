"""What a customer paying its own change of package in Stars sees: the price and how it
adds up, the invoice, and the outcome. Pure functions from plain values and a reader."""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.customers import CustomerView
from bot.services.sale_errors import ALREADY_ON_PLAN
from bot.services.star_changes import ChangeOffer
from bot.services.star_renewals import Refusal
from handlers.payments import renewal_views
from handlers.payments.views import DESCRIPTION_LIMIT, TITLE_LIMIT, stars_amount
from handlers.portal import callbacks as portal_buttons
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup]


def pay_screen(offer: ChangeOffer, r: Reader, problem: str | None = None) -> Screen:
    """The change, its price in Stars and the rule behind it, then Pay and change."""
    t = r.t
    lines = [
        *([t._("⚠️ {problem}", problem=problem), ""] if problem else []),
        t._("🔄 <b>Change package</b>"),
        t._(
            "<code>{username}</code>: {from_plan} → <b>{plan}</b>",
            username=r.name(offer.username),
            from_plan=r.name(offer.from_plan),
            plan=r.name(offer.plan_name),
        ),
        t._("New package: {stars}", stars=stars_amount(r, offer.plan_stars)),
    ]
    if offer.extra_stars:
        lines.append(
            t.n_(
                "Your {n} day left, on the dearer package: +{stars}",
                "Your {n} days left, on the dearer package: +{stars}",
                offer.days_left,
                stars=stars_amount(r, offer.extra_stars),
            )
        )
    lines += [
        t._("To pay: <b>{stars}</b>", stars=stars_amount(r, offer.stars)),
        t._("New expiry: <b>{date}</b>", date=r.date(offer.expires_at)),
        "",
        t._(
            "You pay the new package's price; the days you have left move to it now, and "
            "when it costs more per day you pay the difference for them. The change is made "
            "as soon as Telegram confirms the payment; if it cannot be made, your Stars are "
            "refunded automatically."
        ),
    ]
    pay = keyboards.button(
        t._("⭐ Pay {stars} and change", stars=stars_amount(r, offer.stars)),
        portal_buttons.CHANGE_PAY.build(offer.customer_id, offer.plan_id),
    )
    back = keyboards.button(t._("⬅️ Back"), portal_buttons.CHANGE.build(offer.customer_id))
    return "\n".join(lines), InlineKeyboardMarkup([[pay], [back]])


def refusal(code: str, t: Translator) -> str:
    """Why the change cannot be paid (plain text: Telegram's payment window shows it)."""
    if code == Refusal.NOT_OFFERED:
        return t._("This change cannot be paid here now; nothing was charged. Open your "
                   "subscription to ask your reseller for it.")  # fmt: skip
    if code == Refusal.PLAN_UNAVAILABLE:
        return t._("That package is not available now; nothing was charged.")
    if code == Refusal.PAYMENT_PENDING:
        return t._("Your last payment is still being processed, so this change cannot be "
                   "paid now; nothing was charged. Try again once it is done, or ask your "
                   "reseller.")  # fmt: skip
    return renewal_views.refusal(code, t)


def invoice_title(t: Translator) -> str:
    return t._("Change of package")[:TITLE_LIMIT]


def invoice_description(offer: ChangeOffer, r: Reader) -> str:
    """Plain text (an invoice takes no HTML)."""
    text = r.t.n_(
        "{username}: {from_plan} to {plan} ({n} day).",
        "{username}: {from_plan} to {plan} ({n} days).",
        offer.days,
        username=offer.username,
        from_plan=offer.from_plan,
        plan=offer.plan_name,
    )
    return text[:DESCRIPTION_LIMIT]


def price_label(t: Translator) -> str:
    return t._("Change of package")


def changed(stars: int, customer: CustomerView, r: Reader) -> str:
    return changed_to(stars, customer.username, customer.plan.name, customer.expires_at, r)


def changed_to(stars: int, username: str, plan: str, expires_at: dt.datetime, r: Reader) -> str:
    """The change made: also the customer's notice when it was made later (the outbox)."""
    return r.t._(
        "✅ Payment received: {stars}. <code>{username}</code> is now on {plan}, until "
        "<b>{date}</b>.",
        stars=stars_amount(r, stars),
        username=r.name(username),
        plan=r.name(plan),
        date=r.date(expires_at),
    )


def in_doubt(stars: int, r: Reader) -> str:
    return r.t._(
        "⏳ Payment received: {stars}. The change is being confirmed with the provider; "
        "check your subscription in a while. If it cannot be made, your Stars are refunded.",
        stars=stars_amount(r, stars),
    )


def refunded(stars: int, r: Reader, *, done: bool, reason: str = "") -> str:
    """The customer's payment could not change the package (``reason``: the sale's error
    code), refunded (``done``) or its refund still pending (the bot asks Telegram again)."""
    if reason == ALREADY_ON_PLAN:  # put on it meanwhile: by another payment, or the reseller
        if done:
            return r.t._(
                "⚠️ You are already on this package, so this payment was not needed and "
                "your {stars} were refunded.",
                stars=stars_amount(r, stars),
            )
        return r.t._(
            "⚠️ You are already on this package, so this payment was not needed. The "
            "refund of your {stars} is under way and may take a while; send /paysupport "
            "if you have a question.",
            stars=stars_amount(r, stars),
        )
    if done:
        return r.t._(
            "⚠️ Your package could not be changed now, so your {stars} were refunded. "
            "Please contact your reseller.",
            stars=stars_amount(r, stars),
        )
    return r.t._(
        "⚠️ Your package could not be changed now. The refund of your {stars} is under "
        "way and may take a while; send /paysupport if you have a question.",
        stars=stars_amount(r, stars),
    )


def changed_notice(p: dict[str, Any], r: Reader) -> str:
    """The reseller's notice of a change their customer paid (``p``: the renewal notice's
    payload, with the plan it left)."""
    t = r.t
    revenue, charged = int(p["revenue"]), int(p["charged"])
    return "\n".join(
        [
            t._(
                "⭐ <code>{username}</code> paid {stars} and changed from {from_plan} to "
                "{plan}, until {date}.",
                username=r.name(p["username"]),
                stars=stars_amount(r, int(p["stars"])),
                from_plan=r.name(p["from_plan"]),
                plan=r.name(p["plan"]),
                date=r.date(dt.datetime.fromisoformat(p["expires_at"])),
            ),
            t._(
                "Revenue: +{revenue} · New package: −{charged} · Your margin: {margin}\n"
                "Balance: <b>{balance}</b>",
                revenue=r.money(revenue),
                charged=r.money(charged),
                margin=r.money(revenue - charged),
                balance=r.money(int(p["balance"])),
            ),
        ]
    )


def refunded_notice(p: dict[str, Any], values: dict[str, str], r: Reader) -> str:
    """A paid change that could not be made, to its reseller or the admins (``values``:
    the username, Stars and reason in the reader's words)."""
    t = r.t
    if p.get("audience") == "admins":
        return t._(
            "⚠️ A change of package of <code>{username}</code> (a customer of <b>{name}</b>, "
            "<code>{telegram_id}</code>) paid with {stars} could not be made ({reason}). "
            "Payment #{payment_id} was refunded automatically.",
            name=r.name(p["name"]), telegram_id=p["telegram_id"], payment_id=p["payment_id"],
            **values,
        )  # fmt: skip
    return t._(
        "⚠️ <code>{username}</code> paid {stars} for a change of package that could not be "
        "made ({reason}). The Stars were refunded and the revenue taken back.",
        **values,
    )


def refund_failed_notice(p: dict[str, Any], r: Reader) -> str:
    return r.t._(
        "⛔ The automatic refund of Stars payment #{payment_id} ({stars}, a change of package "
        "of <code>{username}</code>, a customer of <b>{name}</b>) failed: {error}. It stays "
        "pending and the bot keeps asking Telegram by itself, less and less often; "
        "🔁 Ask Telegram again asks now.",
        payment_id=p["payment_id"],
        stars=stars_amount(r, int(p["stars"])),
        username=r.name(p["username"]),
        name=r.name(p["name"]),
        error=r.name(p["error"]),
    )
