"""/balance and /history: a reseller's own wallet."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.services import wallet
from handlers.common import identify, now, own_wallet, refuse, show
from handlers.language import reader
from handlers.views import not_registered
from handlers.wallet import views

HISTORY_PAGE_SIZE = 10


async def balance(update: Update, context: BotContext) -> None:
    """Balance, holds, available credit, postpaid debt, expiring credits, threshold."""
    user = update.effective_user
    if user is None:
        return
    reseller = own_wallet(await identify(update, context))
    r = await reader(update, context)
    if reseller is None:
        await refuse(update, not_registered(r.t, user.id))
        return
    summary = await wallet.balance_summary(context.db, user.id, now=now(context), known=reseller)
    await show(update, *views.render_balance(summary, r))


async def history(update: Update, context: BotContext) -> None:
    """One page of the reseller's own movements; the page number is all the button says."""
    user = update.effective_user
    if user is None:
        return
    reseller = own_wallet(await identify(update, context))
    r = await reader(update, context)
    if reseller is None:
        await refuse(update, not_registered(r.t, user.id))
        return
    page = int(context.matches[0].group(1)) if context.matches else 0
    result = await wallet.history_page(
        context.db, user.id, page=page, page_size=HISTORY_PAGE_SIZE, known=reseller
    )
    await show(update, *views.render_history(result, r))
