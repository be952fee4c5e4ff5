"""The texts and keyboards of a parent's add / remove credit form for its sub-reseller: the
admin's form (the same fields and words), with both balances in the summary."""

from __future__ import annotations

import datetime as dt
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.allocation import Allocation, Balances
from bot.services.credits import Action
from bot.services.grants import Part
from handlers import calendar_views
from handlers.downline import callbacks as buttons
from handlers.downline.drafts import AllocationDraft
from handlers.downline.views import usable_until
from handlers.reader import Reader
from models import TxType

Screen = tuple[str, InlineKeyboardMarkup]


def _day(r: Reader, day: dt.date) -> str:
    return r.date(dt.datetime.combine(day, dt.time(12), tzinfo=r.zone))


def _form(b: Balances, d: AllocationDraft, r: Reader) -> list[str]:
    t, who = r.t, b.child
    lines = [
        t._("➕➖ <b>Credits for {name}</b>", name=r.name(who.name)),  # noqa: RUF001
        t._("Telegram id: <code>{id}</code>", id=who.telegram_id),
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
    b: Balances,
    d: AllocationDraft,
    r: Reader,
    question: str,
    rows: list[list[InlineKeyboardButton]],
    problem: str,
) -> Screen:
    lines = [*_form(b, d, r), "", question]
    if problem:
        lines += ["", f"⚠️ {problem}"]
    cancel = keyboards.button(r.t._("✖️ Cancel"), buttons.CARD.build(b.child.telegram_id))
    return "\n".join(lines), InlineKeyboardMarkup([*rows, [cancel]])


def ask_action(b: Balances, d: AllocationDraft, r: Reader, problem: str = "") -> Screen:
    t, tid = r.t, b.child.telegram_id
    row = [
        keyboards.button(t._("➕ Add"), buttons.ACTION.build(tid, Action.ADD)),
        keyboards.button(t._("➖ Remove"), buttons.ACTION.build(tid, Action.REMOVE)),  # noqa: RUF001
    ]
    return _screen(b, d, r, t._("Add credits or remove them?"), [row], problem)


def ask_type(b: Balances, d: AllocationDraft, r: Reader, problem: str = "") -> Screen:
    t, tid = r.t, b.child.telegram_id
    row = [
        keyboards.button(t._("🛒 Purchase"), buttons.TYPE.build(tid, TxType.PURCHASE)),
        keyboards.button(t._("🔧 Adjustment"), buttons.TYPE.build(tid, TxType.ADJUSTMENT)),
    ]
    question = t._("Which kind? A purchase (credits bought) or an adjustment (a correction).")
    return _screen(b, d, r, question, [row], problem)


def ask_amount(b: Balances, d: AllocationDraft, r: Reader, problem: str = "") -> Screen:
    """With the most that can be moved: the parent's available, or the child's."""
    t = r.t
    question = t._("How many credits? Send a number with at most two decimals, like 100.50.")
    if d.action == Action.REMOVE:
        question += "\n" + t._("At most {amount} can be removed.", amount=r.money(b.can_take))
    else:
        question += "\n" + t._("You have {amount} available to give.", amount=r.money(b.can_give))
    return _screen(b, d, r, question, [], problem)


def ask_comment(b: Balances, d: AllocationDraft, r: Reader, problem: str = "") -> Screen:
    t = r.t
    question = t._(
        "Send a comment (at most 255 characters; it is logged and the reseller sees it), or skip."
    )
    skip = keyboards.button(t._("⏭ Skip"), buttons.SKIP.build(b.child.telegram_id))
    return _screen(b, d, r, question, [[skip]], problem)


def ask_expiry(
    b: Balances,
    d: AllocationDraft,
    shown: dt.date,
    first: dt.date,
    last: dt.date,
    r: Reader,
    problem: str = "",
) -> Screen:
    t, tid = r.t, b.child.telegram_id
    question = t._(
        "Do these credits expire? Pick the last day they can be used, or send it as "
        "yyyy-mm-dd (like {example}), or skip: then they never expire.",
        example=_day(r, dt.date(first.year, 12, 31)),
    )
    rows = calendar_views.month(buttons.CALENDAR, tid, shown, first, last, r)
    rows.append([keyboards.button(t._("⏭ No expiry"), buttons.SKIP.build(tid))])
    return _screen(b, d, r, question, rows, problem)


def summary(
    b: Balances,
    d: AllocationDraft,
    r: Reader,
    problem: str = "",
    sooner: list[Part] | None = None,
) -> Screen:
    """What Save will do: both balances, and what is available, before and after; for an
    addition, the parts of it that keep an expiry sooner than the one chosen (``sooner``)."""
    t = r.t
    amount = d.amount or 0
    signed = amount if d.action == Action.ADD else -amount
    you, them = b.parent_balance, b.child_balance
    lines = [
        t._("<b>Check and save</b>"),
        t._("<b>You</b>"),
        t._("Balance: {before} → <b>{after}</b>", before=r.money(you.balance),
            after=r.money(you.balance - signed)),
        t._("Available: {before} → <b>{after}</b>", before=r.money(you.available),
            after=r.money(you.available - signed)),
        f"<b>{r.name(b.child.name)}</b>",
        t._("Balance: {before} → <b>{after}</b>", before=r.money(them.balance),
            after=r.money(them.balance + signed)),
        t._("Available: {before} → <b>{after}</b>", before=r.money(them.available),
            after=r.money(them.available + signed)),
    ]  # fmt: skip
    if sooner:
        if d.last_day is None:
            rule = t._("Your credits keep their expiry: for them these expire as for you.")
        else:
            rule = t._(
                "Your credits keep their expiry: a part that expires sooner than the day you "
                "chose expires then for them too."
            )
        parts = [usable_until(r, p.expires_at, p.amount) for p in sooner if p.expires_at]
        lines += ["", rule, *parts]
    save = keyboards.button(t._("💾 Save"), buttons.SAVE.build(b.child.telegram_id, d.nonce))
    return _screen(b, d, r, "\n".join(lines), [[save]], problem)


def saved(done: Allocation, r: Reader) -> str:
    """The note under the sub-reseller's card once saved."""
    t, amount = r.t, r.money(done.amount)
    values = {
        "amount": amount,
        "before": r.money(done.before.parent_balance.balance),
        "after": r.money(done.after.parent_balance.balance),
    }
    if done.action == Action.ADD:
        return t._(
            "✅ Gave {amount}. Your balance: {before} → {after}. They have been told.", **values
        )
    return t._(
        "✅ Took back {amount}. Your balance: {before} → {after}. They have been told.", **values
    )


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
