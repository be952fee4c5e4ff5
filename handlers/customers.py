"""The reseller's customers: activation, renewal, the list and the customer card.

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
from html import escape
from typing import Any

import qrcode  # type: ignore[import-untyped]
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.services import customers
from bot.services.customers import (
    USERNAME_RULE,
    CustomerError,
    CustomerView,
    Filter,
    PlanUnavailable,
    SaleFailed,
    SaleInDoubt,
    SaleInProgress,
    SaleQuote,
    SaleResult,
)
from bot.services.ledger import InsufficientCredit
from bot.services.panel_provider import Panels
from bot.services.provisioning import SUBSCRIPTION_URL, Provider
from bot.services.resellers import Role
from handlers import flow, pages
from handlers.common import (
    NOT_REGISTERED,
    clip,
    identify,
    local_date,
    matched,
    money,
    not_modified,
    refuse,
    show,
)
from handlers.flow import FlowMessage
from models import CustomerStatus, OrderKind

# The flow's steps (state names are unique across every flow: see handlers/flow.py).
USERNAME, PICK_CUSTOMER, PICK_PLAN, CONFIRM = (
    "sale:username",
    "sale:pick_customer",
    "sale:pick_plan",
    "sale:confirm",
)
DRAFT = "sale_draft"
PAGE_SIZE = 8
CANCEL = "cu:x"
DETAIL_LABELS = {SUBSCRIPTION_URL: "Subscription link", "username": "Username",
                 "password": "Password"}  # fmt: skip
FILTER_LABELS = {
    Filter.ALL: "All",
    Filter.ACTIVE: "Active",
    Filter.EXPIRING: "Expiring",
    Filter.EXPIRED: "Expired",
}


@dataclass
class SaleDraft(FlowMessage):
    kind: OrderKind = OrderKind.ACTIVATION
    username: str | None = None
    customer_id: int | None = None
    plan_id: int | None = None
    nonce: str = ""
    search: str | None = None


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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _draft(context: BotContext) -> SaleDraft | None:
    return flow.draft(context, DRAFT, SaleDraft)


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


def _cancel_row() -> list[Any]:
    return [keyboards.button("✖️ Cancel", CANCEL)]


async def _begin(update: Update, context: BotContext, draft_kind: OrderKind) -> SaleDraft | None:
    """Common entry: only an active reseller may sell; the flow takes over a message."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return None
    identity = await identify(update, context)
    if identity.reseller is None or identity.role not in (Role.RESELLER, Role.ADMIN):
        if identity.role == Role.SUSPENDED:
            await refuse(update, "Your reseller account is suspended, so sales are paused.")
        else:
            await refuse(update, NOT_REGISTERED.format(user_id=user.id))
        return None
    query = update.callback_query
    message_id = 0  # a command: the first step sends the flow's message
    if query is not None and isinstance(query.message, Message):
        await query.answer()
        message_id = query.message.message_id
    draft = SaleDraft(chat_id=chat.id, message_id=message_id, kind=draft_kind)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    return draft


# --- activation --------------------------------------------------------------------------


def _ask_username(problem: str | None = None) -> str:
    text = f"<b>New customer</b>\nSend the customer's username ({escape(USERNAME_RULE)})."
    return f"⚠️ {escape(problem)}\n\n{text}" if problem else text


async def start_activation(update: Update, context: BotContext) -> int | str:
    draft = await _begin(update, context, OrderKind.ACTIVATION)
    if draft is None:
        return ConversationHandler.END
    await flow.render(context, draft, _ask_username(), InlineKeyboardMarkup([_cancel_row()]))
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
        # Name the input: a second mistake must change the screen too.
        problem = f"“{clip(message.text)}”: {exc}"
        await flow.render(
            context, draft, _ask_username(problem), InlineKeyboardMarkup([_cancel_row()])
        )
        return USERNAME
    return await _show_plans(context, draft)


