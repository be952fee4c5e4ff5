"""The texts and keyboards of the resellers' forms: searching the list, editing a field of
a reseller, and registering a new one. Pure functions of plain values and the reader."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.money import AmountError
from bot.services.admin_log import ActionError
from bot.services.reseller_search import Field
from bot.services.resellers import MAX_NAME, ResellerView
from handlers.admin import callbacks
from handlers.admin import reseller_callbacks as buttons
from handlers.downline import admin_views as downline_views
from handlers.reader import Reader
from models import Billing

Screen = tuple[str, InlineKeyboardMarkup]


def with_problem(problem: str, text: str) -> str:
    return f"⚠️ {problem}\n\n{text}" if problem else text


# --- search ------------------------------------------------------------------------------


def search_prompt(t: Translator) -> Screen:
    text = t._("🔎 Send a name, an @username or a Telegram id to search for.")
    back = keyboards.button(t._("⬅️ Resellers"), callbacks.RESELLERS.build(0))
    return text, InlineKeyboardMarkup([[back]])


def search_cancelled(t: Translator) -> str:
    return t._("Search cancelled.")


def search_timed_out(t: Translator) -> str:
    return t._("⏱ Search cancelled: nothing came in time.")


def search_replaced(t: Translator) -> str:
    return t._("⏹ Search cancelled: you started something else.")


# --- edits -------------------------------------------------------------------------------


def field_label(field: Field, t: Translator) -> str:
    return {
        Field.BILLING: t._("Type"),
        Field.LIMIT: t._("Collection limit"),
        Field.THRESHOLD: t._("Low-balance threshold"),
        Field.NAME: t._("Name"),
    }[field]


def edit_menu(who: ResellerView, r: Reader) -> Screen:
    t, tid = r.t, who.telegram_id
    fields = [Field.BILLING, Field.THRESHOLD, Field.NAME]
    if who.postpaid:
        fields.insert(1, Field.LIMIT)
    rows = [[keyboards.button(field_label(f, t), buttons.EDIT.build(tid, f))] for f in fields]
    rows.append([downline_views.depth_button(tid, t)])
    rows.append([keyboards.button(t._("⬅️ Back"), callbacks.CARD.build(tid))])
    text = t._("✏️ What do you want to change for <b>{name}</b>?", name=r.name(who.name))
    return text, InlineKeyboardMarkup(rows)


def type_buttons(codec: buttons.Choice, t: Translator) -> list[InlineKeyboardButton]:
    return [
        keyboards.button(t._("Prepaid"), codec.build(Billing.PREPAID)),
        keyboards.button(t._("Postpaid"), codec.build(Billing.POSTPAID)),
    ]


def edit_prompt(who: ResellerView, field: Field, r: Reader, problem: str = "") -> Screen:
    """Ask for the new value of ``field`` (the type by buttons, the others typed)."""
    t = r.t
    name = r.name(who.name)
    back = [keyboards.button(t._("✖️ Cancel"), callbacks.CARD.build(who.telegram_id))]
    if field == Field.BILLING:
        current = t._("postpaid") if who.postpaid else t._("prepaid")
        text = t._(
            "<b>{name}</b> is {type}. Prepaid resellers cannot go below zero; postpaid ones "
            "may, down to their collection limit, and settle in cash.",
            name=name,
            type=current,
        )
        rows = [type_buttons(buttons.EDIT_TYPE, t), back]
        return with_problem(problem, text), InlineKeyboardMarkup(rows)
    if field == Field.LIMIT:
        text = t._(
            "Send the new collection limit of <b>{name}</b> (now {amount}): how far below "
            "zero they may go, like 500 or 500.50; 0 for none.",
            name=name,
            amount=r.money(who.credit_limit),
        )
    elif field == Field.THRESHOLD:
        text = t._(
            "Send the new low-balance threshold of <b>{name}</b> (now {amount}): they are "
            "alerted below it, like 50 or 50.50; 0 for no alert.",
            name=name,
            amount=r.money(who.low_balance_threshold),
        )
    else:
        text = t._(
            "Send the new name of <b>{name}</b> (at most {limit} characters).",
            name=name,
            limit=r.number(MAX_NAME),
        )
    return with_problem(problem, text), InlineKeyboardMarkup([back])


def amount_problem(exc: AmountError, r: Reader) -> str:
    t = r.t
    if exc.code == "negative":
        return t._("It cannot be negative: send 0 or more, like 100.50.")
    if exc.code == "too_many_decimals":
        return t._("Use at most two decimals, like 100.50.")
    if exc.code == "too_large":
        return t._(
            "The amount is too large; the most is {amount}.",
            amount=r.money(exc.params["maximum"]),
        )
    return t._("That is not a number. Send an amount like 100 or 100.50.")


def edit_refusal(exc: ActionError, r: Reader) -> str:
    """Why an edit was refused, in the reader's words."""
    t, p = r.t, exc.params
    if exc.code == "still_owes":
        return t._(
            "They owe {amount}: a reseller who owes cannot become prepaid. Record the cash "
            "received first.",
            amount=r.money(int(str(p["owed"]))),
        )
    if exc.code == "sub_reseller_prepaid":
        return t._(
            "A sub-reseller is always prepaid: its parent gives it credits and carries the risk."
        )
    if exc.code == "limit_below_owed":
        return t._(
            "They already use {amount} of credit: the limit cannot be lower than that.",
            amount=r.money(int(str(p["owed"]))),
        )
    if exc.code == "prepaid_no_limit":
        return t._("A prepaid reseller has no collection limit; make them postpaid first.")
    if exc.code == "bad_name":
        return t._(
            "A name is 1 to {limit} characters; that one has {length}.",
            limit=r.number(int(str(p["limit"]))),
            length=r.number(int(str(p["length"]))),
        )
    if exc.code == "negative":
        return t._("It cannot be negative: send 0 or more, like 100.50.")
    return t._("That is already the value: nothing changed.")


def saved(t: Translator) -> str:
    return t._("✅ Saved; they have been told.")


def not_text(t: Translator) -> str:
    return t._("Send it as a text message, please.")


def edit_cancelled(t: Translator) -> str:
    return t._("Nothing was changed.")


def edit_timed_out(t: Translator) -> str:
    return t._("⏱ Nothing was changed: no answer came in time.")


def edit_replaced(t: Translator) -> str:
    return t._("⏹ Nothing was changed: you started something else.")
