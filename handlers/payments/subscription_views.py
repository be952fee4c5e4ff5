"""What a customer sees of its Stars subscription (its renewal every 30 days): the link,
the first payment, stopping it."""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.star_renewals import Offer
from bot.services.stars import StarsError
from handlers.customer import callbacks as customer_buttons
from handlers.payments.renewal_views import refusal
from handlers.payments.views import TITLE_LIMIT, stars_amount
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup | None]


def link_screen(offer: Offer, link: str, r: Reader) -> Screen:
    """What the subscription is, stated before the customer opens Telegram's payment."""
    t = r.t
    text = t._(
        "🔁 <b>Renew every 30 days</b>\n\nSubscription: <code>{username}</code>\n"
        "Plan: {plan}\nTo pay: <b>{stars}</b> now, then every 30 days, charged by Telegram.\n\n"
        "Each payment renews the subscription once. Stop it any time from /status: "
        "the period already paid stays.",
        username=r.name(offer.username),
        plan=r.name(offer.plan_name),
        stars=stars_amount(r, offer.stars),
    )
    pay = InlineKeyboardButton(t._("⭐ Subscribe ({stars})", stars=stars_amount(r, offer.stars)),
                               url=link)  # fmt: skip
    back = keyboards.button(t._("⬅️ Back"), customer_buttons.STATUS.build())
    return text, InlineKeyboardMarkup([[pay], [back]])


def invoice_title(t: Translator) -> str:
    return t._("Automatic renewal")[:TITLE_LIMIT]


def cannot_subscribe(exc: StarsError, t: Translator) -> str:
    if exc.code == "already_subscribed":
        return t._("Automatic renewal is already on; stop it from /status first.")
    return refusal(exc.code, t)


def no_subscription(t: Translator) -> str:
    return t._("There is no automatic renewal to stop.")


def stopped(until: dt.datetime | None, r: Reader) -> str:
    if until is None:
        return r.t._("✖️ Automatic renewal stopped: Telegram charges no more.")
    return r.t._(
        "✖️ Automatic renewal stopped: Telegram charges no more. The period paid runs until {date}.",
        date=r.date(until),
    )


def not_stopped(t: Translator) -> str:
    return t._("Telegram did not stop the automatic renewal. Please try again later.")


def left_plan_refunded(stars: int, r: Reader) -> str:
    """A subscription's charge for the package the customer changed from: not renewed."""
    return r.t._(
        "↩️ Telegram charged {stars} to renew your old package automatically, but your "
        "package has changed: the Stars were given back and automatic renewal stopped. "
        "Renew your new package from /status.",
        stars=stars_amount(r, stars),
    )
