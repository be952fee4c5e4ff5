"""The sale's last steps: the plan, the confirmation and the sale itself.

The Confirm button carries a nonce minted with its screen; the sale is keyed by it, so a
second tap or an old screen shows the first result and charges nothing.
"""

from __future__ import annotations

import io
import secrets

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.services import sale_quotes, sale_settlement, sales
from bot.services.customers import CustomerError
from bot.services.ledger import InsufficientCredit
from bot.services.panel_provider import Panels
from bot.services.provisioning import SUBSCRIPTION_URL, Provider
from bot.services.sale_errors import (
    PlanUnavailable,
    PriceChanged,
    SaleFailed,
    SaleInDoubt,
    SaleInProgress,
)
from handlers.common import answer, not_modified, now, refuse
from handlers.language import reader
from handlers.reader import Reader
from handlers.sale import callbacks, views
from handlers.sale.draft import (
    CONFIRM,
    PICK_PLAN,
    SaleDraft,
    current_draft,
    end_flow,
    invite_link,
    show_step,
)
from models import OrderKind


def provider(context: BotContext) -> Provider:
    return context.bot_data["provider"]  # type: ignore[no-any-return]


def panels(context: BotContext) -> Panels | None:
    return context.bot_data.get("panels")


def qr_png(text: str) -> bytes:
    """A QR code of ``text`` as a PNG, made here: the link never goes to a third party."""
    import qrcode  # type: ignore[import-untyped]  # on first use: it brings Pillow in

    image = qrcode.make(text, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def show_plans(
    update: Update, context: BotContext, draft: SaleDraft, problem: str | None = None
) -> int | str:
    r = await reader(update, context)
    user = update.effective_user
    # At the seller's own prices (its price list).
    plans = await sale_quotes.active_plans(context.db, user.id if user else None)
    if not plans:
        await show_step(context, draft, views.no_plans(r))
        return end_flow(context)
    await show_step(
        context, draft, views.plans(draft.kind, draft.username or "", plans, r, problem)
    )
    return PICK_PLAN


async def picked_plan(update: Update, context: BotContext) -> int | str:
    draft = current_draft(context)
    query = update.callback_query
    if draft is None or query is None:
        return ConversationHandler.END
    await query.answer()
    return await confirmation(update, context, draft, callbacks.PLAN.parse(context))


async def confirmation(
    update: Update,
    context: BotContext,
    draft: SaleDraft,
    plan_id: int,
    problem: str | None = None,
) -> int | str:
    user = update.effective_user
    assert user is not None
    r = await reader(update, context)
    try:
        q = await sale_quotes.quote(
            context.db, telegram_id=user.id, plan_id=plan_id, now=now(context),
            customer_id=draft.customer_id,
        )  # fmt: skip
    except PlanUnavailable as exc:
        problem = views.error(exc.code, exc.params, r)
        return await show_plans(update, context, draft, problem)
    except CustomerError as exc:
        await show_step(context, draft, views.refused(views.error(exc.code, exc.params, r), r))
        return end_flow(context)
    username = draft.username or ""
    if q.missing:
        plans = await sale_quotes.active_plans(context.db, user.id)
        await show_step(
            context, draft, views.plans_short_of_credit(draft.kind, username, q, plans, r)
        )
        return PICK_PLAN
    draft.plan_id, draft.price = plan_id, q.price
    # A fresh nonce per screen: the sale is keyed by it.
    draft.nonce = secrets.token_urlsafe(9)
    screen = views.confirmation(draft.kind, username, q, draft.nonce, r, problem)
    await show_step(context, draft, screen)
    return CONFIRM


def _sale_key(user_id: int, nonce: str) -> str:
    return f"sale:{user_id}:{nonce}"


def _result(result: sale_settlement.SaleResult, context: BotContext, r: Reader) -> views.Screen:
    token = result.customer.link_token
    return views.result(result, invite_link(context, token) if token else None, r)


async def confirm(update: Update, context: BotContext) -> int | str:
    draft = current_draft(context)
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
        result = await sales.sell(
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
            expected_price=draft.price,
        )
    except InsufficientCredit as exc:
        await show_step(context, draft, views.short_of_credit(exc.requested, exc.missing, r))
        return end_flow(context)
    except PlanUnavailable as exc:
        problem = views.error(exc.code, exc.params, r)
        return await show_plans(update, context, draft, problem)
    except PriceChanged as exc:
        # The new price on a fresh screen, with a fresh nonce: confirmed only if seen.
        problem = views.error(exc.code, exc.params, r)
        return await confirmation(update, context, draft, draft.plan_id, problem)
    except SaleInDoubt as exc:
        await show_step(context, draft, views.in_doubt(views.error(exc.code, exc.params, r), r))
        return end_flow(context)
    except (SaleFailed, CustomerError) as exc:
        await show_step(context, draft, views.refused(views.error(exc.code, exc.params, r), r))
        return end_flow(context)
    await show_step(context, draft, _result(result, context, r))
    link = result.customer.details.get(SUBSCRIPTION_URL)
    if link:
        # After the result is on screen: a failed photo must not hide what was sold.
        caption = views.qr_caption(result.customer.username, r)
        await context.bot.send_photo(draft.chat_id, qr_png(link), caption=caption)
    return end_flow(context)


async def show_earlier_sale(update: Update, context: BotContext) -> None:
    """A Confirm from an older screen, or tapped again: show what it did, charge nothing."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    r = await reader(update, context)
    try:
        result = await sale_settlement.earlier_sale(
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
