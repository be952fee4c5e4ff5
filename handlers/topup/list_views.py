"""The top-up lists, a page at a time: the reseller's /topups and the admins' /pending.
Pure functions, like ``views``."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.services.stars import CURRENCY
from bot.services.topup_reads import RequestView
from handlers import pages
from handlers.payments import views as payment_views
from handlers.reader import Reader
from handlers.topup import callbacks, views
from handlers.topup.views import Screen
from models import TopUpStatus

PAGE_ITEMS = 10  # requests on one page of /pending or /topups, with their buttons


def my_topups(requests: Sequence[RequestView], page: int, r: Reader) -> Screen:
    """One page of the reseller's requests, newest first; pending ones can be cancelled."""
    t = r.t
    new_or_menu = [
        keyboards.button(t._("➕ Top up"), callbacks.NEW.build()),
        keyboards.button(t._("⬅️ Menu"), keyboards.MENU),
    ]
    if not requests:
        return t._("🧾 You have no top-up requests yet."), InlineKeyboardMarkup([new_or_menu])

    def header(at: int, count: int) -> str:
        if count > 1:
            return t._(
                "🧾 <b>Your top-ups</b> · page {page} of {pages}",
                page=t.number(at + 1),
                pages=t.number(count),
            )
        return t._("🧾 <b>Your top-ups</b>")

    items = []
    for q in requests:
        values = {
            "id": q.id,
            "date": r.date(q.created_at),
            "credits": r.money(q.credits),
            "total": (
                payment_views.stars_amount(r, q.total_price // 100)  # paid in Stars
                if q.price_currency == CURRENCY
                else r.price(q.total_price)
            ),
            "status": views.status_label(q.status, t),
        }
        if q.status == TopUpStatus.REJECTED and q.reject_reason:
            line = t._(
                "#{id} · {date} · {credits} · {total} · {status} ({reason})",
                reason=escape(q.reject_reason),
                **values,
            )
        else:
            line = t._("#{id} · {date} · {credits} · {total} · {status}", **values)
        items.append(line)
    shown = pages.paginate(items, page, header=header, max_items=PAGE_ITEMS)
    rows = [
        [
            keyboards.button(
                t._("🚫 Cancel #{id}", id=q.id), callbacks.WITHDRAW.build(q.id, shown.page)
            )
        ]
        for q in requests[shown.start : shown.stop]
        if q.status == TopUpStatus.PENDING
    ]
    nav = []
    if shown.page > 0:
        nav.append(keyboards.button(t._("◀️ Newer"), callbacks.LIST.build(shown.page - 1)))
    if shown.page < shown.pages - 1:
        nav.append(keyboards.button(t._("Older ▶️"), callbacks.LIST.build(shown.page + 1)))
    if nav:
        rows.append(nav)
    rows.append(new_or_menu)
    return shown.text, InlineKeyboardMarkup(rows)


# --- the admins' list ------------------------------------------------------------------


def pending(requests: Sequence[RequestView], page: int, r: Reader) -> Screen:
    """One page of the waiting requests, each with its buttons."""
    t = r.t
    if not requests:
        return t._("🧾 No top-ups are waiting."), keyboards.back_to_menu(t)

    def header(at: int, count: int) -> str:
        if count > 1:
            return t._(
                "🧾 <b>Pending top-ups</b> ({total}) · page {page} of {pages}",
                total=t.number(len(requests)),
                page=t.number(at + 1),
                pages=t.number(count),
            )
        return t._("🧾 <b>Pending top-ups</b> ({total})", total=t.number(len(requests)))

    items = [
        t._(
            "#{id} · {name} · {credits} · {total} · {method}",
            id=q.id,
            name=r.name(q.reseller_name),
            credits=r.money(q.credits),
            total=r.price(q.total_price),
            method=r.name(q.method_name),
        )
        for q in requests
    ]
    shown = pages.paginate(items, page, header=header, max_items=PAGE_ITEMS)
    rows = [
        [
            keyboards.button(f"✅ #{q.id}", callbacks.APPROVE.build(q.id, shown.page)),
            keyboards.button(f"❌ #{q.id}", callbacks.REJECT.build(q.id)),
        ]
        for q in requests[shown.start : shown.stop]
    ]
    pager = keyboards.pager(keyboards.TOPUP_PENDING, shown.page, shown.pages, t)
    rows += [list(row) for row in pager.inline_keyboard]
    return shown.text, InlineKeyboardMarkup(rows)
