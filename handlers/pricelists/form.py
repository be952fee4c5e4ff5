"""The price-list form, a flow on one message: a new list (name, then percentage off),
a new name, or one plan's price on a list (typed: ``12.50`` or ``10%``).

States: NAME -> PERCENT (a new list) or the card (a rename); PRICE -> the card. A bad
answer keeps the step, saying why; /cancel or Cancel leaves with nothing changed. Each
answer is authorised again (the admins' scope by permission, a parent's by the service).
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.context import BotContext
from bot.services import price_list_reads, price_lists
from bot.services.price_lists import ListCard, PriceListError
from handlers import flow
from handlers.common import answer, now
from handlers.language import reader, translator
from handlers.pricelists import callbacks as cb
from handlers.pricelists import views
from handlers.pricelists.callbacks import Scope
from handlers.pricelists.screens import Actor, actor, home_screen
from handlers.reader import Reader

DRAFT = "price_list_draft"
NAME = "pricelist:name"
PERCENT = "pricelist:percent"
PRICE = "pricelist:price"


@dataclass
class PriceListDraft(flow.FlowMessage):
    scope: str = Scope.ADMIN.value
    list_id: int | None = None  # a rename, or a plan's price on this list
    plan_id: int | None = None  # a plan's price
    name: str | None = None  # a new list's name, once given


def _draft(context: BotContext) -> PriceListDraft | None:
    return flow.draft(context, DRAFT, PriceListDraft)


async def _begin(update: Update, context: BotContext, scope: Scope) -> PriceListDraft | None:
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return None
    await answer(query)
    found = PriceListDraft(query.message.chat.id, query.message.message_id, scope=scope.value)
    assert context.user_data is not None
    context.user_data[DRAFT] = found
    return found


async def _refused(update: Update, r: Reader, exc: PriceListError) -> int:
    query = update.callback_query
    if query is not None:
        await answer(query, views.problem(exc, r), alert=True)
    return ConversationHandler.END


async def _card(
    context: BotContext, d: PriceListDraft, found: ListCard, r: Reader, note: str
) -> int:
    await flow.render(context, d, *views.list_card(found, Scope(d.scope), r, note))
    return flow.end(context, DRAFT)


# --- entries -----------------------------------------------------------------------------


async def start_new(update: Update, context: BotContext) -> int | str:
    """➕ New price list: ask its name."""
    scope = cb.NEW.parse(context)
    r = await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return ConversationHandler.END
    try:  # a parent's scope: only a reseller allowed sub-resellers keeps lists
        await price_list_reads.lists(context.db, parent_telegram_id=who.parent)
    except PriceListError as exc:
        return await _refused(update, r, exc)
    d = await _begin(update, context, scope)
    if d is None:
        return ConversationHandler.END
    await flow.render(context, d, *views.ask_name(scope, r))
    return NAME


async def start_rename(update: Update, context: BotContext) -> int | str:
    scope, list_id = cb.RENAME.parse(context)
    r = await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return ConversationHandler.END
    try:
        found = await price_list_reads.card(
            context.db, list_id=list_id, parent_telegram_id=who.parent
        )
    except PriceListError as exc:
        return await _refused(update, r, exc)
    d = await _begin(update, context, scope)
    if d is None:
        return ConversationHandler.END
    d.list_id = list_id
    await flow.render(context, d, *views.ask_rename(found.price_list, scope, r))
    return NAME


async def start_price(update: Update, context: BotContext) -> int | str:
    """A plan tapped on a list's screen: ask its price there."""
    scope, list_id, plan_id = cb.SET.parse(context)
    r = await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return ConversationHandler.END
    try:
        found = await price_list_reads.card(
            context.db, list_id=list_id, parent_telegram_id=who.parent
        )
    except PriceListError as exc:
        return await _refused(update, r, exc)
    plan = next((p for p in found.plans if p.plan_id == plan_id), None)
    if plan is None:
        if update.callback_query is not None:
            await answer(update.callback_query, views.no_plan(r.t), alert=True)
        return ConversationHandler.END
    d = await _begin(update, context, scope)
    if d is None:
        return ConversationHandler.END
    d.list_id, d.plan_id = list_id, plan_id
    await flow.render(context, d, *views.ask_price(found, plan, scope, r))
    return PRICE


# --- answers -----------------------------------------------------------------------------


async def got_name(update: Update, context: BotContext) -> int | str:
    d, message = _draft(context), update.effective_message
    if d is None or message is None or message.text is None:
        return ConversationHandler.END
    scope, r = Scope(d.scope), await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return flow.end(context, DRAFT)
    try:
        if d.list_id is None:
            d.name = price_lists.check_name(message.text)
            await flow.render(context, d, *views.ask_percent(d.name, scope, r))
            return PERCENT
        view = await price_lists.rename_list(
            context.db, list_id=d.list_id, name=message.text, parent_telegram_id=who.parent,
            actor=who.name, now=now(context),
        )  # fmt: skip
        found = await price_list_reads.card(
            context.db, list_id=d.list_id, parent_telegram_id=who.parent
        )
    except PriceListError as exc:
        if exc.code not in ("bad_name", "name_taken"):
            await flow.render(context, d, *await _gone(context, scope, who, r, exc))
            return flow.end(context, DRAFT)
        if d.list_id is None:
            await flow.render(
                context, d, *views.ask_name(scope, r, views.answered(message.text, exc, r))
            )
        else:
            found = await price_list_reads.card(
                context.db, list_id=d.list_id, parent_telegram_id=who.parent
            )
            screen = views.ask_rename(
                found.price_list, scope, r, views.answered(message.text, exc, r)
            )
            await flow.render(context, d, *screen)
        return NAME
    return await _card(context, d, found, r, views.renamed(view, r))


