"""Every text and keyboard of a reseller's transfers screen (the admin's): whether it may
send, its daily limit, its recent transfers with Reverse on the ones it sent, the daily
limit's prompt and the reversal's reason and confirmation."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.money import AmountError
from bot.services.admin_log import ActionError
from bot.services.transfer_rules import Party, Reversed, Reversible, TransferItem, TransferPage
from handlers import pages
from handlers.admin import callbacks
from handlers.admin import transfer_callbacks as buttons
from handlers.common import clip
from handlers.reader import Reader
from handlers.topup.views import amount_problem
from models import TransferKind

Screen = tuple[str, InlineKeyboardMarkup]
NOTE_SHOWN = 60  # characters of a transfer's note on the list


def _line(item: TransferItem, me: Party, r: Reader) -> str:
    t = r.t
    when = r.date(item.created_at)
    amount = r.money(item.amount)
    if item.kind == TransferKind.REVERSAL:
        line = t._(
            "{date} · ↩️ #{id} reversed: {amount} from {receiver} back to {sender}",
            date=when,
            id=r.number(item.reverses_id or 0),
            amount=amount,
            receiver=r.name(item.sender.name),
            sender=r.name(item.recipient.name),
        )
    elif item.sender.reseller_id == me.reseller_id:
        line = t._(
            "{date} · #{id} sent {amount} to {name}",
            date=when,
            id=r.number(item.id),
            amount=amount,
            name=r.name(item.recipient.name),
        )
    else:
        line = t._(
            "{date} · #{id} received {amount} from {name}",
            date=when,
            id=r.number(item.id),
            amount=amount,
            name=r.name(item.sender.name),
        )
    if item.note:
        line += f" · {escape(clip(item.note, NOTE_SHOWN))}"
    if item.reversed_by is not None:
        line += " · " + t._("reversed")
    return "• " + line


def screen(found: TransferPage, r: Reader, note: str = "") -> Screen:
    """The reseller's transfer settings and a page of its transfers, newest first."""
    t, me, tid = r.t, found.reseller, found.reseller.telegram_id
    lines = [
        t._("💸 <b>Transfers of {name}</b>", name=r.name(me.name)),
        t._("Sending transfers: <b>allowed</b>")
        if found.allowed
        else t._("Sending transfers: <b>forbidden</b>"),
        t._("Daily limit: {amount}", amount=r.money(found.daily_limit))
        if found.daily_limit is not None
        else t._("Daily limit: none"),
        "",
    ]
    if found.items:
        lines.append(
            t._(
                "<b>Recent transfers</b> (page {page} of {pages})",
                page=r.number(found.page + 1),
                pages=r.number(found.pages),
            )
        )
        lines += [_line(item, me, r) for item in found.items]
    else:
        lines.append(t._("No transfers yet."))
    if note:
        lines += ["", note]
    if found.allowed:
        toggle = keyboards.button(t._("🚫 Forbid transfers"), buttons.ALLOW.build(tid, False))
    else:
        toggle = keyboards.button(t._("✅ Allow transfers"), buttons.ALLOW.build(tid, True))
    limit_row = [keyboards.button(t._("✏️ Daily limit"), buttons.LIMIT.build(tid))]
    if found.daily_limit is not None:
        limit_row.append(keyboards.button(t._("✖️ Clear the limit"), buttons.CLEAR.build(tid)))
    rows: list[list[InlineKeyboardButton]] = [[toggle], limit_row]
    for item in found.items:
        if (
            item.kind == TransferKind.TRANSFER
            and item.reversed_by is None
            and item.sender.reseller_id == me.reseller_id
        ):
            label = t._(
                "↩️ Reverse #{id} · {amount}", id=r.number(item.id), amount=r.money(item.amount)
            )
            rows.append([keyboards.button(label, buttons.REVERSE.build(tid, item.id))])
    nav = []
    if found.page > 0:
        nav.append(keyboards.button(t._("◀️ Previous"), buttons.SCREEN.build(tid, found.page - 1)))
    if found.page < found.pages - 1:
        nav.append(keyboards.button(t._("Next ▶️"), buttons.SCREEN.build(tid, found.page + 1)))
    if nav:
        rows.append(nav)
    rows.append([keyboards.button(t._("⬅️ Back"), callbacks.CARD.build(tid))])
    return pages.fit(lines), InlineKeyboardMarkup(rows)


def _back(telegram_id: int, t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("✖️ Cancel"), buttons.SCREEN.build(telegram_id, 0))]


def _with(lines: list[str], problem: str) -> str:
    return "\n".join(lines + (["", "⚠️ " + problem] if problem else []))


