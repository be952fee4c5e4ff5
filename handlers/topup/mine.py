"""The reseller's own requests: /topups, withdrawing a pending one, and the flow's buttons
tapped after it ended."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.services import topup_reads, topups
from bot.services.topup_decisions import AlreadyDecided
from bot.services.topup_reads import TopUpError
from handlers.common import answer, identify, now, refuse, show
from handlers.language import translator
from handlers.reader import Reader
from handlers.topup import callbacks, list_views, views
from handlers.topup.admin import refresh_admin_post
from handlers.topup.steps import request_key
from handlers.views import not_registered


async def my_topups(update: Update, context: BotContext) -> None:
    """/topups: the reseller's requests, newest first, a page at a time."""
    await _show(update, context, callbacks.LIST.page(context))


async def _show(update: Update, context: BotContext, page: int) -> None:
    user = update.effective_user
    if user is None:
        return
    t = await translator(update, context)
    # A suspended reseller still sees their requests.
    if (await identify(update, context)).reseller is None:
        await refuse(update, not_registered(t, user.id))
        return
    requests = await topup_reads.list_for_reseller(context.db, user.id)
    await show(update, *list_views.my_topups(requests, page, Reader.of(context.settings, t)))


async def withdraw(update: Update, context: BotContext) -> None:
    """🚫 Cancel #N on the list: the reseller withdraws their own pending request."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    t = await translator(update, context)
    tapped = callbacks.WITHDRAW.parse(context)
    try:
        request = await topups.cancel(
            context.db, request_id=tapped.id, telegram_id=user.id, now=now(context)
        )
    except AlreadyDecided as exc:
        await answer(query, views.already(exc.request, t), alert=True)
        return
    except TopUpError as exc:
        await answer(query, views.refusal(exc, Reader.of(context.settings, t)), alert=True)
        return
    await refresh_admin_post(context, request)
    await _show(update, context, tapped.page)


async def confirm_after_end(update: Update, context: BotContext) -> None:
    """Confirm tapped again after the flow ended: show the first result, submit nothing."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    t = await translator(update, context)
    nonce = callbacks.CONFIRM.parse(context)
    found = await topup_reads.find_by_key(context.db, request_key(user.id, nonce))
    if found is None or found.reseller_telegram_id != user.id:
        await answer(query, views.confirmation_invalid(t), alert=True)
        return
    await answer(query, views.already_sent(found, t), alert=True)


async def stray_cancel(update: Update, context: BotContext) -> None:
    """The flow's ✖️ Cancel after the flow ended."""
    if update.callback_query is not None:
        t = await translator(update, context)
        await answer(update.callback_query, views.flow_over(t), alert=True)
