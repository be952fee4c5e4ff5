"""A reseller's self-service renewals: /selfpay (or ⭐ on the balance screen) shows the
state and each plan's price in Stars; on/off; ✏️ a plan asks for its price (a flow).

Which reseller it is comes from the asker, looked up on the server; a button's data only
says which plan was tapped.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.services import self_pay
from bot.services.stars import StarsError
from handlers import flow
from handlers.common import active_reseller, answer, now, show
from handlers.language import reader
from handlers.payments import callbacks
from handlers.payments import selfpay_views as views
from handlers.reader import Reader

DRAFT = "self_pay_draft"
PRICE = "selfpay:price"


@dataclass
class PriceDraft(flow.FlowMessage):
    plan_id: int = 0


async def _reseller(update: Update, context: BotContext) -> tuple[int, Reader] | None:
    """The asker's Telegram id and reader if it is an active reseller (told no otherwise)."""
    r = await reader(update, context)
    found = await active_reseller(update, context, r.t)
    return None if found is None else (found.telegram_id, r)


async def show_settings(update: Update, context: BotContext) -> None:
    """/selfpay or ⭐ Customers pay in Stars: the state and the prices."""
    asker = await _reseller(update, context)
    if asker is None:
        return
    telegram_id, r = asker
    await show(update, *views.screen(await self_pay.settings_of(context.db, telegram_id), r))


async def toggle(update: Update, context: BotContext) -> None:
    """▶️ Turn on / ⏸ Turn off (a second tap changes nothing)."""
    query = update.callback_query
    asker = await _reseller(update, context)
    if asker is None or query is None:
        return
    telegram_id, r = asker
    enabled = query.data == callbacks.SELF_PAY_ON.build()
    settings = await self_pay.set_enabled(
        context.db, telegram_id=telegram_id, enabled=enabled, actor=f"tg:{telegram_id}",
        now=now(context),
    )  # fmt: skip
    await show(update, *views.screen(settings, r))


async def ask_price(update: Update, context: BotContext) -> int | str:
    """✏️ a plan: its cost and the least price that covers it; then the price, typed."""
    query = update.callback_query
    asker = await _reseller(update, context)
    if asker is None or query is None or query.message is None:
        return flow.end(context, DRAFT)
    telegram_id, r = asker
    settings = await self_pay.settings_of(context.db, telegram_id)
    plan = settings.plan(callbacks.SELF_PAY_PRICE.parse(context))
    if plan is None:
        await answer(query, views.refusal(StarsError("plan_unavailable", ""), r), alert=True)
        return flow.end(context, DRAFT)
    await answer(query)
    draft = PriceDraft(query.message.chat.id, query.message.message_id, plan_id=plan.plan_id)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await flow.render(context, draft, *views.price_prompt(plan, settings.rate, r))
    return PRICE


async def got_price(update: Update, context: BotContext) -> int | str:
    """The price typed: saved and the screen shown again, or why not and asked again."""
    draft = flow.draft(context, DRAFT, PriceDraft)
    message = update.effective_message
    asker = await _reseller(update, context)
    if draft is None or message is None or message.text is None or asker is None:
        return flow.end(context, DRAFT)
    telegram_id, r = asker
    try:
        settings = await self_pay.set_price(
            context.db, telegram_id=telegram_id, plan_id=draft.plan_id,
            stars=self_pay.parse_stars(message.text), actor=f"tg:{telegram_id}",
            now=now(context),
        )  # fmt: skip
    except StarsError as exc:
        settings = await self_pay.settings_of(context.db, telegram_id)
        plan = settings.plan(draft.plan_id)
        if plan is None:
            await flow.render(context, draft, *views.screen(settings, r, views.refusal(exc, r)))
            return flow.end(context, DRAFT)
        problem = views.refusal(exc, r)
        await flow.render(context, draft, *views.price_prompt(plan, settings.rate, r, problem))
        return PRICE
    await flow.render(context, draft, *views.screen(settings, r))
    return flow.end(context, DRAFT)


async def back(update: Update, context: BotContext) -> object:
    """⬅️ Back on the prompt: the screen again, the price unchanged."""
    await show_settings(update, context)
    return flow.end(context, DRAFT)


async def cancel(update: Update, context: BotContext) -> object:
    r = await reader(update, context)
    return await flow.leave(update, context, DRAFT, views.price_left(r.t))


async def timed_out(update: Update, context: BotContext) -> None:
    r = await reader(update, context)
    await flow.expire(context, DRAFT, views.price_timed_out(r.t))


def price_flow() -> flow.Flow:
    """A plan's customer price, for the one conversation all flows share."""
    return flow.Flow(
        name="selfpay",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(ask_price, pattern=callbacks.SELF_PAY_PRICE.pattern())],
        states={PRICE: [MessageHandler(filters.TEXT & ~filters.COMMAND, got_price)]},
        fallbacks=[CallbackQueryHandler(back, pattern=callbacks.SELF_PAY.pattern())],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.price_replaced,
    )
