"""The texts and keyboards of registering a reseller in chat: who (Telegram's user picker
or a typed id), name, type, collection limit, threshold, the summary and Save."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonRequestUsers,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot import keyboards
from bot.i18n import Translator
from bot.services.resellers import MAX_NAME
from handlers.admin import reseller_callbacks as buttons
from handlers.admin.reseller_form_views import type_buttons, with_problem
from handlers.reader import Reader
from models import Billing

Screen = tuple[str, InlineKeyboardMarkup]
PICK_REQUEST_ID = 1  # the user picker's request, echoed back in users_shared
REMOVE_KEYBOARD = ReplyKeyboardRemove()  # takes the picker off the user's keyboard


def _cancel(t: Translator, data: str = "") -> list[list[InlineKeyboardButton]]:
    """Cancel: the admins' button, or ``data`` (the sub-resellers' registration's)."""
    return [[keyboards.button(t._("✖️ Cancel"), data or buttons.NEW_CANCEL.build())]]


def ask_who(t: Translator, problem: str = "") -> tuple[str, ReplyKeyboardMarkup]:
    """Who to register: Telegram's own user picker under the message, or a typed id."""
    text = t._(
        "➕ <b>New reseller</b>\nTap “👤 Choose a person” below to share their contact, or "
        "type their Telegram id (they must have started this bot). /cancel to stop."
    )
    picker = KeyboardButton(
        t._("👤 Choose a person"),
        request_users=KeyboardButtonRequestUsers(
            PICK_REQUEST_ID, user_is_bot=False, request_name=True, request_username=True
        ),
    )
    keyboard = ReplyKeyboardMarkup([[picker]], resize_keyboard=True, one_time_keyboard=True)
    return with_problem(problem, text), keyboard


def chosen(name: str, telegram_id: int, r: Reader) -> tuple[str, ReplyKeyboardRemove]:
    """Said once the person is known; takes the picker off the keyboard."""
    text = r.t._("👤 {name} (<code>{id}</code>)", name=r.name(name), id=telegram_id)
    return text, REMOVE_KEYBOARD


def unknown_id(telegram_id: int, t: Translator) -> str:
    return t._(
        "I do not know <code>{id}</code>: they have not started this bot. Ask them to send "
        "/start first, or share their contact with the button.",
        id=telegram_id,
    )


def unknown_username(username: str, r: Reader) -> str:
    return r.t._(
        "I do not know @{username}: Telegram does not tell bots who a username is. Share "
        "their contact with the button, or type their numeric id.",
        username=r.name(username),
    )


def not_a_person(t: Translator) -> str:
    return t._("Send a Telegram id like 123456789, or share a contact with the button.")


def already_registered(name: str, r: Reader) -> str:
    return r.t._("They are already a reseller: {name}.", name=r.name(name))


def ask_name(telegram_id: int, r: Reader, problem: str = "", cancel: str = "") -> Screen:
    text = r.t._(
        "What is the name of <code>{id}</code>? (at most {limit} characters)",
        id=telegram_id,
        limit=r.number(MAX_NAME),
    )
    return with_problem(problem, text), InlineKeyboardMarkup(_cancel(r.t, cancel))


def ask_type(name: str, r: Reader) -> Screen:
    t = r.t
    text = t._(
        "Is <b>{name}</b> prepaid (never below zero) or postpaid (may go below zero, down to "
        "a collection limit, and settles in cash)?",
        name=r.name(name),
    )
    rows = [type_buttons(buttons.NEW_TYPE, t), *_cancel(t)]
    return text, InlineKeyboardMarkup(rows)


def ask_limit(name: str, r: Reader, problem: str = "") -> Screen:
    text = r.t._(
        "Collection limit of <b>{name}</b>: how far below zero they may go, like 500 or "
        "500.50; 0 for none.",
        name=r.name(name),
    )
    return with_problem(problem, text), InlineKeyboardMarkup(_cancel(r.t))


def ask_threshold(name: str, r: Reader, problem: str = "", cancel: str = "") -> Screen:
    text = r.t._(
        "Low-balance threshold of <b>{name}</b>: they are alerted when their credit falls "
        "below it, like 50 or 50.50; 0 for no alert.",
        name=r.name(name),
    )
    return with_problem(problem, text), InlineKeyboardMarkup(_cancel(r.t, cancel))


def summary(
    name: str,
    telegram_id: int,
    username: str | None,
    billing: Billing,
    limit: int,
    threshold: int,
    nonce: str,
    r: Reader,
) -> Screen:
    t = r.t
    who = r.name(name + (f" @{username}" if username else ""))
    lines = [
        t._("➕ <b>Register this reseller?</b>"),
        f"👤 {who} (<code>{telegram_id}</code>)",
        t._("Type: postpaid") if billing == Billing.POSTPAID else t._("Type: prepaid"),
    ]
    if billing == Billing.POSTPAID:
        lines.append(t._("Collection limit: {amount}", amount=r.money(limit)))
    lines.append(t._("Low-balance alert below: {amount}", amount=r.money(threshold)))
    lines.append(t._("They will be greeted in their language."))
    save = keyboards.button(t._("✅ Save"), buttons.NEW_SAVE.build(nonce))
    rows = [[save], *_cancel(t)]
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def registered(t: Translator) -> str:
    return t._("✅ Registered; they have been greeted.")


def cancelled(t: Translator) -> str:
    return t._("Nobody was registered.")


def timed_out(t: Translator) -> str:
    return t._("⏱ Nobody was registered: no answer came in time.")


def replaced(t: Translator) -> str:
    return t._("⏹ Nobody was registered: you started something else.")