async def got_percent(update: Update, context: BotContext) -> int | str:
    d, message = _draft(context), update.effective_message
    if d is None or d.name is None or message is None or message.text is None:
        return ConversationHandler.END
    scope, r = Scope(d.scope), await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return flow.end(context, DRAFT)
    try:
        view = await price_lists.create_list(
            context.db, name=d.name, percent_off=price_lists.parse_percent(message.text),
            parent_telegram_id=who.parent, actor=who.name, now=now(context),
        )  # fmt: skip
    except PriceListError as exc:
        if exc.code == "name_taken":  # someone else took it meanwhile: another name
            await flow.render(
                context, d, *views.ask_name(scope, r, views.answered(message.text, exc, r))
            )
            return NAME
        if exc.code in ("bad_percent", "percent_too_high"):
            await flow.render(
                context,
                d,
                *views.ask_percent(d.name, scope, r, views.answered(message.text, exc, r)),
            )
            return PERCENT
        await flow.render(context, d, *await _gone(context, scope, who, r, exc))
        return flow.end(context, DRAFT)
    found = await price_list_reads.card(context.db, list_id=view.id, parent_telegram_id=who.parent)
    return await _card(context, d, found, r, views.created(view, r))


async def got_price(update: Update, context: BotContext) -> int | str:
    d, message = _draft(context), update.effective_message
    if d is None or d.list_id is None or d.plan_id is None:
        return ConversationHandler.END
    if message is None or message.text is None:
        return PRICE
    scope, r = Scope(d.scope), await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return flow.end(context, DRAFT)
    try:
        typed = price_lists.parse_entry(message.text)
        found = await price_lists.set_entry(
            context.db, list_id=d.list_id, plan_id=d.plan_id, price=typed.price,
            percent_off=typed.percent_off, parent_telegram_id=who.parent, actor=who.name,
            now=now(context),
        )  # fmt: skip
    except PriceListError as exc:
        if exc.code not in ("bad_price", "bad_percent", "below_cost", "percent_too_high"):
            await flow.render(context, d, *await _gone(context, scope, who, r, exc))
            return flow.end(context, DRAFT)
        found = await price_list_reads.card(
            context.db, list_id=d.list_id, parent_telegram_id=who.parent
        )
        plan = next(p for p in found.plans if p.plan_id == d.plan_id)
        await flow.render(
            context,
            d,
            *views.ask_price(found, plan, scope, r, views.answered(message.text, exc, r)),
        )
        return PRICE
    plan = next(p for p in found.plans if p.plan_id == d.plan_id)
    return await _card(context, d, found, r, views.price_set(plan, r))


async def clear_instead(update: Update, context: BotContext) -> int | str:
    """🧹 on the price prompt: the plan follows the list's percentage again."""
    d = _draft(context)
    scope, list_id, plan_id = cb.CLEAR.parse(context)
    r = await reader(update, context)
    who = await actor(update, context, scope, r)
    if d is None or who is None:
        return flow.end(context, DRAFT)
    try:
        found = await price_lists.clear_entry(
            context.db, list_id=list_id, plan_id=plan_id, parent_telegram_id=who.parent,
            actor=who.name, now=now(context),
        )  # fmt: skip
    except PriceListError as exc:
        await _refused(update, r, exc)
        return PRICE
    if update.callback_query is not None:
        await answer(update.callback_query)
    plan = next((p for p in found.plans if p.plan_id == plan_id), None)
    return await _card(context, d, found, r, views.cleared(plan, r) if plan else "")


async def _gone(
    context: BotContext, scope: Scope, who: Actor, r: Reader, exc: PriceListError
) -> views.Screen:
    """The list (or the right to change it) is gone: say why, with a way back."""
    try:
        return await home_screen(context, scope, who, r, views.problem(exc, r))
    except PriceListError:
        return views.refused(views.problem(exc, r), r)


async def text_expected(update: Update, context: BotContext) -> int | str | None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(views.not_text(await translator(update, context)))
    return None


async def cancel(update: Update, context: BotContext) -> object:
    return await flow.leave(
        update, context, DRAFT, views.cancelled(await translator(update, context))
    )


async def timed_out(update: Update, context: BotContext) -> None:
    await flow.expire(context, DRAFT, views.timed_out(await translator(update, context)))


def form() -> flow.Flow:
    """The price-list form, for the one conversation all flows share."""
    typed = filters.TEXT & ~filters.COMMAND
    other = ~filters.COMMAND & ~filters.TEXT
    return flow.Flow(
        name="pricelist",
        draft_key=DRAFT,
        entry_points=[
            CallbackQueryHandler(start_new, pattern=cb.NEW.pattern()),
            CallbackQueryHandler(start_rename, pattern=cb.RENAME.pattern()),
            CallbackQueryHandler(start_price, pattern=cb.SET.pattern()),
        ],
        states={
            NAME: [MessageHandler(typed, got_name), MessageHandler(other, text_expected)],
            PERCENT: [MessageHandler(typed, got_percent), MessageHandler(other, text_expected)],
            PRICE: [
                MessageHandler(typed, got_price),
                MessageHandler(other, text_expected),
                CallbackQueryHandler(clear_instead, pattern=cb.CLEAR.pattern()),
            ],
        },
        fallbacks=[CallbackQueryHandler(cancel, pattern=cb.CANCEL.pattern())],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.cancelled,
    )
