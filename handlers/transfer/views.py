"""Every text of the transfer flow, the receiver's and the reversal's notices, and how a
transfer reads in a credit history. Pure functions of the services' views and the reader."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.admin_log import ActionError
from bot.services.ledger_reads import HistoryEntry
from bot.services.transfer_rules import Allowance, Party, Preview, Sent
from handlers.reader import Reader
from handlers.transfer import callbacks as buttons
from handlers.views import credits_frozen
from models import EntryKind

Screen = tuple[str, InlineKeyboardMarkup]
Notice = tuple[str, InlineKeyboardMarkup | None]


def _cancel(t: Translator) -> list[Any]:
    return [keyboards.button(t._("✖️ Cancel"), buttons.CANCEL.build())]


def _with(lines: list[str], problem: str) -> str:
    return "\n".join(lines + (["", "⚠️ " + problem] if problem else []))


def who(p: Party, r: Reader) -> str:
    """A reseller's name, with its @username when it has one."""
    return r.name(p.name + (f" (@{p.username})" if p.username else ""))


def _header(allowance: Allowance, r: Reader) -> list[str]:
    t = r.t
    lines = [
        t._("💸 <b>Send credits to another reseller</b>"),
        t._("You can send up to {amount} now.", amount=r.money(allowance.most)),
    ]
    if allowance.left_today is not None:
        lines.append(
            t._("Your daily limit leaves {amount} today.", amount=r.money(allowance.left_today))
        )
    return lines


def ask_recipient(allowance: Allowance, r: Reader, problem: str = "") -> Screen:
    t = r.t
    lines = [*_header(allowance, r), "", t._("Who gets them? Send their @username or Telegram id.")]
    return _with(lines, problem), InlineKeyboardMarkup([_cancel(t)])


def ask_amount(recipient: Party, allowance: Allowance, r: Reader, problem: str = "") -> Screen:
    t = r.t
    lines = [
        *_header(allowance, r),
        t._("To: {name}", name=who(recipient, r)),
        "",
        t._("How many credits do you send? For example 25 or 25.50."),
    ]
    return _with(lines, problem), InlineKeyboardMarkup([_cancel(t)])


def ask_note(recipient: Party, amount: int, r: Reader, problem: str = "") -> Screen:
    t = r.t
    lines = [
        t._("💸 <b>Send credits to another reseller</b>"),
        t._("To: {name}", name=who(recipient, r)),
        t._("Amount: <b>{amount}</b>", amount=r.money(amount)),
        "",
        t._("Send a note for them (at most 255 characters), or tap Skip."),
    ]
    keyboard = [[keyboards.button(t._("⏭ Skip"), buttons.SKIP.build())], _cancel(t)]
    return _with(lines, problem), InlineKeyboardMarkup(keyboard)


def confirm(preview: Preview, nonce: str, r: Reader, problem: str = "") -> Screen:
    """The confirmation: both names, the amount, the available credit before and after,
    and plainly that the sender cannot undo it."""
    t = r.t
    lines = [
        t._("💸 <b>Check the transfer</b>"),
        t._("From: {name}", name=who(preview.sender, r)),
        t._("To: {name}", name=who(preview.recipient, r)),
        t._("Amount: <b>{amount}</b>", amount=r.money(preview.amount)),
    ]
    if preview.note:
        lines.append(t._("Note: {note}", note=escape(preview.note)))
    lines += [
        t._(
            "Your available credit: {before} → <b>{after}</b>",
            before=r.money(preview.available_before),
            after=r.money(preview.available_after),
        ),
        "",
        t._(
            "⚠️ You cannot undo a transfer. Once sent, the credits belong to {name}; "
            "check the name and the amount.",
            name=r.name(preview.recipient.name),
        ),
    ]
    keyboard = [[keyboards.button(t._("✅ Send"), buttons.SEND.build(nonce))], _cancel(t)]
    return _with(lines, problem), InlineKeyboardMarkup(keyboard)


def sent(done: Sent, r: Reader) -> Screen:
    t = r.t
    lines = [
        t._(
            "✅ Sent {amount} to {name}.",
            amount=r.money(done.amount),
            name=r.name(done.recipient.name),
        ),
        t._(
            "Your balance: {balance} (available {available}).",
            balance=r.money(done.balance.balance),
            available=r.money(done.balance.available),
        ),
    ]
    return "\n".join(lines), keyboards.back_to_menu(t)


