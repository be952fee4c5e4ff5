"""The sale flow's first steps: who is sold to, up to the plan.

Activation: /activate -> username -> plan -> confirmation (cost, credit now and after,
new expiry) -> Confirm. Renewal: /renew -> customer (search or list) -> plan ->
confirmation -> Confirm. The plan, the confirmation and the sale are in ``selling``.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.services import customers, sale_quotes
from bot.services.customers import CustomerError
from bot.services.resellers import Role
from handlers import flow
from handlers.common import identify, now, refuse
from handlers.language import reader, translator
from handlers.sale import callbacks, views
from handlers.sale.draft import (
    DRAFT,
    PICK_CUSTOMER,
    USERNAME,
    SaleDraft,
    current_draft,
    end_flow,
    show_step,
)
from handlers.sale.selling import confirmation, show_plans
from handlers.views import not_registered
from models import OrderKind


async def _begin(update: Update, context: BotContext, kind: OrderKind) -> SaleDraft | None:
    """Common entry: only an active reseller may sell; the flow takes over a message."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return None
    identity = await identify(update, context)
    if identity.reseller is None or identity.role not in (Role.RESELLER, Role.ADMIN):
        r = await reader(update, context)
        if identity.role == Role.SUSPENDED:
            await refuse(update, views.error("suspended", {}, r))
        else:
            await refuse(update, not_registered(r.t, user.id))
        return None
    query = update.callback_query
    message_id = 0  # a command: the first step sends the flow's message
    if query is not None and isinstance(query.message, Message):
        await query.answer()
        message_id = query.message.message_id
    draft = SaleDraft(chat_id=chat.id, message_id=message_id, kind=kind)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    return draft


# --- activation --------------------------------------------------------------------------


async def start_activation(update: Update, context: BotContext) -> int | str:
    draft = await _begin(update, context, OrderKind.ACTIVATION)
    if draft is None:
        return ConversationHandler.END
    await show_step(context, draft, views.ask_username(await reader(update, context)))
    return USERNAME


async def got_username(update: Update, context: BotContext) -> int | str:
    draft = current_draft(context)
    message = update.effective_message
    user = update.effective_user
    if draft is None or message is None or message.text is None or user is None:
        return ConversationHandler.END
    try:
        draft.username = await sale_quotes.check_new_username(context.db, user.id, message.text)
    except CustomerError as exc:
        r = await reader(update, context)
        problem = views.bad_username(message.text[:40], exc.code, exc.params, r)
        await show_step(context, draft, views.ask_username(r, problem))
        return USERNAME
    return await show_plans(update, context, draft)


async def username_expected(update: Update, context: BotContext) -> int | str:
    draft = current_draft(context)
    if draft is None:
        return ConversationHandler.END
    r = await reader(update, context)
    await show_step(context, draft, views.ask_username(r, views.not_text(r)))
    return USERNAME


# --- renewal: choosing the customer ---------------------------------------------------------


async def start_renewal(update: Update, context: BotContext) -> int | str:
    draft = await _begin(update, context, OrderKind.RENEWAL)
    if draft is None:
        return ConversationHandler.END
    if context.args:
        draft.search = " ".join(context.args)[:32]
    return await _show_customer_picker(update, context, draft, 0)


async def _show_customer_picker(
    update: Update, context: BotContext, draft: SaleDraft, page: int
) -> int | str:
    user = update.effective_user
    assert user is not None
    found = await customers.list_customers(
        context.db, user.id, now=now(context), search=draft.search, page=page,
        page_size=views.PAGE_SIZE,
    )  # fmt: skip
    screen = views.customer_picker(found, draft.search, await reader(update, context))
    await show_step(context, draft, screen)
    return PICK_CUSTOMER


async def customer_page(update: Update, context: BotContext) -> int | str:
    draft = current_draft(context)
    if draft is None or update.callback_query is None:
        return ConversationHandler.END
    await update.callback_query.answer()
    page = callbacks.CUSTOMER_PAGE.parse(context)
    return await _show_customer_picker(update, context, draft, page)


async def customer_search(update: Update, context: BotContext) -> int | str:
    draft = current_draft(context)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return ConversationHandler.END
    draft.search = message.text.strip()[:32] or None
    return await _show_customer_picker(update, context, draft, 0)


async def picked_customer(update: Update, context: BotContext) -> int | str:
    draft = current_draft(context)
    query = update.callback_query
    user = update.effective_user
    if draft is None or query is None or user is None:
        return ConversationHandler.END
    customer_id = callbacks.PICK_CUSTOMER.parse(context)
    try:
        # The id in the button is checked against the reseller's own customers.
        customer = await customers.customer_card(context.db, user.id, customer_id)
    except CustomerError as exc:
        r = await reader(update, context)
        await refuse(update, views.error(exc.code, exc.params, r))
        return PICK_CUSTOMER
    await query.answer()
    draft.customer_id, draft.username = customer.id, customer.username
    return await show_plans(update, context, draft)


async def _renewal_of(
    update: Update, context: BotContext, customer_id: int
) -> tuple[SaleDraft | None, int | str | None]:
    """Entries that name the customer: a draft on it, or how the flow ended."""
    draft = await _begin(update, context, OrderKind.RENEWAL)
    user = update.effective_user
    if draft is None or user is None:
        return None, ConversationHandler.END
    try:
        customer = await customers.customer_card(context.db, user.id, customer_id)
    except CustomerError as exc:
        r = await reader(update, context)
        await show_step(context, draft, views.refused(views.error(exc.code, exc.params, r), r))
        return None, end_flow(context)
    draft.customer_id, draft.username = customer.id, customer.username
    return draft, None


async def renew_customer(update: Update, context: BotContext) -> int | str:
    """Entry from a customer card: renew this customer."""
    draft, ended = await _renewal_of(update, context, callbacks.RENEW_CUSTOMER.parse(context))
    if draft is None:
        return ended if ended is not None else ConversationHandler.END
    return await show_plans(update, context, draft)


async def renew_requested(update: Update, context: BotContext) -> int | str:
    """Entry from a customer's renewal request: straight to the confirmation screen."""
    customer_id, plan_id = callbacks.RENEW_REQUESTED.parse(context)
    draft, ended = await _renewal_of(update, context, customer_id)
    if draft is None:
        return ended if ended is not None else ConversationHandler.END
    return await confirmation(update, context, draft, plan_id)


async def cancel_flow(update: Update, context: BotContext) -> int | str:
    t = await translator(update, context)
    return await flow.leave(update, context, DRAFT, views.cancelled(t))


async def timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, DRAFT, views.timed_out(t))


async def button_expected(update: Update, context: BotContext) -> int | str | None:
    if update.effective_message is not None:
        t = await translator(update, context)
        await update.effective_message.reply_text(views.tap_a_button(t))
    return None
