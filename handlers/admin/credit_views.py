"""Every text and keyboard of the add / remove credit form: each step shows the form so
far (the reseller, not editable, and the answers) above its question, then the summary
with the balance before and after, and the note under the card once saved."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.money import AmountError
from bot.services import ledger
from bot.services.admin_log import ActionError
from bot.services.credits import Action
from bot.services.resellers import ResellerView
from bot.services.wallet import WalletChange
from handlers import calendar_views
from handlers.admin import callbacks
from handlers.admin import credit_callbacks as buttons
from handlers.admin.credit_draft import CreditDraft
from handlers.reader import Reader
from handlers.topup.views import amount_problem
from models import TxType

Screen = tuple[str, InlineKeyboardMarkup]
Notice = tuple[str, InlineKeyboardMarkup | None]


def _day(r: Reader, day: dt.date) -> str:
    """A day as the reader writes dates (noon, so no zone moves it to another day)."""
    return r.date(dt.datetime.combine(day, dt.time(12), tzinfo=r.zone))


def _form(who: ResellerView, d: CreditDraft, r: Reader) -> list[str]:
    """The form so far: who (not editable) and what was answered."""
    t = r.t
    lines = [
        t._("➕➖ <b>Credits for {name}</b>", name=r.name(who.name)),  # noqa: RUF001
        t._("Telegram id: <code>{id}</code>", id=who.telegram_id),
        t._("Type: postpaid") if who.postpaid else t._("Type: prepaid"),
    ]
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
        lines.append(t._("Usable until: {date}, included", date=_day(r, d.last_day)))
    return lines


def _screen(
    who: ResellerView,
    d: CreditDraft,
    r: Reader,
    question: str,
    rows: list[list[InlineKeyboardButton]],
    problem: str,
) -> Screen:
    lines = [*_form(who, d, r), "", question]
    if problem:
        lines += ["", f"⚠️ {problem}"]
    cancel = keyboards.button(r.t._("✖️ Cancel"), callbacks.CARD.build(who.telegram_id))
    return "\n".join(lines), InlineKeyboardMarkup([*rows, [cancel]])


def ask_action(who: ResellerView, d: CreditDraft, r: Reader, problem: str = "") -> Screen:
    t, tid = r.t, who.telegram_id
    row = [
        keyboards.button(t._("➕ Add"), buttons.ACTION.build(tid, Action.ADD)),
        keyboards.button(t._("➖ Remove"), buttons.ACTION.build(tid, Action.REMOVE)),  # noqa: RUF001
    ]
    return _screen(who, d, r, t._("Add credits or remove them?"), [row], problem)


def ask_type(who: ResellerView, d: CreditDraft, r: Reader, problem: str = "") -> Screen:
    t, tid = r.t, who.telegram_id
    row = [
        keyboards.button(t._("🛒 Purchase"), buttons.TYPE.build(tid, TxType.PURCHASE)),
        keyboards.button(t._("🔧 Adjustment"), buttons.TYPE.build(tid, TxType.ADJUSTMENT)),
    ]
    question = t._("Which kind? A purchase (credits bought) or an adjustment (a correction).")
    return _screen(who, d, r, question, [row], problem)


def ask_amount(
    who: ResellerView, d: CreditDraft, maximum: int | None, r: Reader, problem: str = ""
) -> Screen:
    """``maximum``: for a removal, the most that can be removed."""
    t = r.t
    question = t._("How many credits? Send a number with at most two decimals, like 100.50.")
    if maximum is not None:
        question += "\n" + t._("At most {amount} can be removed.", amount=r.money(maximum))
    return _screen(who, d, r, question, [], problem)


def ask_comment(who: ResellerView, d: CreditDraft, r: Reader, problem: str = "") -> Screen:
    t = r.t
    question = t._(
        "Send a comment (at most 255 characters; it is logged and the reseller sees it), or skip."
    )
    skip = keyboards.button(t._("⏭ Skip"), buttons.SKIP.build(who.telegram_id))
    return _screen(who, d, r, question, [[skip]], problem)


def ask_expiry(
    who: ResellerView,
    d: CreditDraft,
    shown: dt.date,
    first: dt.date,
    last: dt.date,
    r: Reader,
    problem: str = "",
) -> Screen:
    """The calendar shows ``shown``'s month and offers ``first``..``last``."""
    t, tid = r.t, who.telegram_id
    question = t._(
        "Do these credits expire? Pick the last day they can be used, or send it as "
        "yyyy-mm-dd (like {example}), or skip: then they never expire.",
        example=_day(r, dt.date(first.year, 12, 31)),
    )
    rows = calendar_views.month(buttons.CALENDAR, tid, shown, first, last, r)
    rows.append([keyboards.button(t._("⏭ No expiry"), buttons.SKIP.build(tid))])
    return _screen(who, d, r, question, rows, problem)