def problem(exc: ActionError, r: Reader) -> str:
    """A refused recipient, amount or note (or a sender who may not send), in words."""
    t, p = r.t, exc.params

    def money(name: str) -> str:
        return r.money(int(str(p[name])))

    if exc.code == "sender_suspended":
        return credits_frozen(t)
    if exc.code == "transfers_forbidden":
        return t._("An admin has not allowed you to send transfers. Contact an admin.")
    if exc.code == "recipient_unknown":
        return t._(
            "No reseller {query} is registered. Check the @username or the id.",
            query=r.name(str(p["query"])),
        )
    if exc.code == "recipient_unreadable":
        return t._("Send an @username (5 to 32 letters, digits or _) or a Telegram id (digits).")
    if exc.code == "recipient_ambiguous":
        return t._("Several resellers have that username; send their Telegram id instead.")
    if exc.code == "recipient_suspended":
        return t._(
            "{name} is suspended and cannot receive credits now.", name=r.name(str(p["name"]))
        )
    if exc.code == "recipient_self":
        return t._("You cannot send credits to yourself.")
    if exc.code == "insufficient":
        return t._(
            "You have {available} available to send; that is {missing} short.",
            available=money("available"),
            missing=money("missing"),
        )
    if exc.code == "daily_limit":
        return t._(
            "That passes your daily transfer limit of {limit}: {left} left today.",
            limit=money("limit"),
            left=money("left"),
        )
    if exc.code == "note_too_long":
        return t._(
            "The note is {length} characters long; at most {limit} are allowed.",
            length=r.number(int(str(p["length"]))),
            limit=r.number(int(str(p["limit"]))),
        )
    return t._("That transfer cannot be made. Start again with /transfer.")


def already_sent(t: Translator) -> str:
    return t._("This transfer was already sent; nothing was sent again.")


def no_longer_valid(t: Translator) -> str:
    return t._("This button is no longer valid. Send /start for a fresh menu.")


def text_expected(t: Translator) -> str:
    return t._("Send the answer as a text message, or tap Cancel.")


def use_buttons(t: Translator) -> str:
    return t._("Tap ✅ Send or ✖️ Cancel on the summary above.")


def cancelled(t: Translator) -> str:
    return t._("No credits were moved.")


def timed_out(t: Translator) -> str:
    return t._("⏱ No credits were moved: the form was left unanswered.")


def replaced(t: Translator) -> str:
    return t._("⏹ No credits were moved: you started something else.")


# --- how a transfer reads in a credit history --------------------------------------------


def history_label(entry: HistoryEntry, t: Translator) -> str | None:
    """A transfer's or a reversal's line label with the other reseller; None for other
    kinds of movement."""
    if entry.other is None:
        return None
    name = t.isolate(escape(entry.other))
    if entry.kind == EntryKind.TRANSFER:
        if entry.amount < 0:
            return t._("Transfer to {name}", name=name)
        return t._("Transfer from {name}", name=name)
    if entry.kind == EntryKind.TRANSFER_REVERSAL:
        if entry.amount < 0:
            return t._("Transfer reversed, back to {name}", name=name)
        return t._("Transfer reversed, back from {name}", name=name)
    return None


# --- the notices (rendered by the outbox at send time) -----------------------------------


def received_notice(p: dict[str, Any], r: Reader) -> Notice:
    t = r.t
    sender = p["sender"] + (f" (@{p['sender_username']})" if p.get("sender_username") else "")
    lines = [
        t._(
            "💸 {name} sent you {amount}.",
            name=r.name(sender),
            amount=r.money(int(p["amount"])),
        )
    ]
    if p.get("note"):
        lines.append(t._("Note: {note}", note=escape(str(p["note"]))))
    # Transferred credits keep their expiry (older notices have no such list).
    for when, amount in p.get("expiring") or ():
        lines.append(
            t._(
                "{amount} of them expire on {day}.",
                amount=r.money(int(amount)),
                day=r.date(dt.datetime.fromisoformat(when)),
            )
        )
    lines.append(
        t._(
            "Your balance: {balance} (available {available}).",
            balance=r.money(int(p["balance"])),
            available=r.money(int(p["available"])),
        )
    )
    return "\n".join(lines), None


def reversed_notice(p: dict[str, Any], r: Reader) -> Notice:
    t = r.t
    values = {"amount": r.money(int(p["amount"])), "name": r.name(str(p["other"]))}
    if p.get("side") == "sender":
        first = t._(
            "↩️ An admin reversed your transfer of {amount} to {name}: the credits are back "
            "with you.",
            **values,
        )
    else:
        first = t._(
            "↩️ An admin reversed the transfer of {amount} from {name}: the credits were "
            "taken back.",
            **values,
        )
    lines = [first]
    if p.get("reason"):
        lines.append(t._("Reason: {reason}", reason=escape(str(p["reason"]))))
    lines.append(
        t._(
            "Your balance: {balance} (available {available}).",
            balance=r.money(int(p["balance"])),
            available=r.money(int(p["available"])),
        )
    )
    return "\n".join(lines), None