async def username_expected(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    if draft is None:
        return ConversationHandler.END
    await flow.render(
        context, draft, _ask_username("Send the username as text."),
        InlineKeyboardMarkup([_cancel_row()]),
    )  # fmt: skip
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
        context.db, user.id, now=_now(), search=draft.search, page=page, page_size=PAGE_SIZE
    )
    rows = [
        [keyboards.button(f"{c.username} · {local_date(c.expires_at, context)}", "cu", "pk", c.id)]
        for c in found.customers
    ]
    nav = []
    if found.page > 0:
        nav.append(keyboards.button("◀️", "cu", "pg", found.page - 1))
    if found.page < found.pages - 1:
        nav.append(keyboards.button("▶️", "cu", "pg", found.page + 1))
    if nav:
        rows.append(nav)
    rows.append(_cancel_row())
    searching = f" matching “{escape(draft.search)}”" if draft.search else ""
    if found.total:
        text = (
            f"<b>Renew</b>\nPick the customer{searching} (soonest expiry first, "
            f"page {found.page + 1} of {found.pages}), or send part of a username to search."
        )
    else:
        text = f"<b>Renew</b>\nNo customers{searching}. Send part of a username to search again."
    # The customers are the buttons; the text only says which page and what was searched.
    await flow.render(context, draft, pages.fit(text.split("\n")), InlineKeyboardMarkup(rows))
    return PICK_CUSTOMER