def summary(
    who: ResellerView, d: CreditDraft, now: ledger.Balance, r: Reader, problem: str = ""
) -> Screen:
    """What Save will do, with the balance and what is available before and after."""
    t = r.t
    amount = d.amount or 0
    signed = amount if d.action == Action.ADD else -amount
    lines = [
        t._("<b>Check and save</b>"),
        t._(
            "Balance: {before} → <b>{after}</b>",
            before=r.money(now.balance),
            after=r.money(now.balance + signed),
        ),
        t._(
            "Available: {before} → <b>{after}</b>",
            before=r.money(now.available),
            after=r.money(now.available + signed),
        ),
    ]
    save = keyboards.button(t._("💾 Save"), buttons.SAVE.build(who.telegram_id, d.nonce))
    return _screen(who, d, r, "\n".join(lines), [[save]], problem)


def saved(change: WalletChange, action: Action, r: Reader) -> str:
    """The note under the card once saved."""
    t, b, amount = r.t, change.balance, change.movement.amount
    before = b.balance - amount if action == Action.ADD else b.balance + amount
    values = {"amount": r.money(amount), "before": r.money(before), "after": r.money(b.balance)}
    if action == Action.ADD:
        return t._("✅ Added {amount}. Balance: {before} → {after}. They have been told.", **values)
    return t._("✅ Removed {amount}. Balance: {before} → {after}. They have been told.", **values)


# --- what was wrong with an answer ------------------------------------------------------


def bad_amount(exc: AmountError, r: Reader) -> str:
    return amount_problem(exc, r)


def too_much(maximum: int, r: Reader) -> str:
    if maximum <= 0:
        return r.t._("Nothing can be removed: they are already at their lowest balance.")
    return r.t._(
        "That is more than can be removed; at most {amount} can be removed.",
        amount=r.money(maximum),
    )


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
            today=_day(r, dt.date.fromisoformat(str(p["today"]))),
        )
    if exc.code == "date_too_far":
        return t._(
            "That day is too far ahead; the latest is {date}.",
            date=_day(r, dt.date.fromisoformat(str(p["latest"]))),
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


# --- what the reseller is told (rendered by the outbox at send time) ---------------------


def _notice(p: dict[str, Any], r: Reader, added: bool) -> Notice:
    t, amount = r.t, r.money(p["amount"])
    if added:
        lines = [t._("➕ An admin added {amount} to your balance.", amount=amount)]
    else:
        lines = [t._("➖ An admin removed {amount} from your balance.", amount=amount)]  # noqa: RUF001
    lines.append(
        t._(
            "Balance: {balance} (available {available}).",
            balance=r.money(p["balance"]),
            available=r.money(p["available"]),
        )
    )
    if p.get("expires_at"):
        # They expire at the start of the day after the last day they can be used.
        last = dt.datetime.fromisoformat(p["expires_at"]) - dt.timedelta(seconds=1)
        lines.append(t._("They can be used until {date}, included.", date=r.date(last)))
    if p.get("comment"):
        lines.append(t._("Comment: {comment}", comment=escape(p["comment"])))
    return "\n".join(lines), None


def added_notice(p: dict[str, Any], r: Reader) -> Notice:
    """What the outbox tells the reseller of credits added (``credits.tell_reseller``)."""
    return _notice(p, r, added=True)


def removed_notice(p: dict[str, Any], r: Reader) -> Notice:
    """... and of credits removed."""
    return _notice(p, r, added=False)
