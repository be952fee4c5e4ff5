"""The texts and keyboards the two add / remove credit forms share: an admin's, for any
reseller, and a parent's, for its sub-reseller. Each step shows who the form is for (not
editable) and the answers so far above its question; the buttons are the form's own
(``FormButtons``), the heading and the summary's balances are each form's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.money import AmountError
from bot.services import ledger
from bot.services.admin_log import ActionError
from bot.services.credits import Action
from handlers import calendar_views
from handlers.credit_form_parts import FormButtons, FormDraft
from handlers.reader import Reader
from handlers.topup.views import amount_problem
from models import TxType

Screen = tuple[str, InlineKeyboardMarkup]


@dataclass(frozen=True)
class Head:
    """Who the form is for, as its screens show them, and the form's buttons."""

    telegram_id: int
    lines: tuple[str, ...]
    buttons: FormButtons


def who(name: str, telegram_id: int, r: Reader) -> list[str]:
    """The heading's first lines: whose credits, and their Telegram id."""
    t = r.t
    return [
        t._("➕➖ <b>Credits for {name}</b>", name=r.name(name)),  # noqa: RUF001
        t._("Telegram id: <code>{id}</code>", id=telegram_id),
    ]


# --- the steps ---------------------------------------------------------------------------


def day(r: Reader, value: dt.date) -> str:
    """A day as the reader writes dates (noon, so no zone moves it to another day)."""
    return r.date(dt.datetime.combine(value, dt.time(12), tzinfo=r.zone))


def _answers(d: FormDraft, r: Reader) -> list[str]:
    t, lines = r.t, []
    if d.action is not None:
        lines.append(t._("Action: Add") if d.action == Action.ADD else t._("Action: Remove"))
    if d.tx_type is not None:
        if d.tx_type == TxType.PURCHASE:
            lines.append(t._("Transaction type: Purchase"))
        else:
            lines.append(t._("Transaction type: Adjustment"))
    if d.amount is not None:
        lines.append(t._("Credits: <b>{amount}</b>", amount=r.money(d.amount)))
    if d.comment:
        lines.append(t._("Comment: {comment}", comment=escape(d.comment)))
    if d.last_day is not None:
        lines.append(t._("Usable until: {date}, included", date=day(r, d.last_day)))
    return lines


def _screen(
    head: Head,
    d: FormDraft,
    r: Reader,
    question: str,
    rows: list[list[InlineKeyboardButton]],
    problem: str,
) -> Screen:
    lines = [*head.lines, *_answers(d, r), "", question]
    if problem:
        lines += ["", f"⚠️ {problem}"]
    cancel = keyboards.button(r.t._("✖️ Cancel"), head.buttons.card.build(head.telegram_id))
    return "\n".join(lines), InlineKeyboardMarkup([*rows, [cancel]])


def ask_action(head: Head, d: FormDraft, r: Reader, problem: str = "") -> Screen:
    t, tid, action = r.t, head.telegram_id, head.buttons.action
    row = [
        keyboards.button(t._("➕ Add"), action.build(tid, Action.ADD)),
        keyboards.button(t._("➖ Remove"), action.build(tid, Action.REMOVE)),  # noqa: RUF001
    ]
    return _screen(head, d, r, t._("Add credits or remove them?"), [row], problem)


def ask_type(head: Head, d: FormDraft, r: Reader, problem: str = "") -> Screen:
    t, tid, kind = r.t, head.telegram_id, head.buttons.type
    row = [
        keyboards.button(t._("🛒 Purchase"), kind.build(tid, TxType.PURCHASE)),
        keyboards.button(t._("🔧 Adjustment"), kind.build(tid, TxType.ADJUSTMENT)),
    ]
    question = t._("Which kind? A purchase (credits bought) or an adjustment (a correction).")
    return _screen(head, d, r, question, [row], problem)


def ask_amount(head: Head, d: FormDraft, r: Reader, bound: str, problem: str = "") -> Screen:
    """``bound``: the form's line on the most that can be moved ("" for none)."""
    question = r.t._("How many credits? Send a number with at most two decimals, like 100.50.")
    if bound:
        question += "\n" + bound
    return _screen(head, d, r, question, [], problem)


