"""/balance and /history: a reseller's own wallet."""

from __future__ import annotations

import datetime as dt
from html import escape

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.money import format_number
from bot.services import wallet
from bot.services.ledger import HistoryPage
from bot.services.wallet import BalanceSummary
from handlers import pages
from handlers.common import NOT_REGISTERED, identify, local_date, money, own_wallet, refuse, show
from models import EntryKind

HISTORY_PAGE_SIZE = 10
KIND_LABELS = {
    EntryKind.TOPUP: "Top-up",
    EntryKind.ACTIVATION: "Activation",
    EntryKind.RENEWAL: "Renewal",
    EntryKind.REFUND: "Refund",
    EntryKind.TRANSFER: "Transfer",
    EntryKind.ADJUSTMENT: "Adjustment",
    EntryKind.EXPIRY: "Expired credits",
    EntryKind.CASH_RECEIVED: "Cash received",
}


def render_balance(summary: BalanceSummary, context: BotContext) -> str:
    b = summary.balance
    lines = [
        "<b>Your balance</b>",
        f"Balance: {money(b.balance, context)}",
        f"Held for pending sales: {money(b.held, context)}",
        f"Available: <b>{money(b.available, context)}</b>",
    ]
    if summary.reseller.postpaid:
        lines += [
            f"Collection limit: {money(summary.reseller.credit_limit, context)}",
            f"Owed: {money(summary.owed, context)}",
            f"Can still spend: {money(b.spendable, context)}",
        ]
    if summary.expiring:
        # One line a day, however many grants end that day: at most 31 lines.
        by_day: dict[str, int] = {}
        for credit in summary.expiring:
            day = local_date(credit.expires_at, context)
            by_day[day] = by_day.get(day, 0) + credit.amount
        lines.append("\n<b>Expiring within 30 days</b>")
        lines += [f"• {money(amount, context)} on {day}" for day, amount in by_day.items()]
    lines.append(
        f"\nLow-balance alert below: {money(summary.reseller.low_balance_threshold, context)}"
    )
    if summary.below_threshold:
        lines.append("⚠️ You are below your low-balance threshold.")
    return pages.fit(lines, pages.TEXT_LIMIT)


def render_history(page: HistoryPage, context: BotContext) -> str:
    if not page.entries:
        return "<b>Credit history</b>\nNo movements yet."
    lines = [f"<b>Credit history</b> (page {page.page + 1} of {page.pages})"]
    for entry in page.entries:
        sign = "+" if entry.amount > 0 else "-"
        label = KIND_LABELS.get(EntryKind(entry.kind), entry.kind)
        line = (
            f"{local_date(entry.created_at, context)}  "
            f"<code>{sign}{format_number(abs(entry.amount))}</code>  {label}"
        )
        if entry.comment:
            line += f" · {escape(entry.comment)}"
        lines.append(line)
    lines.append(f"\nAmounts in {escape(context.settings.currency)}.")
    # A page is a fixed number of movements: long comments are cut so that it fits.
    return pages.fit(lines, pages.TEXT_LIMIT)


async def balance(update: Update, context: BotContext) -> None:
    """Balance, holds, available credit, postpaid debt, expiring credits, threshold."""
    user = update.effective_user
    if user is None:
        return
    reseller = own_wallet(await identify(update, context))
    if reseller is None:
        await refuse(update, NOT_REGISTERED.format(user_id=user.id))
        return
    summary = await wallet.balance_summary(context.db, user.id, now=dt.datetime.now(dt.UTC))
    await show(update, render_balance(summary, context), keyboards.balance_actions())


async def history(update: Update, context: BotContext) -> None:
    """One page of the reseller's own movements; the page number is all the button says."""
    user = update.effective_user
    if user is None:
        return
    reseller = own_wallet(await identify(update, context))
    if reseller is None:
        await refuse(update, NOT_REGISTERED.format(user_id=user.id))
        return
    page = int(context.matches[0].group(1)) if context.matches else 0
    result = await wallet.history_page(context.db, user.id, page=page, page_size=HISTORY_PAGE_SIZE)
    await show(
        update,
        render_history(result, context),
        keyboards.pager(keyboards.HISTORY, result.page, result.pages),
    )


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("balance", balance, filters=private))
    app.add_handler(CommandHandler("history", history, filters=private))
    app.add_handler(CallbackQueryHandler(balance, pattern=f"^{keyboards.BALANCE}$"))
    app.add_handler(CallbackQueryHandler(history, pattern=rf"^{keyboards.HISTORY}:(\d{{1,6}})$"))
