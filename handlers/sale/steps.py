"""The sale flow's steps: activation, renewal, the confirmation and the sale itself.

Activation: /activate -> username -> plan -> confirmation (cost, credit now and after,
new expiry) -> Confirm. Renewal: /renew -> customer (search or list) -> plan ->
confirmation -> Confirm. The Confirm button carries a nonce minted with its screen; the
sale is keyed by it, so a second tap or an old screen shows the first result.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from dataclasses import dataclass
from typing import cast

import qrcode  # type: ignore[import-untyped]
from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.services import customers
from bot.services.customers import (
    CustomerError,
    PlanUnavailable,
    SaleFailed,
    SaleInDoubt,
    SaleInProgress,
)
from bot.services.ledger import InsufficientCredit
from bot.services.panel_provider import Panels
from bot.services.provisioning import SUBSCRIPTION_URL, Provider
from bot.services.resellers import Role
from handlers import flow
from handlers.common import answer, identify, not_modified, refuse
from handlers.flow import FlowMessage
from handlers.language import translator
from handlers.sale import callbacks, views
from handlers.sale.views import Reader
from handlers.start import not_registered
from models import OrderKind

# The flow's steps (state names are unique across every flow: see handlers/flow.py).
USERNAME, PICK_CUSTOMER, PICK_PLAN, CONFIRM = (
    "sale:username",
    "sale:pick_customer",
    "sale:pick_plan",
    "sale:confirm",
)
DRAFT = "sale_draft"


@dataclass
class SaleDraft(FlowMessage):
    kind: OrderKind = OrderKind.ACTIVATION
    username: str | None = None
    customer_id: int | None = None
    plan_id: int | None = None
    nonce: str = ""
    search: str | None = None


def now(context: BotContext) -> dt.datetime:
    """The application's injected clock (``bot_data["clock"]``, as the jobs use), or UTC now."""
    clock = context.bot_data.get("clock")
    return cast(dt.datetime, clock()) if clock else dt.datetime.now(dt.UTC)


async def reader(update: Update, context: BotContext) -> Reader:
    t = await translator(update, context)
    return Reader(t, context.settings.currency, context.settings.zone)


def provider(context: BotContext) -> Provider:
    return context.bot_data["provider"]  # type: ignore[no-any-return]


def panels(context: BotContext) -> Panels | None:
    return context.bot_data.get("panels")


