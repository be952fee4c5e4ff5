"""An admin sets a Stars method's rate and bounds from chat: ⭐ Rate and bounds on the
catalogue's card of the method, the values typed, ✅ Save (a flow).

Only admins allowed the catalogue may, checked from the database at every step; the
change goes through the same service (and action log) as ``payment-method stars``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.money import AmountError, parse_amount
from bot.services import star_methods, stars
from bot.services.roles import Permission
from bot.services.stars import StarsError, StarsMethod
from handlers import flow
from handlers.common import answer, now, permitted
from handlers.language import reader, translator
from handlers.payments import callbacks
from handlers.payments import rate_views as views
from handlers.reader import Reader

DRAFT = "stars_rate_draft"
VALUES, CONFIRM = "starsrate:values", "starsrate:confirm"
NO_BOUND = "-"


@dataclass
class RateDraft(flow.FlowMessage):
    method_id: int = 0
    rate: int = 0
    min_credits: int | None = None
    max_credits: int | None = None
    nonce: str = ""


def parse_values(text: str) -> tuple[int, int | None, int | None]:
    """``rate [min [max]]`` in credits; ``-`` for no bound."""
    parts = text.split()
    if not 1 <= len(parts) <= 3 or parts[0] == NO_BOUND:
        raise AmountError("not_a_number", "Send one to three amounts.")
    rate = star_methods.check_rate(parse_amount(parts[0]))
    low, high = (None if p == NO_BOUND else parse_amount(p) for p in (*parts[1:], "-", "-")[:2])
    star_methods.check_bounds(low, high)
    return rate, low, high


async def _admin(update: Update, context: BotContext) -> Reader | None:
    t = await translator(update, context)
    if not await permitted(update, context, Permission.CATALOGUE, t):
        return None
    return await reader(update, context)


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def _method(context: BotContext, method_id: int) -> StarsMethod | None:
    return await stars.stars_method(context.db, method_id)


async def ask_values(update: Update, context: BotContext) -> int | str:
    """⭐ Rate and bounds: the current values and what to send."""
    query = update.callback_query
    r = await _admin(update, context)
    if r is None or query is None or query.message is None:
        return _end(context)
    method = await _method(context, callbacks.STARS_RATE.parse(context))
    if method is None:
        await answer(query, views.not_stars(r.t), alert=True)
        return _end(context)
    await answer(query)
    draft = RateDraft(query.message.chat.id, query.message.message_id, method_id=method.id)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await flow.render(context, draft, *views.prompt(method, r))
    return VALUES


async def got_values(update: Update, context: BotContext) -> int | str:
    """The values typed: the confirmation, or why not and asked again."""
    draft = flow.draft(context, DRAFT, RateDraft)
    message = update.effective_message
    r = await _admin(update, context)
    if draft is None or message is None or message.text is None or r is None:
        return _end(context)
    method = await _method(context, draft.method_id)
    if method is None:
        await flow.render(context, draft, views.not_stars(r.t), None)
        return _end(context)
    try:
        draft.rate, draft.min_credits, draft.max_credits = parse_values(message.text)
    except (AmountError, StarsError) as exc:
        await flow.render(context, draft, *views.prompt(method, r, views.bad_input(exc, r.t)))
        return VALUES
    draft.nonce = secrets.token_urlsafe(9)
    await flow.render(context, draft, *views.confirm(
        method, draft.rate, draft.min_credits, draft.max_credits, draft.nonce, r
    ))  # fmt: skip
    return CONFIRM


async def save(update: Update, context: BotContext) -> int | str:
    """✅ Save: the new rate and bounds (logged); a stale or second tap changes nothing."""
    query, user = update.callback_query, update.effective_user
    draft = flow.draft(context, DRAFT, RateDraft)
    r = await _admin(update, context)
    if query is None or user is None or r is None:
        return _end(context)
    method_id, nonce = callbacks.STARS_RATE_CONFIRM.parse(context)
    if draft is None or (method_id, nonce) != (draft.method_id, draft.nonce):
        await answer(query, views.stale(r.t), alert=True)
        return CONFIRM if draft is not None else _end(context)
    method = await _method(context, method_id)
    if method is None:
        await answer(query, views.not_stars(r.t), alert=True)
        return _end(context)
    await answer(query)
    done = await star_methods.configure(
        context.db, code=method.code, name=method.name, rate=draft.rate,
        min_credits=draft.min_credits, max_credits=draft.max_credits,
        actor=f"tg:{user.id}", now=now(context),
    )  # fmt: skip
    await flow.render(context, draft, *views.saved(done, r))
    return _end(context)


async def cancel(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, DRAFT, views.left(t))


async def timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, DRAFT, views.timed_out(t))


def rate_flow() -> flow.Flow:
    """A Stars method's rate and bounds, for the one conversation all flows share."""
    return flow.Flow(
        name="starsrate",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(ask_values, pattern=callbacks.STARS_RATE.pattern())],
        states={
            VALUES: [MessageHandler(filters.TEXT & ~filters.COMMAND, got_values)],
            CONFIRM: [CallbackQueryHandler(save, pattern=callbacks.STARS_RATE_CONFIRM.pattern())],
        },
        fallbacks=[CallbackQueryHandler(cancel, pattern=callbacks.STARS_RATE_CANCEL.pattern())],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.replaced,
    )
