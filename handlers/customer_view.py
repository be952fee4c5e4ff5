"""The customer's own view: link by invite link, see the status, ask to renew, unlink."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import cast

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import keyboards
from bot.adapters.panels.base import GIB, UserState
from bot.context import BotApplication, BotContext
from bot.services import customers
from bot.services.customers import CustomerError, CustomerStatusView
from bot.services.live_status import Live, LiveStatus, Source
from bot.services.panel_provider import Panels
from bot.services.resellers import Identity, Role
from handlers import pages
from handlers.common import answer, identify, local_date, refuse, show

RENEWAL_REQUEST = "cs:rr"
UNLINK = "cs:ul"
UNLINK_CONFIRM = "cs:ul:y"
STATUS = "cs:st"
HISTORY_PAGE_ITEMS = 25
NOT_LINKED = (
    "This chat is not linked to a subscription. Open the invite link your reseller sent you."
)
PANEL_STATES = {
    UserState.ACTIVE: "active",
    UserState.DISABLED: "suspended",
    UserState.EXPIRED: "expired",
    UserState.LIMITED: "traffic limit reached",
    UserState.ON_HOLD: "not started yet",
}
UNAVAILABLE = "⚠️ Live data from the panel is unavailable right now; shown is what the bot has."
MISSING = "⚠️ The panel does not have this subscription right now. Please tell your reseller."


def gigabytes(size: int) -> str:
    """Bytes in the panels' gigabytes (GiB), one decimal."""
    return f"{size / GIB:.1f} GB"


def render_live(live: Live, context: BotContext) -> list[str]:
    """The lines the panel's live state adds to the status."""
    if live.source == Source.MISSING:
        return [MISSING]
    if live.state is None:
        return [UNAVAILABLE]
    s = live.state
    state = PANEL_STATES.get(s.state, s.state.value)
    if s.online is not None:
        state += " · online now" if s.online else " · offline"
    expires = local_date(s.expires_at, context) if s.expires_at else "never"
    limit = f"of {gigabytes(s.data_limit_bytes)}" if s.data_limit_bytes else "(no limit)"
    return [
        f"📡 <b>On the panel</b>: {state}",
        f"Expires there: {expires}",
        f"Traffic: {gigabytes(s.used_bytes)} used {limit}",
    ]


