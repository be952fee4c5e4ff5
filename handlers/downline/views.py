"""Every text of a parent's sub-reseller screens: the list with balances, a sub-reseller's
card, its customers and sales (read-only), registering one, refusals, and the notices a
sub-reseller gets. Pure functions of the services' views and the reader."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonRequestUsers,
    ReplyKeyboardMarkup,
)

from bot import keyboards
from bot.i18n import Translator
from bot.services.admin_log import ActionError
from bot.services.subtree import Child, ChildCard, CustomerLine, Page, SaleLine
from handlers import pages
from handlers.admin import enrol_views
from handlers.admin.reseller_form_views import with_problem
from handlers.admin.reseller_views import activity
from handlers.common import clip
from handlers.downline import callbacks as buttons
from handlers.pricelists import callbacks as price_list_buttons
from handlers.pricelists.callbacks import Scope
from handlers.reader import Reader
from handlers.views import credits_frozen
from models import CustomerStatus, OrderKind, ResellerStatus

Screen = tuple[str, InlineKeyboardMarkup]
Notice = tuple[str, InlineKeyboardMarkup | None]
PAGE_SIZE = 10  # one button per sub-reseller on a page


def _menu_row(t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("⬅️ Menu"), keyboards.MENU)]


def _line(child: Child, r: Reader) -> str:
    t, b = r.t, child.balance
    values = {
        "name": r.name(child.reseller.name),
        "balance": r.money(b.balance),
        "held": r.money(b.held),
        "available": r.money(b.available),
    }
    if child.reseller.status == ResellerStatus.SUSPENDED:
        return t._(
            "• {name} (suspended): balance {balance}, held {held}, available {available}",
            **values,
        )
    return t._("• {name}: balance {balance}, held {held}, available {available}", **values)


def listing(children: Sequence[Child], page: int, r: Reader) -> Screen:
    """A page of the parent's sub-resellers with their balances, a button each."""
    t = r.t

    def header(at: int, count: int) -> str:
        return t._(
            "👥 <b>Your sub-resellers</b> ({total}, page {page} of {pages})",
            total=r.number(len(children)),
            page=r.number(at + 1),
            pages=r.number(count),
        )

    items = [_line(c, r) for c in children] or [
        t._("None yet. Tap ➕ Register to add a sub-reseller.")
    ]
    shown = pages.paginate(items, page, header=header, max_items=PAGE_SIZE)
    rows = [
        [
            keyboards.button(
                f"👤 {clip(c.reseller.name, 30)}", buttons.CARD.build(c.reseller.telegram_id)
            )
        ]
        for c in children[shown.start : shown.stop]
    ]
    nav = []
    if shown.page > 0:
        nav.append(keyboards.button(t._("◀️ Previous"), buttons.LIST.build(shown.page - 1)))
    if shown.page < shown.pages - 1:
        nav.append(keyboards.button(t._("Next ▶️"), buttons.LIST.build(shown.page + 1)))
    if nav:
        rows.append(nav)
    rows.append(
        [
            keyboards.button(t._("➕ Register"), buttons.NEW.build()),
            keyboards.button(t._("🏷 Prices"), price_list_buttons.HOME.build(Scope.PARENT)),
        ]
    )
    rows.append(_menu_row(t))
    return shown.text, InlineKeyboardMarkup(rows)


def card(found: ChildCard, r: Reader, note: str = "") -> Screen:
    """A sub-reseller's card: balance, held, available, status, customers, this month's
    sales, last activity; credits move only between a parent and its own child."""
    t, row = r.t, found.card
    who, b = row.reseller, row.balance
    suspended = who.status == ResellerStatus.SUSPENDED
    lines = [
        f"👤 <b>{r.name(who.name + (f' @{who.username}' if who.username else ''))}</b>",
        t._("Telegram id: <code>{id}</code>", id=who.telegram_id),
        t._("Status: <b>suspended</b>") if suspended else t._("Status: <b>active</b>"),
        t._("Balance: {balance} · held {held}", balance=r.money(b.balance), held=r.money(b.held)),
        t._("Available: <b>{amount}</b>", amount=r.money(b.available)),
        *activity(row, r),
    ]
    if note:
        lines += ["", note]
    tid = who.telegram_id
    rows = []
    if found.direct:
        rows.append([keyboards.button(t._("➕➖ Credits"), buttons.CREDITS.build(tid))])  # noqa: RUF001
    rows += [
        [
            keyboards.button(t._("📋 Customers"), buttons.CUSTOMERS.build(tid, 0)),
            keyboards.button(t._("🧾 Sales"), buttons.SALES.build(tid, 0)),
        ],
        [keyboards.button(t._("⬅️ Sub-resellers"), buttons.LIST.build(0))],
    ]
    return pages.fit(lines), InlineKeyboardMarkup(rows)