def at_most_removed(amount: int, r: Reader) -> str:
    return r.t._("At most {amount} can be removed.", amount=r.money(amount))


def ask_comment(head: Head, d: FormDraft, r: Reader, problem: str = "") -> Screen:
    t = r.t
    question = t._(
        "Send a comment (at most 255 characters; it is logged and the reseller sees it), or skip."
    )
    skip = keyboards.button(t._("⏭ Skip"), head.buttons.skip.build(head.telegram_id))
    return _screen(head, d, r, question, [[skip]], problem)


def ask_expiry(
    head: Head,
    d: FormDraft,
    shown: dt.date,
    first: dt.date,
    last: dt.date,
    r: Reader,
    problem: str = "",
) -> Screen:
    """The calendar shows ``shown``'s month and offers ``first``..``last``."""
    t, tid, keys = r.t, head.telegram_id, head.buttons
    question = t._(
        "Do these credits expire? Pick the last day they can be used, or send it as "
        "yyyy-mm-dd (like {example}), or skip: then they never expire.",
        example=day(r, dt.date(first.year, 12, 31)),
    )
    rows = calendar_views.month(keys.calendar, tid, shown, first, last, r)
    rows.append([keyboards.button(t._("⏭ No expiry"), keys.skip.build(tid))])
    return _screen(head, d, r, question, rows, problem)


def signed(d: FormDraft) -> int:
    """What the form adds to the reseller's balance (negative for a removal)."""
    amount = d.amount or 0
    return amount if d.action == Action.ADD else -amount


def before_after(now: ledger.Balance, change: int, r: Reader) -> list[str]:
    """A balance and what is available, before and after ``change``."""
    t = r.t
    return [
        t._(
            "Balance: {before} → <b>{after}</b>",
            before=r.money(now.balance),
            after=r.money(now.balance + change),
        ),
        t._(
            "Available: {before} → <b>{after}</b>",
            before=r.money(now.available),
            after=r.money(now.available + change),
        ),
    ]


def summary(head: Head, d: FormDraft, r: Reader, body: list[str], problem: str = "") -> Screen:
    """What Save will do: ``body`` says it with the balances before and after."""
    t = r.t
    lines = [t._("<b>Check and save</b>"), *body]
    save = keyboards.button(t._("💾 Save"), head.buttons.save.build(head.telegram_id, d.nonce))
    return _screen(head, d, r, "\n".join(lines), [[save]], problem)


# --- what was wrong with an answer, and the form's ends -----------------------------------


def bad_amount(exc: AmountError, r: Reader) -> str:
    return amount_problem(exc, r)


def problem(exc: ActionError, r: Reader) -> str:
    """A refused comment or expiry date, in the reader's words."""
    t, p = r.t, exc.params
    if exc.code == "comment_too_long":
        return t._(
            "The comment is {length} characters long; at most {limit} are allowed.",
            length=r.number(int(str(p["length"]))),
            limit=r.number(int(str(p["limit"]))),
        )
    if exc.code == "date_in_past":
        return t._(
            "That day is in the past; pick today ({today}) or a later day.",
            today=day(r, dt.date.fromisoformat(str(p["today"]))),
        )
    if exc.code == "date_too_far":
        return t._(
            "That day is too far ahead; the latest is {date}.",
            date=day(r, dt.date.fromisoformat(str(p["latest"]))),
        )
    return t._("That is not a date. Send it as yyyy-mm-dd, like 2026-12-31, or pick a day.")


def use_buttons(t: Translator) -> str:
    return t._("Please answer with the buttons.")


def another_form(t: Translator) -> str:
    return t._("That button belongs to another form; nothing was changed.")


def already_saved(t: Translator) -> str:
    return t._("This was already saved; nothing was changed again.")


def no_longer_open(t: Translator) -> str:
    return t._("This form is no longer open; nothing was changed.")


def cancelled(t: Translator) -> str:
    return t._("No credits were moved.")


def timed_out(t: Translator) -> str:
    return t._("⏱ No credits were moved: the form was left unanswered.")


def replaced(t: Translator) -> str:
    return t._("⏹ No credits were moved: you started something else.")
