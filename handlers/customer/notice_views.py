"""The customer's notification choices screen."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.notice_choices import Choices
from handlers.customer import callbacks
from handlers.reader import Reader
from models import ReminderChoice


def button(t: Translator) -> InlineKeyboardButton:
    """On the customer's screens: open the choices."""
    return keyboards.button(t._("🔔 Notifications"), callbacks.NOTICES.build())


def choices(found: Choices, r: Reader) -> tuple[str, InlineKeyboardMarkup]:
    t = r.t
    if found.reminders == ReminderChoice.ALL:
        reminders = t._("⏰ Expiry reminders: <b>all</b> of them before the expiry.")
        switch_reminders = t._("⏰ Only the last reminder")
    else:
        reminders = t._("⏰ Expiry reminders: <b>only the last one</b> before the expiry.")
        switch_reminders = t._("⏰ All reminders")
    if found.promotions:
        promotions = t._("🎁 Offers and news: <b>on</b>.")
        switch_promotions = t._("🎁 Turn offers and news off")
    else:
        promotions = t._("🎁 Offers and news: <b>off</b>.")
        switch_promotions = t._("🎁 Turn offers and news on")
    text = "\n".join(
        [
            t._("🔔 <b>Notifications for {username}</b>", username=r.name(found.username)),
            reminders,
            promotions,
            t._("Service notices, such as maintenance, always come."),
        ]
    )
    rows = [
        [keyboards.button(switch_reminders, callbacks.NOTICES_REMINDERS.build())],
        [keyboards.button(switch_promotions, callbacks.NOTICES_PROMOTIONS.build())],
        [keyboards.button(t._("⬅️ Back"), callbacks.STATUS.build())],
    ]
    return text, InlineKeyboardMarkup(rows)
