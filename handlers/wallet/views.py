"""Every text of the wallet screens: pure functions of the service's frozen views and the
reader, so that amounts and dates are written as everywhere else."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.ledger_reads import HistoryEntry, HistoryPage
from bot.services.wallet import BalanceSummary
from handlers import pages
from handlers.downline import menu_views as downline_views
from handlers.reader import Reader
from handlers.transfer import views as transfer_views
from models import EntryKind

Screen = tuple[str, InlineKeyboardMarkup]


def kind_label(kind: str, t: Translator) -> str:
    labels: dict[str, str] = {
        EntryKind.TOPUP: t._("Top-up"),
        EntryKind.ACTIVATION: t._("Activation"),
        EntryKind.RENEWAL: t._("Renewal"),
        EntryKind.REFUND: t._("Refund"),
        EntryKind.TRANSFER: t._("Transfer"),
        EntryKind.TRANSFER_REVERSAL: t._("Transfer reversed"),
        EntryKind.ALLOCATION: t._("Sub-reseller credits"),
        EntryKind.MARGIN: t._("Margin on a sub-reseller's sale"),
        EntryKind.ADJUSTMENT: t._("Adjustment"),
        EntryKind.EXPIRY: t._("Expired credits"),
        EntryKind.CASH_RECEIVED: t._("Cash received"),
        EntryKind.STARS_REVENUE: t._("A customer's renewal paid in Stars"),
    }
    return labels.get(kind, kind)


def render_balance(summary: BalanceSummary, r: Reader) -> Screen:
    """Balance, holds, available credit, postpaid debt, expiring credits, threshold."""
    t = r.t
    b = summary.balance
    lines = [
        t._("<b>Your balance</b>"),
        t._("Balance: {amount}", amount=r.money(b.balance)),
        t._("Held for pending sales: {amount}", amount=r.money(b.held)),
        t._("Available: <b>{amount}</b>", amount=r.money(b.available)),
    ]
    if summary.reseller.postpaid:
        lines += [
            t._("Collection limit: {amount}", amount=r.money(summary.reseller.credit_limit)),
            t._("Owed: {amount}", amount=r.money(summary.owed)),
            t._("Can still spend: {amount}", amount=r.money(b.spendable)),
        ]
    if summary.expiring:
        # One line a day, however many grants end that day: at most 31 lines.
        by_day: dict[str, int] = {}
        for credit in summary.expiring:
            day = r.date(credit.expires_at)
            by_day[day] = by_day.get(day, 0) + credit.amount
        lines.append("\n" + t._("<b>Expiring within 30 days</b>"))
        lines += [
            t._("• {amount} on {day}", amount=r.money(amount), day=day)
            for day, amount in by_day.items()
        ]
    lines.append(
        "\n"
        + t._(
            "Low-balance alert below: {amount}",
            amount=r.money(summary.reseller.low_balance_threshold),
        )
    )
    if summary.below_threshold:
        lines.append(t._("⚠️ You are below your low-balance threshold."))
    return pages.fit(lines, pages.TEXT_LIMIT), keyboards.balance_actions(t)


def history_label(entry: HistoryEntry, r: Reader) -> str:
    """What a movement was, with the other reseller of one between two resellers."""
    label = transfer_views.history_label(entry, r.t)
    if label is not None:
        return label
    label = kind_label(entry.kind, r.t)
    if entry.other is not None and entry.kind == EntryKind.ALLOCATION:
        label += " " + downline_views.other_party(entry.amount, entry.other, r)
    return label


def render_history(page: HistoryPage, r: Reader) -> Screen:
    """One page of movements, newest first, and the pager."""
    t = r.t
    pager = keyboards.pager(keyboards.HISTORY, page.page, page.pages, t)
    if not page.entries:
        return t._("<b>Credit history</b>\nNo movements yet."), pager
    lines = [
        t._(
            "<b>Credit history</b> (page {page} of {pages})",
            page=r.number(page.page + 1),
            pages=r.number(page.pages),
        )
    ]
    for entry in page.entries:
        line = (
            f"{r.date(entry.created_at)}  "
            f"<code>{r.signed(entry.amount)}</code>  {history_label(entry, r)}"
        )
        # Expiry entries carry no comment of a person's; older ones carry the system's.
        if entry.comment and entry.kind != EntryKind.EXPIRY:
            line += f" · {escape(entry.comment)}"
        lines.append(line)
    lines.append("\n" + t._("Amounts in {currency}.", currency=escape(r.currency)))
    # A page is a fixed number of movements: long comments are cut so that it fits.
    return pages.fit(lines, pages.TEXT_LIMIT), pager
