"""The resellers list (search and filters), the card's activity lines, a reseller's credit
history and customers as the admin sees them, and the notices a reseller gets when an
admin registers or edits them. Pure functions of the services' views and the reader."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.customers import CustomerPage, CustomerView
from bot.services.ledger_reads import HistoryPage
from bot.services.reseller_search import Field, ListFilter, ResellerCard
from bot.services.resellers import ResellerRow, ResellerView
from handlers import pages
from handlers.admin import callbacks
from handlers.admin import reseller_callbacks as buttons
from handlers.common import clip
from handlers.reader import Reader
from handlers.wallet.views import render_history
from models import Billing, CustomerStatus, ResellerStatus

Screen = tuple[str, InlineKeyboardMarkup]
Notice = tuple[str, InlineKeyboardMarkup | None]
PAGE_SIZE = 15  # one button per reseller on a page


def filter_labels(t: Translator) -> dict[ListFilter, str]:
    return {
        ListFilter.ALL: t._("All"),
        ListFilter.PREPAID: t._("Prepaid"),
        ListFilter.POSTPAID: t._("Postpaid"),
        ListFilter.SUSPENDED: t._("Suspended"),
        ListFilter.BELOW_THRESHOLD: t._("Below threshold"),
        ListFilter.OWING: t._("Owing"),
    }


def listing(
    rows: Sequence[ResellerRow], flt: ListFilter, page: int, query: str, r: Reader
) -> Screen:
    """One page of the list, a button per reseller, the filters, search and New."""
    t = r.t

    def header(at: int, count: int) -> str:
        title = t._(
            "<b>Resellers</b> ({total}, page {page} of {pages})",
            total=r.number(len(rows)),
            page=r.number(at + 1),
            pages=r.number(count),
        )
        if flt != ListFilter.ALL:
            title += "\n" + t._("Showing: {filter}", filter=filter_labels(t)[flt])
        if query:
            title += "\n" + t._("Search: {query}", query=r.name(query))
        return title

    if rows:
        items = [_line(row, r) for row in rows]
    elif flt == ListFilter.ALL and not query:
        items = [t._("None yet. Tap ➕ New reseller to register one.")]
    else:
        items = [t._("No reseller matches.")]
    shown = pages.paginate(items, page, header=header, max_items=PAGE_SIZE)
    keyboard: list[list[InlineKeyboardButton]] = [
        [
            keyboards.button(
                f"👤 {clip(row.reseller.name, 30)}", callbacks.CARD.build(row.reseller.telegram_id)
            )
        ]
        for row in rows[shown.start : shown.stop]
    ]
    nav = []
    if shown.page > 0:
        nav.append(keyboards.button(t._("◀️ Previous"), buttons.LIST.build(flt, page - 1, query)))
    if shown.page < shown.pages - 1:
        nav.append(keyboards.button(t._("Next ▶️"), buttons.LIST.build(flt, page + 1, query)))
    if nav:
        keyboard.append(nav)
    labels = list(filter_labels(t).items())
    for part in (labels[:3], labels[3:]):
        keyboard.append(
            [
                keyboards.button(
                    ("• " if f == flt else "") + label, buttons.LIST.build(f, 0, query)
                )
                for f, label in part
            ]
        )
    search = [keyboards.button(t._("🔎 Search"), buttons.SEARCH.build())]
    if query:
        search.append(keyboards.button(t._("✖️ Clear search"), buttons.LIST.build(flt, 0)))
    keyboard.append(search)
    keyboard.append([keyboards.button(t._("➕ New reseller"), buttons.NEW.build())])
    keyboard.append([keyboards.button(t._("⬅️ Menu"), keyboards.MENU)])
    return shown.text, InlineKeyboardMarkup(keyboard)


def _line(row: ResellerRow, r: Reader) -> str:
    who = row.reseller
    available = r.money(row.balance.available)
    name, tg_id = r.name(who.name), who.telegram_id
    if who.status == ResellerStatus.SUSPENDED:
        return r.t._(
            "• {name} (<code>{id}</code> · suspended): {amount} available",
            name=name,
            id=tg_id,
            amount=available,
        )
    if who.postpaid:
        return r.t._(
            "• {name} (<code>{id}</code> · postpaid): {amount} available",
            name=name,
            id=tg_id,
            amount=available,
        )
    return r.t._(
        "• {name} (<code>{id}</code>): {amount} available", name=name, id=tg_id, amount=available
    )


def activity(row: ResellerCard, r: Reader) -> list[str]:
    """The card's lines on what the reseller does: last movement or sale, customers, sales."""
    t = r.t
    if row.last_activity is None:
        last = t._("Last activity: none yet")
    else:
        last = t._(
            "Last activity: {date} {time}",
            date=r.date(row.last_activity),
            time=r.time(row.last_activity),
        )
    return [
        last,
        t._("Customers: {n}", n=r.number(row.customers)),
        t._(
            "Sales this month: {n} ({amount})",
            n=r.number(row.sales_this_month),
            amount=r.money(row.sold_this_month),
        ),
    ]