def ask_limit(found: TransferPage, r: Reader, problem: str = "") -> Screen:
    t = r.t
    lines = [
        t._("✏️ <b>Daily transfer limit of {name}</b>", name=r.name(found.reseller.name)),
        t._("Daily limit: {amount}", amount=r.money(found.daily_limit))
        if found.daily_limit is not None
        else t._("Daily limit: none"),
        "",
        t._("Send the most they may send a day, like 100 or 100.50."),
    ]
    return _with(lines, problem), InlineKeyboardMarkup([_back(found.reseller.telegram_id, t)])


def _transfer(item: TransferItem, r: Reader) -> list[str]:
    t = r.t
    lines = [
        t._("↩️ <b>Reverse transfer #{id}</b>", id=r.number(item.id)),
        t._(
            "{amount} from {sender} to {receiver}, on {date}.",
            amount=r.money(item.amount),
            sender=r.name(item.sender.name),
            receiver=r.name(item.recipient.name),
            date=r.date(item.created_at),
        ),
    ]
    if item.note:
        lines.append(t._("Note: {note}", note=escape(item.note)))
    return lines


def ask_reason(found: Reversible, r: Reader, problem: str = "") -> Screen:
    t, item = r.t, found.transfer
    lines = [
        *_transfer(item, r),
        "",
        t._("Why is it reversed? Send the reason: it is logged and both resellers are told."),
    ]
    return _with(lines, problem), InlineKeyboardMarkup([_back(item.sender.telegram_id, t)])


def confirm(found: Reversible, reason: str, r: Reader) -> Screen:
    t, item = r.t, found.transfer
    lines = [
        *_transfer(item, r),
        t._(
            "{name} has {amount} available now.",
            name=r.name(item.recipient.name),
            amount=r.money(found.receiver_available),
        ),
        t._("Reason: {reason}", reason=escape(reason)),
        "",
        t._(
            "The credits go back from {receiver} to {sender}. Both are told.",
            receiver=r.name(item.recipient.name),
            sender=r.name(item.sender.name),
        ),
    ]
    tid = item.sender.telegram_id
    yes = keyboards.button(t._("↩️ Confirm the reversal"), buttons.CONFIRM.build(tid, item.id))
    return "\n".join(lines), InlineKeyboardMarkup([[yes], _back(tid, t)])


def reversed_note(done: Reversed, r: Reader) -> str:
    return r.t._(
        "✅ Reversed transfer #{id}: {amount} back to {name}.",
        id=r.number(done.transfer.id),
        amount=r.money(done.transfer.amount),
        name=r.name(done.transfer.sender.name),
    )


def limit_note(limit: int | None, r: Reader) -> str:
    if limit is None:
        return r.t._("✅ The daily limit was cleared.")
    return r.t._("✅ Daily limit set to {amount}.", amount=r.money(limit))


def bad_amount(exc: AmountError, r: Reader) -> str:
    return amount_problem(exc, r)


def already_reversed(t: Translator) -> str:
    return t._("This transfer was already reversed; nothing was moved again.")


def no_longer_open(t: Translator) -> str:
    return t._("This button is no longer valid. Send /start for a fresh menu.")


def no_reason(t: Translator) -> str:
    return t._("Send a reason: it is logged and both resellers are told.")


def confirm_expected(t: Translator) -> str:
    return t._("Tap ↩️ Confirm the reversal or ✖️ Cancel above.")


def use_buttons(t: Translator) -> str:
    return t._("Send the answer as a text message, or tap Cancel.")


def problem(exc: ActionError, r: Reader) -> str:
    """A refused reversal, reason or limit, in the reader's words."""
    t, p = r.t, exc.params
    if exc.code == "receiver_short":
        return t._(
            "{name} has only {available} available now, {missing} short: the transfer "
            "cannot be reversed.",
            name=r.name(str(p.get("name", ""))),
            available=r.money(int(str(p["available"]))),
            missing=r.money(int(str(p["missing"]))),
        )
    if exc.code == "already_reversed":
        return already_reversed(t)
    if exc.code == "no_transfer":
        return t._("There is no such transfer of this reseller.")
    if exc.code == "no_reason":
        return no_reason(t)
    if exc.code == "reason_too_long":
        return t._(
            "The reason is {length} characters long; at most {limit} are allowed.",
            length=r.number(int(str(p["length"]))),
            limit=r.number(int(str(p["limit"]))),
        )
    return t._("There is no such reseller.")


def replaced(t: Translator) -> str:
    return t._("⏹ No credits were moved: you started something else.")


def timed_out(t: Translator) -> str:
    return t._("⏱ No credits were moved: the form was left unanswered.")


def cancelled(t: Translator) -> str:
    return t._("No credits were moved.")
