"""/balance and /history: a reseller's own wallet."""

from __future__ import annotations

import datetime as dt
from html import escape

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.i18n import SOURCE, Translator
from bot.services import wallet
from bot.services.ledger import HistoryPage
from bot.services.wallet import BalanceSummary
from handlers import pages
from handlers.common import identify, own_wallet, refuse, show
from handlers.language import translator
from handlers.start import not_registered
from models import EntryKind

HISTORY_PAGE_SIZE = 10


def kind_label(kind: str, t: Translator) -> str:
    labels: dict[str, str] = {
        EntryKind.TOPUP: t._("Top-up"),
        EntryKind.ACTIVATION: t._("Activation"),
        EntryKind.RENEWAL: t._("Renewal"),
        EntryKind.REFUND: t._("Refund"),
        EntryKind.TRANSFER: t._("Transfer"),
        EntryKind.ADJUSTMENT: t._("Adjustment"),
        EntryKind.EXPIRY: t._("Expired credits"),
        EntryKind.CASH_RECEIVED: t._("Cash received"),
    }
    return labels.get(kind, kind)


def render_balance(summary: BalanceSummary, context: BotContext, t: Translator = SOURCE) -> str:
    b = summary.balance
    currency = escape(context.settings.currency)

    def money(amount: int) -> str:
        return t.amount(amount, currency)

    lines = [
        t._("<b>Your balance</b>"),
        t._("Balance: {amount}", amount=money(b.balance)),
        t._("Held for pending sales: {amount}", amount=money(b.held)),
        t._("Available: <b>{amount}</b>", amount=money(b.available)),
    ]
    if summary.reseller.postpaid:
        lines += [
            t._("Collection limit: {amount}", amount=money(summary.reseller.credit_limit)),
            t._("Owed: {amount}", amount=money(summary.owed)),
            t._("Can still spend: {amount}", amount=money(b.spendable)),
        ]
    if summary.expiring:
        # One line a day, however many grants end that day: at most 31 lines.
        by_day: dict[str, int] = {}
        for credit in summary.expiring:
            day = t.date(credit.expires_at, context.settings.zone)
            by_day[day] = by_day.get(day, 0) + credit.amount
        lines.append("\n" + t._("<b>Expiring within 30 days</b>"))
        lines += [
            t._("• {amount} on {day}", amount=money(amount), day=day)
            for day, amount in by_day.items()
        ]
    lines.append(
        "\n"
        + t._(
            "Low-balance alert below: {amount}",
            amount=money(summary.reseller.low_balance_threshold),
        )
    )
    if summary.below_threshold:
        lines.append(t._("⚠️ You are below your low-balance threshold."))
    return pages.fit(lines, pages.TEXT_LIMIT)


def render_history(page: HistoryPage, context: BotContext, t: Translator = SOURCE) -> str:
    if not page.entries:
        return t._("<b>Credit history</b>\nNo movements yet.")
    lines = [
        t._(
            "<b>Credit history</b> (page {page} of {pages})",
            page=t.number(page.page + 1),
            pages=t.number(page.pages),
        )
    ]
    for entry in page.entries:
        sign = "+" if entry.amount > 0 else "-"
        number = t.amount(abs(entry.amount), "").strip()
        line = (
            f"{t.date(entry.created_at, context.settings.zone)}  "
            f"<code>{sign}{number}</code>  {kind_label(entry.kind, t)}"
        )
        # Expiry entries carry no comment of a person's; older ones carry the system's.
        if entry.comment and entry.kind != EntryKind.EXPIRY:
            line += f" · {escape(entry.comment)}"
        lines.append(line)
    lines.append("\n" + t._("Amounts in {currency}.", currency=escape(context.settings.currency)))
    # A page is a fixed number of movements: long comments are cut so that it fits.
    return pages.fit(lines, pages.TEXT_LIMIT)


async def balance(update: Update, context: BotContext) -> None:
    """Balance, holds, available credit, postpaid debt, expiring credits, threshold."""
    user = update.effective_user
    if user is None:
        return
    reseller = own_wallet(await identify(update, context))
    t = await translator(update, context)
    if reseller is None:
        await refuse(update, not_registered(t, user.id))
        return
    summary = await wallet.balance_summary(context.db, user.id, now=dt.datetime.now(dt.UTC))
    await show(update, render_balance(summary, context, t), keyboards.balance_actions(t))


async def history(update: Update, context: BotContext) -> None:
    """One page of the reseller's own movements; the page number is all the button says."""
    user = update.effective_user
    if user is None:
        return
    reseller = own_wallet(await identify(update, context))
    t = await translator(update, context)
    if reseller is None:
        await refuse(update, not_registered(t, user.id))
        return
    page = int(context.matches[0].group(1)) if context.matches else 0
    result = await wallet.history_page(context.db, user.id, page=page, page_size=HISTORY_PAGE_SIZE)
    await show(
        update,
        render_history(result, context, t),
        keyboards.pager(keyboards.HISTORY, result.page, result.pages, t),
    )


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("balance", balance, filters=private))
    app.add_handler(CommandHandler("history", history, filters=private))
    app.add_handler(CallbackQueryHandler(balance, pattern=f"^{keyboards.BALANCE}$"))
    app.add_handler(CallbackQueryHandler(history, pattern=rf"^{keyboards.HISTORY}:(\d{{1,6}})$"))
