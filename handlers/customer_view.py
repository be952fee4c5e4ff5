"""The customer's own view: link by invite link, see the status, ask to renew."""

from __future__ import annotations

import datetime as dt
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.services import customers
from bot.services.customers import CustomerError, CustomerStatusView
from handlers.common import local_date, money, refuse, show

RENEWAL_REQUEST = "cs:rr"
LAST_REQUEST = "last_renewal_request"
REQUEST_INTERVAL = dt.timedelta(hours=1)
NOT_LINKED = (
    "This chat is not linked to a subscription. Open the invite link your reseller sent you."
)


def render_status(
    view: CustomerStatusView, context: BotContext
) -> tuple[str, InlineKeyboardMarkup]:
    c = view.customer
    now = dt.datetime.now(dt.UTC)
    if c.is_expired(now):
        state = f"expired on {local_date(c.expires_at, context)}"
    else:
        state = f"active until {local_date(c.expires_at, context)} ({c.days_left(now)} days left)"
    lines = [
        "📺 <b>Your subscription</b>",
        f"Username: <code>{escape(c.username)}</code>",
        f"Plan: {escape(c.plan.name)} ({c.plan.days} days)",
        f"Status: {state}",
    ]
    if view.history:
        lines.append("\n<b>History</b>")
        for item in view.history:
            until = (
                f", until {local_date(item.expires_after, context)}" if item.expires_after else ""
            )
            lines.append(
                f"• {local_date(item.at, context)} {item.kind.value}: "
                f"{escape(item.plan_name)}{until}"
            )
    keyboard = InlineKeyboardMarkup([[keyboards.button("🔁 Request renewal", RENEWAL_REQUEST)]])
    return "\n".join(lines), keyboard


async def link_from_invite(update: Update, context: BotContext, token: str) -> None:
    """/start <token>: link this chat to the subscription, once per token."""
    chat = update.effective_chat
    if chat is None:
        return
    try:
        await customers.link(context.db, token=token, chat_id=chat.id, now=dt.datetime.now(dt.UTC))
    except CustomerError as exc:
        await refuse(update, escape(str(exc)))
        return
    await show_status(
        update, context, greeting="✅ Linked! You will get renewal reminders here.\n\n"
    )


async def show_status(update: Update, context: BotContext, greeting: str = "") -> None:
    chat = update.effective_chat
    if chat is None:
        return
    view = await customers.status_of(context.db, chat.id)
    if view is None:
        await refuse(update, NOT_LINKED)
        return
    text, keyboard = render_status(view, context)
    await show(update, greeting + text, keyboard)


async def status_command(update: Update, context: BotContext) -> None:
    await show_status(update, context)


async def request_renewal(update: Update, context: BotContext) -> None:
    """Tell the reseller, with a one-tap Renew for the same plan."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    now = dt.datetime.now(dt.UTC)
    last = (context.chat_data or {}).get(LAST_REQUEST)
    if isinstance(last, dt.datetime) and now - last < REQUEST_INTERVAL:
        await query.answer(
            "Your reseller was already asked. Please wait for them.", show_alert=True
        )
        return
    try:
        customer, reseller = await customers.renewal_request(context.db, chat.id)
    except CustomerError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    text = (
        f"🔔 Your customer <b>{escape(customer.username)}</b> asks to renew "
        f"{escape(customer.plan.name)} ({customer.plan.days} days, "
        f"{money(customer.plan.price, context)}). It expires on "
        f"{local_date(customer.expires_at, context)}."
    )
    keyboard = InlineKeyboardMarkup(
        [[keyboards.button("🔁 Renew", "cu", "rq", customer.id, customer.plan.id)]]
    )
    try:
        await context.bot.send_message(reseller.telegram_id, text, reply_markup=keyboard)
    except (Forbidden, TelegramError):
        await query.answer(
            "Your reseller could not be reached. Please contact them directly.", show_alert=True
        )
        return
    assert context.chat_data is not None
    context.chat_data[LAST_REQUEST] = now
    await query.answer("Your reseller has been asked to renew your subscription.", show_alert=True)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("status", status_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(request_renewal, pattern=f"^{RENEWAL_REQUEST}$"))
