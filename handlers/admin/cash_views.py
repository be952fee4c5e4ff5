"""What the cash-received screens say: the card's postpaid buttons, each step of recording
cash from a postpaid reseller, its refusals, and the notice the reseller gets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.admin_log import ActionError
from bot.services.cash import CashReceipt
from bot.services.resellers import ResellerView
from handlers.admin import callbacks
from handlers.admin import postpaid_callbacks as buttons
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup]
BUILT_IN = ("cash", "bank")  # the ways of paying offered besides the payment methods


@dataclass(frozen=True)
class Summary:
    """What the Save screen shows."""

    name: str
    amount: int
    method: str
    method_name: str  # a payment method's name, or "" for a built-in or typed method
    reference: str
    comment: str
    balance: int  # the reseller's balance now


def card_buttons(who: ResellerView, t: Translator) -> list[list[InlineKeyboardButton]]:
    """The card's row: cash received (postpaid only) and the statement."""
    tid = who.telegram_id
    row = [keyboards.button(t._("📄 Statement"), buttons.STATEMENT.build(tid))]
    if who.postpaid:
        row.insert(0, keyboards.button(t._("💵 Cash received"), buttons.CASH.build(tid)))
    return [row]


def _cancel_row(t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("✖️ Cancel"), buttons.CASH_CANCEL.build())]


def _with_problem(problem: str, text: str) -> str:
    return f"⚠️ {problem}\n\n{text}" if problem else text


def amount_prompt(name: str, owed: int, r: Reader, problem: str = "") -> Screen:
    text = r.t._(
        "💵 <b>Cash received from {name}</b>\nThey owe {owed}.\n\n"
        "Send the amount received, like 50 or 50.25.",
        name=r.name(name),
        owed=r.money(owed),
    )
    return _with_problem(problem, text), InlineKeyboardMarkup([_cancel_row(r.t)])


def method_label(code: str, t: Translator) -> str:
    """A built-in way of paying in the reader's words; anything else as it was given."""
    if code == "cash":
        return t._("Cash")
    if code == "bank":
        return t._("Bank transfer")
    return code


def method_prompt(names: Sequence[str], r: Reader, problem: str = "") -> Screen:
    """``names``: the choices' labels, built-in first (empty: use ``method_label``)."""
    text = r.t._(
        "How was it paid? Tap one, or type it in a few words (at most {limit} characters).",
        limit=r.number(32),
    )
    rows = [
        [keyboards.button(name or method_label(BUILT_IN[i], r.t), buttons.CASH_METHOD.build(i))]
        for i, name in enumerate(names)
    ]
    return _with_problem(problem, text), InlineKeyboardMarkup([*rows, _cancel_row(r.t)])


def _skip_keyboard(t: Translator) -> InlineKeyboardMarkup:
    skip = keyboards.button(t._("⏭ Skip"), buttons.CASH_SKIP.build())
    return InlineKeyboardMarkup([[skip], _cancel_row(t)])


def reference_prompt(r: Reader, problem: str = "") -> Screen:
    text = r.t._(
        "Send a reference for this payment (a receipt or transaction number, at most "
        "{limit} characters), or skip.",
        limit=r.number(64),
    )
    return _with_problem(problem, text), _skip_keyboard(r.t)


def comment_prompt(r: Reader, problem: str = "") -> Screen:
    text = r.t._(
        "Send a comment for the log (at most {limit} characters), or skip.",
        limit=r.number(255),
    )
    return _with_problem(problem, text), _skip_keyboard(r.t)


def summary(s: Summary, nonce: str, r: Reader) -> Screen:
    t = r.t
    owed_before, after = max(0, -s.balance), s.balance + s.amount
    lines = [
        t._("💵 <b>Record cash received?</b>"),
        t._("Reseller: {name}", name=r.name(s.name)),
        t._("Amount: <b>{amount}</b>", amount=r.money(s.amount)),
        t._("Paid by: {method}", method=escape(s.method_name or method_label(s.method, t))),
    ]
    if s.reference:
        lines.append(t._("Reference: {reference}", reference=escape(s.reference)))
    if s.comment:
        lines.append(t._("Comment: {comment}", comment=escape(s.comment)))
    lines += [
        "",
        t._(
            "Owed: {before} → <b>{after}</b>",
            before=r.money(owed_before),
            after=r.money(max(0, -after)),
        ),
    ]
    if after > 0:
        lines.append(t._("They will have {amount} in credit.", amount=r.money(after)))
    keyboard = InlineKeyboardMarkup(
        [[keyboards.button(t._("✅ Save"), buttons.CASH_SAVE.build(nonce))], _cancel_row(t)]
    )
    return "\n".join(lines), keyboard


def saved(receipt: CashReceipt, r: Reader) -> Screen:
    t, who = r.t, receipt.reseller
    if receipt.replayed:
        text = t._("This payment was already recorded; nothing was added twice.")
    else:
        text = t._(
            "✅ Recorded {amount} received from {name}. They owe {owed} now; they have been told.",
            amount=r.money(receipt.amount),
            name=r.name(who.name),
            owed=r.money(receipt.owed_after),
        )
    card = keyboards.button(t._("👤 Reseller card"), callbacks.CARD.build(who.telegram_id))
    return text, InlineKeyboardMarkup([[card]])


def already_saved(t: Translator) -> str:
    return t._("This payment was already recorded.")


def stale_save(t: Translator) -> str:
    return t._("This screen is out of date. Open the reseller's card to record cash again.")


def buttons_expected(t: Translator) -> str:
    return t._("Use the buttons under the summary: ✅ Save or ✖️ Cancel.")


def refusal(exc: ActionError, r: Reader) -> str:
    """Why the cash was not recorded, or why an answer was not taken."""
    t = r.t
    if exc.code == "not_postpaid":
        return t._("Cash received is recorded for postpaid resellers only.")
    if exc.code in ("method_too_long", "reference_too_long", "comment_too_long"):
        return t._(
            "That is {length} characters long; at most {limit} are allowed.",
            length=r.number(int(str(exc.params["length"]))),
            limit=r.number(int(str(exc.params["limit"]))),
        )
    return t._("Nothing was recorded: that payment could not be saved. Please start again.")


def cancelled(t: Translator) -> str:
    return t._("No cash was recorded.")


def timed_out(t: Translator) -> str:
    return t._("⏱ No cash was recorded: no answer came in time.")


def replaced(t: Translator) -> str:
    return t._("⏹ No cash was recorded: you started something else.")


def notice(p: dict[str, Any], r: Reader) -> tuple[str, None]:
    """The reseller's notice that an admin recorded cash from them."""
    t = r.t
    text = t._("💵 An admin recorded {amount} received from you.", amount=r.money(p["amount"]))
    if p["owed"] > 0:
        text += "\n" + t._("You now owe {owed}.", owed=r.money(p["owed"]))
    else:
        text += "\n" + t._(
            "You owe nothing now. Balance: {balance}.", balance=r.money(p["balance"])
        )
    return text, None
