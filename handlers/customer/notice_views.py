"""The customer's notification choices screen."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.notice_choices import Choices
from handlers.common import clip
from handlers.customer import callbacks
from handlers.reader import Reader
from models import ReminderChoice


def button(t: Translator, customer_id: int) -> InlineKeyboardButton:
    """On a subscription's status: open that subscription's choices."""
    return keyboards.button(t._("🔔 Notifications"), callbacks.NOTICES_OF.build(customer_id))


def choices(found: Choices, r: Reader, *, several: bool) -> tuple[str, InlineKeyboardMarkup]:
    """One subscription's choices; each button asks for the opposite of what is set.
    ``several``: Back goes to the question which subscription, not to the status."""
    t, cid = r.t, found.customer_id
    if found.reminders == ReminderChoice.ALL:
        reminders = t._("⏰ Expiry reminders: <b>all</b> of them before the expiry.")
        switch_reminders = t._("⏰ Only the last reminder")
        reminders_to = ReminderChoice.LAST
    else:
        reminders = t._("⏰ Expiry reminders: <b>only the last one</b> before the expiry.")
        switch_reminders = t._("⏰ All reminders")
        reminders_to = ReminderChoice.ALL
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
    promotions_to = "off" if found.promotions else "on"
    back = callbacks.NOTICES.build() if several else callbacks.STATUS.build()
    rows = [
        [keyboards.button(switch_reminders, callbacks.NOTICES_SET.build(cid, "r", reminders_to))],
        [keyboards.button(switch_promotions, callbacks.NOTICES_SET.build(cid, "p", promotions_to))],
        [keyboards.button(t._("⬅️ Back"), back)],
    ]
    return text, InlineKeyboardMarkup(rows)


def which(found: Sequence[Choices], r: Reader) -> tuple[str, InlineKeyboardMarkup]:
    """A family chat: which subscription's notifications to change."""
    t = r.t
    text = t._("🔔 <b>Notifications</b>\nEach subscription has its own. Which one?")
    rows = [
        [keyboards.button(f"👤 {clip(c.username, 32)}", callbacks.NOTICES_OF.build(c.customer_id))]
        for c in found
    ]
    rows.append([keyboards.button(t._("⬅️ Back"), callbacks.STATUS.build())])
    return text, InlineKeyboardMarkup(rows)


def not_here(r: Reader) -> str:
    return r.t._("That subscription is not linked to this chat.")
