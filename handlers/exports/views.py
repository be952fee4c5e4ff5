"""Every text of the exports: the screens (what, which period, which format), the file's
caption and name, and the file's header row and cells in the reader's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.adapters.exports import Cell, Format, Money
from bot.cli.log_command import details
from bot.i18n import Translator
from bot.services.admin_log import LoggedAction
from bot.services.export_rows import CustomerRow, Movement, SaleRow, TopUpRow
from bot.services.exports import ExportError, ExportRow, Kind
from bot.services.statements import Period, Preset
from handlers.admin.action_log_views import kind_name as action_name
from handlers.admin.statement_views import period_problem
from handlers.downline.views import _state as customer_state
from handlers.exports import callbacks as buttons
from handlers.reader import Reader
from handlers.topup.views import status_word
from handlers.wallet.views import kind_label
from models import OrderKind, TopUpStatus

Screen = tuple[str, InlineKeyboardMarkup]
__all__ = ["period_problem"]


def kind_title(kind: Kind, t: Translator) -> str:
    return {
        Kind.HISTORY: t._("Credit history"),
        Kind.CUSTOMERS: t._("Customers"),
        Kind.TOPUPS: t._("Top-ups"),
        Kind.SALES: t._("Sales"),
        Kind.ACTIONS: t._("Action log"),
    }[kind]


def _menu_button(t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("⬅️ Menu"), keyboards.MENU)]


def menu(reseller: int, name: str | None, admin: bool, r: Reader) -> Screen:
    """What to export (admins also the action log), about ``name`` if one is named."""
    t = r.t
    kinds = [Kind.HISTORY, Kind.CUSTOMERS, Kind.TOPUPS, Kind.SALES]
    if admin:
        kinds.append(Kind.ACTIONS)
    rows = [
        [keyboards.button(kind_title(kind, t), buttons.PICK.build(reseller, kind))]
        for kind in kinds
    ]
    text = t._("📤 <b>Export</b>\nWhat would you like as a file?")
    if name is not None:
        text = t._("📤 <b>Export: {name}</b>\nWhat would you like as a file?", name=r.name(name))
    return text, InlineKeyboardMarkup([*rows, _menu_button(t)])


def period_prompt(reseller: int, kind: Kind, r: Reader, problem: str = "") -> Screen:
    t = r.t
    text = t._(
        "📤 <b>{what}</b>\nChoose a period, or send two dates like "
        "<code>2026-01-01 2026-01-31</code>.",
        what=kind_title(kind, t),
    )
    if problem:
        text = f"⚠️ {problem}\n\n{text}"

    def period(label: str, code: str) -> list[InlineKeyboardButton]:
        return [keyboards.button(label, buttons.WHEN.build(reseller, kind, code))]

    return text, InlineKeyboardMarkup(
        [
            period(t._("This month"), Preset.THIS_MONTH.value),
            period(t._("Last month"), Preset.LAST_MONTH.value),
            period(t._("Last 30 days"), Preset.LAST_30_DAYS.value),
            period(t._("All time"), buttons.ALL_TIME),
            [keyboards.button(t._("✖️ Cancel"), buttons.CANCEL)],
        ]
    )


def _day(day: dt.date, r: Reader) -> str:
    return r.t.isolate("".join(r.number(int(c)) if c.isdigit() else c for c in day.isoformat()))


def period_text(period: Period | None, r: Reader) -> str:
    if period is None:
        return r.t._("all time")
    return r.t._("{first} to {last}", first=_day(period.first, r), last=_day(period.last, r))


def formats(reseller: int, kind: Kind, code: str, period: Period | None, r: Reader) -> Screen:
    t = r.t
    text = t._(
        "📤 <b>{what}</b>, {period}\nWhich kind of file?",
        what=kind_title(kind, t),
        period=period_text(period, r),
    )
    return text, InlineKeyboardMarkup(
        [
            [
                keyboards.button(t._("CSV"), buttons.MAKE.build(reseller, kind, code, Format.CSV)),
                keyboards.button(
                    t._("Excel (XLSX)"), buttons.MAKE.build(reseller, kind, code, Format.XLSX)
                ),
            ],
            _menu_button(t),
        ]
    )


def building(kind: Kind, period: Period | None, r: Reader) -> str:
    return r.t._(
        "⏳ Preparing {what}, {period}: the file follows in a moment.",
        what=kind_title(kind, r.t),
        period=period_text(period, r),
    )


def busy(t: Translator) -> str:
    return t._("A file is already being prepared for you; it comes in a moment.")


def already_sent(t: Translator) -> str:
    return t._("That file was already sent; choose the export again for a new one.")


def failed(t: Translator) -> str:
    return t._("⚠️ The file could not be made. Please try again later.")


def refusal(exc: ExportError, t: Translator) -> str:
    if exc.code == "no_reseller":
        return t._("That reseller is not registered.")
    return t._("You may not export that.")


def stale(t: Translator) -> str:
    return t._("That button is no longer valid.")


def caption(kind: Kind, period: Period | None, count: int, r: Reader) -> str:
    rows = r.t.n_("{n} row", "{n} rows", count)
    return f"📤 {kind_title(kind, r.t)}, {period_text(period, r)} · {rows}"


def file_name(
    kind: Kind, period: Period | None, kind_of_file: Format, reseller: int | None = None
) -> str:
    span = "all" if period is None else f"{period.first}-{period.last}"
    who = "" if reseller is None else f"{reseller}-"
    return f"{kind.value}-{who}{span}.{kind_of_file.value}"


def cancelled(t: Translator) -> str:
    return t._("No file was made.")


def timed_out(t: Translator) -> str:
    return t._("⏱ No file was made: no period came in time.")


def replaced(t: Translator) -> str:
    return t._("⏹ No file was made: you started something else.")


# --- the file's header and rows ------------------------------------------------------------


def header(kind: Kind, t: Translator) -> list[Cell]:
    reseller = [t._("Reseller"), t._("Telegram id")]
    columns: dict[Kind, list[str]] = {
        Kind.HISTORY: [t._("Date"), *reseller, t._("Kind"), t._("Amount"),
                       t._("Other side"), t._("Comment"), t._("By"), t._("Number")],
        Kind.CUSTOMERS: [t._("Created"), *reseller, t._("Username"), t._("Plan"),
                         t._("State"), t._("Expires"), t._("Chat linked"), t._("Number")],
        Kind.TOPUPS: [t._("Date"), *reseller, t._("Credits"), t._("Unit price"),
                      t._("Total"), t._("Currency"), t._("Payment method"), t._("State"),
                      t._("Decided"), t._("Decided by"), t._("Reason"), t._("Reference"),
                      t._("Number")],
        Kind.SALES: [t._("Date"), *reseller, t._("Kind"), t._("Username"), t._("Plan"),
                     t._("Days"), t._("Price"), t._("State"), t._("Completed"), t._("Number")],
        Kind.ACTIONS: [t._("Date"), t._("By"), t._("Action"), t._("Reseller"),
                       t._("Values"), t._("Reason"), t._("Number")],
    }  # fmt: skip
    return list(columns[kind])


def _yes_no(value: bool, t: Translator) -> str:
    return t._("yes") if value else t._("no")


def _sale_kind(kind: str, t: Translator) -> str:
    words: dict[str, str] = {
        OrderKind.ACTIVATION: t._("Activation"),
        OrderKind.RENEWAL: t._("Renewal"),
    }
    return words.get(kind, kind)


def _sale_state(status: str, t: Translator) -> str:
    words = {"pending": t._("pending"), "completed": t._("completed"), "failed": t._("failed")}
    return words.get(status, status)


def _topup_state(status: str, t: Translator) -> str:
    known = {s.value for s in TopUpStatus}
    return status_word(TopUpStatus(status), t) if status in known else status


def _history(m: Movement, t: Translator) -> list[Cell]:
    return [m.created_at, m.reseller_name, m.reseller_telegram_id, kind_label(m.kind, t),
            Money(m.amount), m.other, m.comment, m.actor, m.transfer_id]  # fmt: skip


def _customer(c: CustomerRow, t: Translator) -> list[Cell]:
    state, linked = customer_state(c.status, t), _yes_no(c.linked, t)
    return [c.created_at, c.reseller_name, c.reseller_telegram_id, c.username, c.plan,
            state, c.expires_at, linked, c.customer_id]  # fmt: skip


def _topup(q: TopUpRow, t: Translator) -> list[Cell]:
    return [q.created_at, q.reseller_name, q.reseller_telegram_id, Money(q.credits),
            Money(q.unit_price), Money(q.total_price), q.price_currency, q.method,
            _topup_state(q.status, t), q.decided_at, q.decided_by, q.reject_reason,
            q.reference, q.request_id]  # fmt: skip


def _sale(s: SaleRow, t: Translator) -> list[Cell]:
    return [s.created_at, s.reseller_name, s.reseller_telegram_id, _sale_kind(s.kind, t),
            s.username, s.plan, s.days, Money(s.price), _sale_state(s.status, t),
            s.completed_at, s.order_id]  # fmt: skip


def _action(a: LoggedAction, t: Translator) -> list[Cell]:
    who = a.actor if a.actor_name is None else f"{a.actor_name} ({a.actor})"
    values = details(a.before, a.after)  # as `python -m bot log` writes them
    return [a.created_at, who, action_name(a.action, t), a.reseller_name, values, a.reason,
            a.id]  # fmt: skip


_CELLS: dict[type[Any], Callable[[Any, Translator], list[Cell]]] = {
    Movement: _history,
    CustomerRow: _customer,
    TopUpRow: _topup,
    SaleRow: _sale,
    LoggedAction: _action,
}


def cells(row: ExportRow, t: Translator) -> list[Cell]:
    """One row of the file, in the reader's words (dates and amounts stay values)."""
    return _CELLS[type(row)](row, t)