async def customer_page(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    if draft is None or update.callback_query is None:
        return ConversationHandler.END
    await update.callback_query.answer()
    return await _show_customer_picker(update, context, draft, int(matched(context)))


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
    try:
        # The id in the button is checked against the reseller's own customers.
        customer = await customers.customer_card(context.db, user.id, int(matched(context)))
    except CustomerError as exc:
        await query.answer(str(exc), show_alert=True)
        return PICK_CUSTOMER
    await query.answer()
    draft.customer_id, draft.username = customer.id, customer.username
    return await _show_plans(context, draft)


async def renew_customer(update: Update, context: BotContext) -> int | str:
    """Entry from a customer card: renew this customer."""
    draft = await _begin(update, context, OrderKind.RENEWAL)
    user = update.effective_user
    if draft is None or user is None:
        return ConversationHandler.END
    try:
        customer = await customers.customer_card(context.db, user.id, int(matched(context)))
    except CustomerError as exc:
        await flow.render(context, draft, escape(str(exc)), keyboards.back_to_menu())
        return _end(context)
    draft.customer_id, draft.username = customer.id, customer.username
    return await _show_plans(context, draft)


async def renew_requested(update: Update, context: BotContext) -> int | str:
    """Entry from a customer's renewal request: straight to the confirmation screen."""
    draft = await _begin(update, context, OrderKind.RENEWAL)
    user = update.effective_user
    if draft is None or user is None or not context.matches:
        return ConversationHandler.END
    customer_id, plan_id = (int(g) for g in context.matches[0].groups())
    try:
        customer = await customers.customer_card(context.db, user.id, customer_id)
    except CustomerError as exc:
        await flow.render(context, draft, escape(str(exc)), keyboards.back_to_menu())
        return _end(context)
    draft.customer_id, draft.username = customer.id, customer.username
    return await _confirmation(context, draft, plan_id, user.id)


# --- plan and confirmation ------------------------------------------------------------------


def _plans_keyboard(plans: list[customers.PlanView], context: BotContext) -> InlineKeyboardMarkup:
    rows = [
        [keyboards.button(f"{p.name} · {p.days} days · {money(p.price, context)}", "cu", "p", p.id)]
        for p in plans
    ]
    rows.append(_cancel_row())
    return InlineKeyboardMarkup(rows)


def _title(draft: SaleDraft) -> str:
    verb = "New customer" if draft.kind == OrderKind.ACTIVATION else "Renew"
    return f"<b>{verb}: {escape(draft.username or '')}</b>"


async def _show_plans(
    context: BotContext, draft: SaleDraft, problem: str | None = None
) -> int | str:
    plans = await customers.active_plans(context.db)
    if not plans:
        await flow.render(
            context, draft, "No plans are available yet. Contact an admin.",
            keyboards.back_to_menu(),
        )  # fmt: skip
        return _end(context)
    text = f"{_title(draft)}\nPick a plan:"
    if problem:
        text = f"{problem}\n\n{text}"
    await flow.render(context, draft, text, _plans_keyboard(plans, context))
    return PICK_PLAN


async def picked_plan(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    query = update.callback_query
    user = update.effective_user
    if draft is None or query is None or user is None:
        return ConversationHandler.END
    await query.answer()
    return await _confirmation(context, draft, int(matched(context)), user.id)


def _missing_text(missing: int, price: int, context: BotContext) -> str:
    return (
        f"⚠️ Not enough credit: this costs {money(price, context)} and you are "
        f"{money(missing, context)} short. Top up, or pick a cheaper plan."
    )


def _top_up_row() -> list[Any]:
    return [keyboards.button("➕ Top up", keyboards.TOPUP_NEW)]


async def _confirmation(
    context: BotContext, draft: SaleDraft, plan_id: int, user_id: int
) -> int | str:
    try:
        q: SaleQuote = await customers.quote(
            context.db, telegram_id=user_id, plan_id=plan_id, now=_now(),
            customer_id=draft.customer_id,
        )  # fmt: skip
    except PlanUnavailable as exc:
        return await _show_plans(context, draft, f"⚠️ {escape(str(exc))}")
    except CustomerError as exc:
        await flow.render(context, draft, f"⚠️ {escape(str(exc))}", keyboards.back_to_menu())
        return _end(context)
    if q.missing:
        plans = await customers.active_plans(context.db)
        keyboard = _plans_keyboard(plans, context)
        keyboard = InlineKeyboardMarkup([_top_up_row(), *keyboard.inline_keyboard])
        await flow.render(
            context, draft, f"{_missing_text(q.missing, q.price, context)}\n\n{_title(draft)}",
            keyboard,
        )  # fmt: skip
        return PICK_PLAN
    draft.plan_id = plan_id
    # A fresh nonce per screen: the sale is keyed by it.
    draft.nonce = secrets.token_urlsafe(9)
    verb = "activation" if draft.kind == OrderKind.ACTIVATION else "renewal"
    text = (
        f"<b>Confirm {verb}</b>\n"
        f"Customer: {escape(draft.username or '')}\n"
        f"Plan: {escape(q.plan.name)} ({q.plan.days} days)\n"
        f"Cost: <b>{money(q.price, context)}</b>\n"
        f"Available: {money(q.available_now, context)} → {money(q.available_after, context)}\n"
        f"New expiry: <b>{local_date(q.expires_at, context)}</b>"
    )
    keyboard = InlineKeyboardMarkup(
        [[keyboards.button("✅ Confirm", "cu", "c", draft.nonce), *_cancel_row()]]
    )
    await flow.render(context, draft, text, keyboard)
    return CONFIRM


def _sale_key(user_id: int, nonce: str) -> str:
    return f"sale:{user_id}:{nonce}"


def invite_link(context: BotContext, token: str) -> str:
    return f"https://t.me/{context.bot.username}?start={token}"


def _result_text(result: SaleResult, context: BotContext) -> str:
    c = result.customer
    done = "activated" if result.kind == OrderKind.ACTIVATION else "renewed"
    head = "\n".join(
        [
            f"✅ <b>{escape(c.username)} {done}</b> until {local_date(c.expires_at, context)}",
            f"Plan: {escape(c.plan.name)} ({c.plan.days} days)",
            f"Charged: {money(result.price, context)} · available now "
            f"{money(result.balance.available, context)}",
        ]
    )
    link = ""
    if result.kind == OrderKind.ACTIVATION and c.link_token:
        link = (
            "\n\nSend this invite link to the customer; it links their Telegram chat to the "
            f"subscription for status and reminders:\n{invite_link(context, c.link_token)}"
        )
    details = [
        f"{escape(DETAIL_LABELS.get(key, key))}: <code>{escape(value)}</code>"
        for key, value in c.details.items()
    ]
    if not details:
        return head + link
    # What the provider returned is cut if it must, never the invite link.
    room = pages.TEXT_LIMIT - pages.length(head + link) - 1
    return f"{head}\n{pages.fit(details, room)}{link}"


def _result_keyboard(result: SaleResult) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                keyboards.button("👤 Customer card", "cu", "v", result.customer.id),
                keyboards.button("⬅️ Menu", keyboards.MENU),
            ]
        ]
    )