def _pager(
    codec: buttons.Two, telegram_id: int, page: int, count: int, t: Translator
) -> InlineKeyboardMarkup:
    nav = []
    if page > 0:
        nav.append(keyboards.button(t._("◀️ Previous"), codec.build(telegram_id, page - 1)))
    if page < count - 1:
        nav.append(keyboards.button(t._("Next ▶️"), codec.build(telegram_id, page + 1)))
    back = [keyboards.button(t._("⬅️ Back"), buttons.CARD.build(telegram_id))]
    return InlineKeyboardMarkup(([nav] if nav else []) + [back])


def _state(status: str, t: Translator) -> str:
    words: dict[str, str] = {
        CustomerStatus.ACTIVE: t._("active"),
        CustomerStatus.EXPIRED: t._("expired"),
        CustomerStatus.PAUSED: t._("paused"),
        CustomerStatus.CANCELLED: t._("cancelled"),
    }
    return words.get(status, escape(status))


def customers(name: str, telegram_id: int, found: Page[CustomerLine], r: Reader) -> Screen:
    """A sub-reseller's customers, read-only: username, plan, expiry, state."""
    t = r.t
    lines = [
        t._(
            "👥 <b>Customers of {name}</b> ({total})",
            name=r.name(name),
            total=r.number(found.total),
        )
    ]
    if not found.items:
        lines.append(t._("None."))
    lines += [
        f"• {r.name(c.username)} · {r.name(c.plan)} · {r.date(c.expires_at)} · "
        f"{_state(c.status, t)}"
        for c in found.items
    ]
    return pages.fit(lines), _pager(buttons.CUSTOMERS, telegram_id, found.page, found.pages, t)


def sales(name: str, telegram_id: int, found: Page[SaleLine], r: Reader) -> Screen:
    """A sub-reseller's completed sales, newest first, read-only."""
    t = r.t
    lines = [
        t._(
            "🧾 <b>Sales of {name}</b> ({total})",
            name=r.name(name),
            total=r.number(found.total),
        )
    ]
    if not found.items:
        lines.append(t._("None."))
    for s in found.items:
        kind = t._("Activation") if s.kind == OrderKind.ACTIVATION else t._("Renewal")
        lines.append(
            f"• {r.date(s.created_at)} · {kind} · {r.name(s.username)} · "
            f"{r.name(s.plan)} · {r.money(s.price)}"
        )
    return pages.fit(lines), _pager(buttons.SALES, telegram_id, found.page, found.pages, t)


# --- registering a sub-reseller ----------------------------------------------------------------


def _cancel(t: Translator) -> list[list[InlineKeyboardButton]]:
    return [[keyboards.button(t._("✖️ Cancel"), buttons.NEW_CANCEL.build())]]


def ask_who(t: Translator, problem: str = "") -> tuple[str, ReplyKeyboardMarkup]:
    """Who: Telegram's own user picker under the message, or a typed id or @username."""
    text = t._(
        "➕ <b>New sub-reseller</b>\nTap “👤 Choose a person” below to share their contact, "
        "or type their Telegram id (they must have started this bot). /cancel to stop."
    )
    picker = KeyboardButton(
        t._("👤 Choose a person"),
        request_users=KeyboardButtonRequestUsers(
            buttons.PICKER, user_is_bot=False, request_name=True, request_username=True
        ),
    )
    keyboard = ReplyKeyboardMarkup([[picker]], resize_keyboard=True, one_time_keyboard=True)
    return with_problem(problem, text), keyboard


chosen = enrol_views.chosen
unknown_id = enrol_views.unknown_id
unknown_username = enrol_views.unknown_username
not_a_person = enrol_views.not_a_person
already_registered = enrol_views.already_registered
REMOVE_KEYBOARD = enrol_views.REMOVE_KEYBOARD


def ask_name(telegram_id: int, r: Reader, problem: str = "") -> Screen:
    return enrol_views.ask_name(telegram_id, r, problem, buttons.NEW_CANCEL.build())