def render_status(
    view: CustomerStatusView,
    context: BotContext,
    page: int = 0,
    greeting: str = "",
    live: Live | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """The subscription, its live state on the panel (if it is on one) and one page of its
    history, newest first, within Telegram's limit."""
    c = view.customer
    now = dt.datetime.now(dt.UTC)
    if c.is_expired(now):
        state = f"expired on {local_date(c.expires_at, context)}"
    else:
        state = f"active until {local_date(c.expires_at, context)} ({c.days_left(now)} days left)"
    summary = "\n".join(
        [
            f"{greeting}📺 <b>Your subscription</b>",
            f"Username: <code>{escape(c.username)}</code>",
            f"Plan: {escape(c.plan.name)} ({c.plan.days} days)",
            f"Status: {state}",
            *(render_live(live, context) if live is not None else []),
        ]
    )
    items = []
    for item in view.history:
        until = f", until {local_date(item.expires_after, context)}" if item.expires_after else ""
        items.append(
            f"• {local_date(item.at, context)} {item.kind.value}: {escape(item.plan_name)}{until}"
        )

    def header(at: int, of: int) -> str:
        if not items:
            return summary
        where = f" (page {at + 1} of {of})" if of > 1 else ""
        return f"{summary}\n\n<b>History</b>{where}"

    shown = pages.paginate(items, page, header=header, max_items=HISTORY_PAGE_ITEMS)
    rows = [[keyboards.button("🔁 Request renewal", RENEWAL_REQUEST)]]
    nav = []
    if shown.page > 0:
        nav.append(keyboards.button("◀️ Newer", STATUS, shown.page - 1))
    if shown.page < shown.pages - 1:
        nav.append(keyboards.button("Older ▶️", STATUS, shown.page + 1))
    if nav:
        rows.append(nav)
    rows.append([keyboards.button("🔓 Unlink this chat", UNLINK)])
    return shown.text, InlineKeyboardMarkup(rows)


def _invite_explained(identity: Identity, customer: customers.CustomerView | None) -> str:
    """What a reseller's or an admin's own tap on a customer's invite link is told."""
    if customer is None:
        what = "This invite link is not valid any more (it was revoked or replaced)."
    elif identity.role == Role.ADMIN or (
        identity.reseller is not None and identity.reseller.id == customer.reseller_id
    ):
        what = f"This is the invite link of the customer <b>{escape(customer.username)}</b>."
    else:
        what = "This is a customer's invite link."
    return (
        f"🔗 {what}\nIt is meant for the customer: opening it links their Telegram chat to "
        "their subscription, for its status and renewal reminders. Your chat was not linked."
    )


async def link_from_invite(update: Update, context: BotContext, token: str) -> None:
    """/start <token>: link this chat to the subscription, once per token.

    Resellers and admins who open a link are told what it is; their chat is not linked.
    """
    chat = update.effective_chat
    if chat is None:
        return
    identity = await identify(update, context)
    if identity.role in (Role.ADMIN, Role.RESELLER, Role.SUSPENDED):
        customer = await customers.invite_info(context.db, token)
        await show(update, _invite_explained(identity, customer), keyboards.back_to_menu())
        return
    try:
        await customers.link(context.db, token=token, chat_id=chat.id, now=dt.datetime.now(dt.UTC))
    except CustomerError as exc:
        await refuse(update, escape(str(exc)))
        return
    await show_status(
        update, context, greeting="✅ Linked! You will get renewal reminders here.\n\n"
    )


async def show_status(
    update: Update, context: BotContext, greeting: str = "", page: int = 0
) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    view = await customers.status_of(context.db, chat.id)
    if view is None:
        await refuse(update, NOT_LINKED)
        return
    live = await live_status(context).of(view.customer.id)
    text, keyboard = render_status(view, context, page, greeting, live)
    await show(update, text, keyboard)


def live_status(context: BotContext) -> LiveStatus:
    """This process's live status reader, made on first use with the bot's panels."""
    found = context.bot_data.get("live_status")
    if found is None:
        found = context.bot_data["live_status"] = LiveStatus(
            context.db,
            cast(Panels, context.bot_data["panels"]),
            ttl_seconds=context.settings.live_status_cache_seconds,
            timeout_seconds=context.settings.live_status_timeout_seconds,
        )
    return cast(LiveStatus, found)


async def status_command(update: Update, context: BotContext) -> None:
    await show_status(update, context)


async def request_renewal(update: Update, context: BotContext) -> None:
    """Queue the reseller's notice, with a one-tap Renew for the same plan."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    try:
        await customers.renewal_request(context.db, chat.id, now=dt.datetime.now(dt.UTC))
    except CustomerError as exc:
        await answer(query, str(exc), alert=True)
        return
    await answer(query, "Your reseller has been asked to renew your subscription.", alert=True)


async def ask_unlink(update: Update, context: BotContext) -> None:
    """/unlink or the Unlink button: what it does, and a button to confirm."""
    chat = update.effective_chat
    if chat is None:
        return
    view = await customers.status_of(context.db, chat.id)
    if view is None:
        await refuse(update, NOT_LINKED)
        return
    text = (
        f"Unlink this chat from the subscription <code>{escape(view.customer.username)}</code>?"
        "\nYou will get no more reminders here. Open the invite link again to link it back."
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button("🔓 Yes, unlink", UNLINK_CONFIRM),
                keyboards.button("⬅️ Keep it", STATUS),
            ]
        ]
    )
    await show(update, text, keyboard)


async def unlink(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    try:
        customer = await customers.unlink_chat(context.db, chat.id, now=dt.datetime.now(dt.UTC))
    except CustomerError:
        await refuse(update, NOT_LINKED)
        return
    await show(
        update,
        f"🔓 This chat is no longer linked to <code>{escape(customer.username)}</code>; no more "
        "reminders will come here. Open the invite link again to link it back.",
    )


async def status_button(update: Update, context: BotContext) -> None:
    """Back to the status, or another page of its history."""
    page = context.matches[0].group(1) if context.matches else None
    await show_status(update, context, page=int(page or 0))


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("status", status_command, filters=filters.ChatType.PRIVATE))
    app.add_handler(CommandHandler("unlink", ask_unlink, filters=filters.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(request_renewal, pattern=f"^{RENEWAL_REQUEST}$"))
    app.add_handler(CallbackQueryHandler(ask_unlink, pattern=f"^{UNLINK}$"))
    app.add_handler(CallbackQueryHandler(unlink, pattern=f"^{UNLINK_CONFIRM}$"))
    app.add_handler(CallbackQueryHandler(status_button, pattern=rf"^{STATUS}(?::(\d{{1,4}}))?$"))