async def confirm(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    query = update.callback_query
    user = update.effective_user
    if draft is None or query is None or user is None:
        return ConversationHandler.END
    nonce = matched(context)
    if nonce != draft.nonce or draft.plan_id is None:
        await show_earlier_sale(update, context)
        return CONFIRM
    await query.answer("Working on it…")
    try:
        result = await customers.sell(
            context.db,
            provider(context),
            telegram_id=user.id,
            plan_id=draft.plan_id,
            key=_sale_key(user.id, nonce),
            now=_now(),
            provider_seconds=context.settings.provisioning_timeout_seconds,
            username=draft.username if draft.kind == OrderKind.ACTIVATION else None,
            customer_id=draft.customer_id,
            panels=panels(context),
        )
    except InsufficientCredit as exc:
        await flow.render(
            context, draft, _missing_text(exc.missing, exc.requested, context),
            InlineKeyboardMarkup([_top_up_row(), [keyboards.button("⬅️ Menu", keyboards.MENU)]]),
        )  # fmt: skip
        return _end(context)
    except PlanUnavailable as exc:
        return await _show_plans(context, draft, f"⚠️ {escape(str(exc))}")
    except SaleInDoubt as exc:
        await flow.render(context, draft, f"⏳ {escape(str(exc))}", keyboards.back_to_menu())
        return _end(context)
    except (SaleFailed, CustomerError) as exc:
        await flow.render(context, draft, f"⚠️ {escape(str(exc))}", keyboards.back_to_menu())
        return _end(context)
    await flow.render(context, draft, _result_text(result, context), _result_keyboard(result))
    link = result.customer.details.get(SUBSCRIPTION_URL)
    if link:
        # After the result is on screen: a failed photo must not hide what was sold.
        await context.bot.send_photo(
            draft.chat_id, qr_png(link), caption=f"QR code of {escape(result.customer.username)}'s "
            "subscription link",
        )  # fmt: skip
    return _end(context)


async def show_earlier_sale(update: Update, context: BotContext) -> None:
    """A Confirm from an older screen, or tapped again: show what it did, charge nothing."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    try:
        result = await customers.earlier_sale(
            context.db, telegram_id=user.id, key=_sale_key(user.id, matched(context))
        )
    except (SaleFailed, SaleInProgress, SaleInDoubt) as exc:
        await query.answer(str(exc)[:200], show_alert=True)
        return
    if result is None:
        await query.answer("This confirmation is no longer valid.", show_alert=True)
        return
    await query.answer("Already done: nothing more was charged.", show_alert=True)
    if isinstance(query.message, Message):
        try:
            await query.edit_message_text(
                _result_text(result, context), reply_markup=_result_keyboard(result)
            )
        except BadRequest as exc:
            if not not_modified(exc):
                raise


async def cancel_flow(update: Update, context: BotContext) -> int | str:
    return await flow.leave(update, context, DRAFT, "Cancelled. Nothing was charged.")


async def timed_out(update: Update, context: BotContext) -> None:
    await flow.expire(
        context, DRAFT, "⏱ This step timed out; nothing was charged. Start again from /start."
    )


async def button_expected(update: Update, context: BotContext) -> int | str | None:
    if update.effective_message is not None:
        await update.effective_message.reply_text("Tap one of the buttons above, or /cancel.")
    return None


# --- the list and the card ------------------------------------------------------------------


async def list_customers(update: Update, context: BotContext) -> None:
    """/customers [search], and the filter and page buttons."""
    user = update.effective_user
    if user is None:
        return
    identity = await identify(update, context)
    if identity.reseller is None:
        await refuse(update, NOT_REGISTERED.format(user_id=user.id))
        return
    flt, page, search = Filter.ALL, 0, None
    if context.matches:
        flt, page = Filter(context.matches[0].group(1)), int(context.matches[0].group(2))
    elif context.args:
        search = " ".join(context.args)[:32]
    now = _now()
    found = await customers.list_customers(
        context.db, user.id, now=now, flt=flt, search=search, page=page, page_size=PAGE_SIZE
    )
    heading = f"👥 <b>Customers</b> · {FILTER_LABELS[flt].lower()}"
    if search:
        heading += f" matching “{escape(search)}”"
    lines = [f"{heading} ({found.total})"]
    if not found.customers:
        lines.append("None.")
    rows = []
    for c in found.customers:
        state = _state(c, now)
        lines.append(f"• {escape(c.username)} · {local_date(c.expires_at, context)} · {state}")
        rows.append([keyboards.button(f"{c.username}", "cu", "v", c.id)])
    nav = []
    if found.page > 0:
        nav.append(keyboards.button("◀️", "cu", "l", flt.value, found.page - 1))
    if found.page < found.pages - 1:
        nav.append(keyboards.button("▶️", "cu", "l", flt.value, found.page + 1))
    if nav:
        rows.append(nav)
    rows.append(
        [
            keyboards.button(("• " if f == flt else "") + label, "cu", "l", f.value, 0)
            for f, label in FILTER_LABELS.items()
        ]
    )
    rows.append([keyboards.button("⬅️ Menu", keyboards.MENU)])
    # A page is a fixed number of customers: the longest lines are cut if it must fit.
    await show(update, pages.fit(lines), InlineKeyboardMarkup(rows))


def _linked(customer: CustomerView, context: BotContext) -> str:
    if customer.linked_at is not None:
        return f"linked since {local_date(customer.linked_at, context)}"
    return "linked" if customer.linked else "not linked"


def _state(customer: CustomerView, now: dt.datetime) -> str:
    if customer.status in (CustomerStatus.PAUSED, CustomerStatus.CANCELLED):
        return customer.status.value
    return "expired" if customer.is_expired(now) else "active"


async def card(update: Update, context: BotContext) -> None:
    user = update.effective_user
    query = update.callback_query
    if user is None or query is None:
        return
    try:
        c = await customers.customer_card(context.db, user.id, int(matched(context)))
    except CustomerError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    now = _now()
    lines = [
        f"👤 <b>{escape(c.username)}</b>",
        f"Plan: {escape(c.plan.name)} ({c.plan.days} days, {money(c.plan.price, context)})",
        f"Status: {_state(c, now)}",
        f"Expires: {local_date(c.expires_at, context)}"
        + ("" if c.is_expired(now) else f" ({c.days_left(now)} days left)"),
        f"Telegram: {_linked(c, context)}",
        f"Invite link: {'active' if c.link_token else 'revoked'}",
    ]
    if c.external_id:
        lines.append(f"Panel id: <code>{escape(c.external_id)}</code>")
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button("🔁 Renew", "cu", "r", c.id),
                keyboards.button("🔗 Invite link", "cu", "i", c.id),
            ],
            [
                keyboards.button("🔄 New link", "cu", "n", c.id),
                keyboards.button("🚫 Revoke link", "cu", "k", c.id),
            ],
            [keyboards.button("⬅️ Customers", "cu", "l", Filter.ALL.value, 0)],
        ]
    )
    await show(update, "\n".join(lines), keyboard)


UNLINKED = "The chat linked through {it} was unlinked and told so; it gets no more reminders."


def _invite_text(username: str, link: str, unlinked: bool) -> str:
    text = (
        f"🔗 Invite link for <b>{escape(username)}</b>:\n{link}\n\n"
        "Send it to the customer. It links one Telegram chat; make a new link if it leaks."
    )
    if unlinked:
        text = f"{text}\n\n{UNLINKED.format(it='the old link')}"
    return text


def _back_to_card(customer_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[keyboards.button("⬅️ Customer card", "cu", "v", customer_id)]])


async def show_invite(update: Update, context: BotContext) -> None:
    user = update.effective_user
    query = update.callback_query
    if user is None or query is None:
        return
    customer_id = int(matched(context))
    try:
        token = await customers.invite_token(context.db, user.id, customer_id)
        c = await customers.customer_card(context.db, user.id, customer_id)
    except CustomerError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    text = _invite_text(c.username, invite_link(context, token), unlinked=False)
    await show(update, text, _back_to_card(customer_id))


async def replace_invite(update: Update, context: BotContext) -> None:
    """A new link replaces the old one; a chat linked through the old one is unlinked."""
    user = update.effective_user
    query = update.callback_query
    if user is None or query is None:
        return
    customer_id = int(matched(context))
    try:
        change = await customers.replace_invite(context.db, user.id, customer_id, now=_now())
    except CustomerError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    assert change.token is not None
    link = invite_link(context, change.token)
    text = _invite_text(change.customer.username, link, unlinked=change.unlinked_chat)
    await show(update, f"🔄 The old link no longer works.\n{text}", _back_to_card(customer_id))


async def revoke_invite(update: Update, context: BotContext) -> None:
    user = update.effective_user
    query = update.callback_query
    if user is None or query is None:
        return
    customer_id = int(matched(context))
    try:
        change = await customers.revoke_invite(context.db, user.id, customer_id, now=_now())
    except CustomerError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    text = f"🚫 The invite link of <b>{escape(change.customer.username)}</b> no longer works."
    if change.unlinked_chat:
        text += "\n" + UNLINKED.format(it="it")
    text += "\nOn the customer card, 🔗 Invite link makes a new one."
    await show(update, text, _back_to_card(customer_id))


def conversation() -> flow.Flow:
    """The sale flow's steps, for the one conversation all flows share."""
    cancel_button: CallbackQueryHandler[BotContext, object] = CallbackQueryHandler(
        cancel_flow, pattern=f"^{CANCEL}$"
    )
    text = filters.TEXT & ~filters.COMMAND
    private = filters.ChatType.PRIVATE
    return flow.Flow(
        name="sale",
        draft_key=DRAFT,
        entry_points=[
            CommandHandler("activate", start_activation, filters=private),
            CallbackQueryHandler(start_activation, pattern="^cu:new$"),
            CommandHandler("renew", start_renewal, filters=private),
            CallbackQueryHandler(start_renewal, pattern="^cu:renew$"),
            CallbackQueryHandler(renew_customer, pattern=r"^cu:r:(\d{1,9})$"),
            CallbackQueryHandler(renew_requested, pattern=r"^cu:rq:(\d{1,9}):(\d{1,9})$"),
        ],
        states={
            USERNAME: [
                MessageHandler(text, got_username),
                cancel_button,
                MessageHandler(~filters.COMMAND, username_expected),
            ],
            PICK_CUSTOMER: [
                CallbackQueryHandler(picked_customer, pattern=r"^cu:pk:(\d{1,9})$"),
                CallbackQueryHandler(customer_page, pattern=r"^cu:pg:(\d{1,6})$"),
                MessageHandler(text, customer_search),
                cancel_button,
            ],
            PICK_PLAN: [
                CallbackQueryHandler(picked_plan, pattern=r"^cu:p:(\d{1,9})$"),
                cancel_button,
                MessageHandler(~filters.COMMAND, button_expected),
            ],
            CONFIRM: [
                CallbackQueryHandler(confirm, pattern=r"^cu:c:([\w-]{1,32})$"),
                cancel_button,
                MessageHandler(~filters.COMMAND, button_expected),
            ],
        },
        fallbacks=[cancel_button],
        cancel=cancel_flow,
        timed_out=timed_out,
        replaced_text=lambda t: t._(
            "⏹ Sale cancelled: you started something else. Nothing was charged."
        ),
    )


def register(app: BotApplication) -> None:
    """The customer screens outside the flow (the flow itself is in ``conversation``)."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CallbackQueryHandler(show_earlier_sale, pattern=r"^cu:c:([\w-]{1,32})$"))
    app.add_handler(CommandHandler("customers", list_customers, filters=private))
    app.add_handler(
        CallbackQueryHandler(
            list_customers, pattern=r"^cu:l:(all|active|expiring|expired):(\d{1,6})$"
        )
    )
    app.add_handler(CallbackQueryHandler(card, pattern=r"^cu:v:(\d{1,9})$"))
    app.add_handler(CallbackQueryHandler(show_invite, pattern=r"^cu:i:(\d{1,9})$"))
    app.add_handler(CallbackQueryHandler(revoke_invite, pattern=r"^cu:k:(\d{1,9})$"))
    app.add_handler(CallbackQueryHandler(replace_invite, pattern=r"^cu:n:(\d{1,9})$"))