def _back(telegram_id: int, t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("⬅️ Back"), callbacks.CARD.build(telegram_id))]


def _pager(
    codec: buttons.ResellerPage, telegram_id: int, page: int, pages_count: int, t: Translator
) -> list[list[InlineKeyboardButton]]:
    nav = []
    if page > 0:
        nav.append(keyboards.button(t._("◀️ Previous"), codec.build(telegram_id, page - 1)))
    if page < pages_count - 1:
        nav.append(keyboards.button(t._("Next ▶️"), codec.build(telegram_id, page + 1)))
    return ([nav] if nav else []) + [_back(telegram_id, t)]


def history(who: ResellerView, page: HistoryPage, r: Reader) -> Screen:
    """The reseller's credit history, written as their own wallet writes it."""
    text, _ = render_history(page, r)
    title = f"👤 <b>{r.name(who.name)}</b>"
    keyboard = _pager(buttons.HISTORY, who.telegram_id, page.page, page.pages, r.t)
    return pages.fit([title, text]), InlineKeyboardMarkup(keyboard)


def _state(c: CustomerView, now: dt.datetime, t: Translator) -> str:
    if c.status == CustomerStatus.PAUSED:
        return t._("paused")
    if c.status == CustomerStatus.CANCELLED:
        return t._("cancelled")
    return t._("expired") if c.is_expired(now) else t._("active")


def customers(who: ResellerView, found: CustomerPage, now: dt.datetime, r: Reader) -> Screen:
    """The reseller's customers, read-only: name, plan, expiry, state."""
    t = r.t
    lines = [
        t._(
            "👥 <b>Customers of {name}</b> ({total})",
            name=r.name(who.name),
            total=r.number(found.total),
        )
    ]
    if not found.customers:
        lines.append(t._("None."))
    lines += [
        f"• {r.name(c.username)} · {r.name(c.plan.name)} · {r.date(c.expires_at)} · "
        f"{_state(c, now, t)}"
        for c in found.customers
    ]
    keyboard = _pager(buttons.CUSTOMERS, who.telegram_id, found.page, found.pages, t)
    return pages.fit(lines), InlineKeyboardMarkup(keyboard)


# --- what the reseller is told -----------------------------------------------------------


def welcome_notice(p: dict[str, Any], r: Reader) -> Notice:
    text = r.t._(
        "👋 Welcome! An admin has registered you as a reseller. Send /start to see your "
        "menu: your balance, top-ups and your customers."
    )
    return text, None


def changed_notice(p: dict[str, Any], r: Reader) -> Notice:
    t, value = r.t, p.get("value")
    field = p.get("field")
    if field == Field.BILLING:
        kind = t._("postpaid") if value == Billing.POSTPAID else t._("prepaid")
        return t._("📝 An admin has made your account {type}.", type=kind), None
    if field == Field.LIMIT:
        amount = r.money(int(str(value)))
        return t._("📝 An admin has set your collection limit to {amount}.", amount=amount), None
    if field == Field.THRESHOLD:
        amount = r.money(int(str(value)))
        text = t._("📝 An admin has set your low-balance alert to {amount}.", amount=amount)
        return text, None
    name = escape(str(value))
    return t._("📝 An admin has changed your reseller name to {name}.", name=name), None