def qr_png(text: str) -> bytes:
    """A QR code of ``text`` as a PNG, made here: the link never goes to a third party."""
    image = qrcode.make(text, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def invite_link(context: BotContext, token: str) -> str:
    return f"https://t.me/{context.bot.username}?start={token}"


def _draft(context: BotContext) -> SaleDraft | None:
    return flow.draft(context, DRAFT, SaleDraft)


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def _show(context: BotContext, draft: SaleDraft, screen: views.Screen) -> None:
    await flow.render(context, draft, *screen)


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
    await _show(context, draft, views.ask_username(await reader(update, context)))
    return USERNAME


async def got_username(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    message = update.effective_message
    user = update.effective_user
    if draft is None or message is None or message.text is None or user is None:
        return ConversationHandler.END
    try:
        draft.username = await customers.check_new_username(context.db, user.id, message.text)
    except CustomerError as exc:
        r = await reader(update, context)
        problem = views.bad_username(message.text[:40], exc.code, exc.params, r)
        await _show(context, draft, views.ask_username(r, problem))
        return USERNAME
    return await _show_plans(update, context, draft)


async def username_expected(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    if draft is None:
        return ConversationHandler.END
    r = await reader(update, context)
    await _show(context, draft, views.ask_username(r, views.not_text(r)))
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
    await _show(context, draft, screen)
    return PICK_CUSTOMER


async def customer_page(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    if draft is None or update.callback_query is None:
        return ConversationHandler.END
    await update.callback_query.answer()
    page = callbacks.CUSTOMER_PAGE.parse(context)
    return await _show_customer_picker(update, context, draft, page)


async def customer_search(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return ConversationHandler.END
    draft.search = message.text.strip()[:32] or None
    return await _show_customer_picker(update, context, draft, 0)


async def picked_customer(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
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
    return await _show_plans(update, context, draft)


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
        await _show(context, draft, views.refused(views.error(exc.code, exc.params, r), r))
        return None, _end(context)
    draft.customer_id, draft.username = customer.id, customer.username
    return draft, None


async def renew_customer(update: Update, context: BotContext) -> int | str:
    """Entry from a customer card: renew this customer."""
    draft, ended = await _renewal_of(update, context, callbacks.RENEW_CUSTOMER.parse(context))
    if draft is None:
        return ended if ended is not None else ConversationHandler.END
    return await _show_plans(update, context, draft)


async def renew_requested(update: Update, context: BotContext) -> int | str:
    """Entry from a customer's renewal request: straight to the confirmation screen."""
    customer_id, plan_id = callbacks.RENEW_REQUESTED.parse(context)
    draft, ended = await _renewal_of(update, context, customer_id)
    if draft is None:
        return ended if ended is not None else ConversationHandler.END
    return await _confirmation(update, context, draft, plan_id)


# --- plan and confirmation ------------------------------------------------------------------


async def _show_plans(
    update: Update, context: BotContext, draft: SaleDraft, problem: str | None = None
) -> int | str:
    r = await reader(update, context)
    plans = await customers.active_plans(context.db)
    if not plans:
        await _show(context, draft, views.no_plans(r))
        return _end(context)
    await _show(context, draft, views.plans(draft.kind, draft.username or "", plans, r, problem))
    return PICK_PLAN


async def picked_plan(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    query = update.callback_query
    if draft is None or query is None:
        return ConversationHandler.END
    await query.answer()
    return await _confirmation(update, context, draft, callbacks.PLAN.parse(context))


async def _confirmation(
    update: Update, context: BotContext, draft: SaleDraft, plan_id: int
) -> int | str:
    user = update.effective_user
    assert user is not None
    r = await reader(update, context)
    try:
        q = await customers.quote(
            context.db, telegram_id=user.id, plan_id=plan_id, now=now(context),
            customer_id=draft.customer_id,
        )  # fmt: skip
    except PlanUnavailable as exc:
        problem = views.error(exc.code, exc.params, r)
        return await _show_plans(update, context, draft, problem)
    except CustomerError as exc:
        await _show(context, draft, views.refused(views.error(exc.code, exc.params, r), r))
        return _end(context)
    username = draft.username or ""
    if q.missing:
        plans = await customers.active_plans(context.db)
        await _show(context, draft, views.plans_short_of_credit(draft.kind, username, q, plans, r))
        return PICK_PLAN
    draft.plan_id = plan_id
    # A fresh nonce per screen: the sale is keyed by it.
    draft.nonce = secrets.token_urlsafe(9)
    await _show(context, draft, views.confirmation(draft.kind, username, q, draft.nonce, r))
    return CONFIRM


def _sale_key(user_id: int, nonce: str) -> str:
    return f"sale:{user_id}:{nonce}"


def _result(result: customers.SaleResult, context: BotContext, r: Reader) -> views.Screen:
    token = result.customer.link_token
    return views.result(result, invite_link(context, token) if token else None, r)


async def confirm(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    query = update.callback_query
    user = update.effective_user
    if draft is None or query is None or user is None:
        return ConversationHandler.END
    nonce = callbacks.CONFIRM.parse(context)
    if nonce != draft.nonce or draft.plan_id is None:
        await show_earlier_sale(update, context)
        return CONFIRM
    r = await reader(update, context)
    await query.answer(views.working(r.t))
    try:
        result = await customers.sell(
            context.db,
            provider(context),
            telegram_id=user.id,
            plan_id=draft.plan_id,
            key=_sale_key(user.id, nonce),
            now=now(context),
            provider_seconds=context.settings.provisioning_timeout_seconds,
            username=draft.username if draft.kind == OrderKind.ACTIVATION else None,
            customer_id=draft.customer_id,
            panels=panels(context),
        )
    except InsufficientCredit as exc:
        await _show(context, draft, views.short_of_credit(exc.requested, exc.missing, r))
        return _end(context)
    except PlanUnavailable as exc:
        problem = views.error(exc.code, exc.params, r)
        return await _show_plans(update, context, draft, problem)
    except SaleInDoubt as exc:
        await _show(context, draft, views.in_doubt(views.error(exc.code, exc.params, r), r))
        return _end(context)
    except (SaleFailed, CustomerError) as exc:
        await _show(context, draft, views.refused(views.error(exc.code, exc.params, r), r))
        return _end(context)
    await _show(context, draft, _result(result, context, r))
    link = result.customer.details.get(SUBSCRIPTION_URL)
    if link:
        # After the result is on screen: a failed photo must not hide what was sold.
        caption = views.qr_caption(result.customer.username, r)
        await context.bot.send_photo(draft.chat_id, qr_png(link), caption=caption)
    return _end(context)


async def show_earlier_sale(update: Update, context: BotContext) -> None:
    """A Confirm from an older screen, or tapped again: show what it did, charge nothing."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    r = await reader(update, context)
    try:
        result = await customers.earlier_sale(
            context.db,
            telegram_id=user.id,
            key=_sale_key(user.id, callbacks.CONFIRM.parse(context)),
        )
    except (SaleFailed, SaleInProgress, SaleInDoubt) as exc:
        await refuse(update, views.error(exc.code, exc.params, r))
        return
    if result is None:
        await answer(query, views.no_longer_valid(r.t), alert=True)
        return
    await answer(query, views.already_done(r.t), alert=True)
    if isinstance(query.message, Message):
        try:
            text, keyboard = _result(result, context, r)
            await query.edit_message_text(text, reply_markup=keyboard)
        except BadRequest as exc:
            if not not_modified(exc):
                raise


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