def ask_threshold(name: str, r: Reader, problem: str = "") -> Screen:
    return enrol_views.ask_threshold(name, r, problem, buttons.NEW_CANCEL.build())


def summary(
    name: str, telegram_id: int, username: str | None, threshold: int, nonce: str, r: Reader
) -> Screen:
    t = r.t
    who = r.name(name + (f" @{username}" if username else ""))
    lines = [
        t._("➕ <b>Register this sub-reseller?</b>"),
        f"👤 {who} (<code>{telegram_id}</code>)",
        t._("Type: prepaid"),
        t._("Low-balance alert below: {amount}", amount=r.money(threshold)),
        t._("They start with no credits: you give them credits from your own balance."),
        t._("They will be greeted in their language."),
    ]
    save = keyboards.button(t._("✅ Save"), buttons.NEW_SAVE.build(telegram_id, nonce))
    return "\n".join(lines), InlineKeyboardMarkup([[save], *_cancel(t)])


registered = enrol_views.registered  # the same words as the admins' registration
replaced = enrol_views.replaced


# --- refusals --------------------------------------------------------------------------------


def refusal(exc: ActionError, r: Reader) -> str:
    """A downline service's refusal, in the reader's words."""
    t, p = r.t, exc.params
    if exc.code == "not_in_subtree":
        return t._("That reseller is not one of your sub-resellers; nothing was shown or changed.")
    if exc.code == "no_downline":
        return t._("You may not have sub-resellers. Ask an admin to allow them.")
    if exc.code == "already_registered":
        return already_registered(str(p.get("name", "")), r)
    if exc.code == "suspended":
        return credits_frozen(t)
    if exc.code == "parent_short":
        return t._(
            "You have only {available} available: {missing} more is needed.",
            available=r.money(int(str(p["available"]))),
            missing=r.money(int(str(p["missing"]))),
        )
    if exc.code == "remove_too_much":
        maximum = int(str(p["maximum"]))
        if maximum <= 0:
            return t._("Nothing can be removed: they have no credits available.")
        return t._(
            "That is more than can be removed; at most {amount} can be removed.",
            amount=r.money(maximum),
        )
    return t._("Sorry, that could not be done. Nothing was changed.")


def no_downline(t: Translator) -> str:
    return t._("You may not have sub-resellers. Ask an admin to allow them.")


# --- what a sub-reseller is told (rendered by the outbox at send time) -------------------------


def welcome_notice(p: dict[str, Any], r: Reader) -> Notice:
    text = r.t._(
        "👋 Welcome! {parent} has registered you as their sub-reseller. Send /start to see "
        "your menu: your balance and your customers. Your credits come from {parent}.",
        parent=r.name(str(p.get("parent", ""))),
    )
    return text, None


def usable_until(r: Reader, expires_at: dt.datetime, amount: int) -> str:
    """One part of credits that expire at ``expires_at``: its last usable day."""
    last = expires_at - dt.timedelta(seconds=1)
    return r.t._(
        "{amount} of them can be used until {date}, included.",
        amount=r.money(amount),
        date=r.date(last),
    )


def _moved(p: dict[str, Any], r: Reader, added: bool) -> Notice:
    t, amount, parent = r.t, r.money(p["amount"]), r.name(str(p["parent"]))
    if added:
        lines = [t._("➕ {parent} gave you {amount}.", parent=parent, amount=amount)]
    else:
        lines = [t._("➖ {parent} took back {amount}.", parent=parent, amount=amount)]  # noqa: RUF001
    lines.append(
        t._(
            "Balance: {balance} (available {available}).",
            balance=r.money(p["balance"]),
            available=r.money(p["available"]),
        )
    )
    if "expiring" in p:  # the credits keep their expiry: each part's own day
        lines += [usable_until(r, dt.datetime.fromisoformat(w), n) for w, n in p["expiring"]]
    elif p.get("expires_at"):  # older notices: the day chosen
        last = dt.datetime.fromisoformat(p["expires_at"]) - dt.timedelta(seconds=1)
        lines.append(t._("They can be used until {date}, included.", date=r.date(last)))
    if p.get("comment"):
        lines.append(t._("Comment: {comment}", comment=escape(p["comment"])))
    return "\n".join(lines), None


def allocated_notice(p: dict[str, Any], r: Reader) -> Notice:
    return _moved(p, r, added=True)


def reclaimed_notice(p: dict[str, Any], r: Reader) -> Notice:
    return _moved(p, r, added=False)
