"""The customer's own view: link by invite link, see the status, ask to renew, unlink."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from html import escape
from typing import cast

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import keyboards
from bot.adapters.panels.base import GIB, UserState
from bot.context import BotApplication, BotContext
from bot.i18n import Translator
from bot.services import customers
from bot.services.customers import CustomerError, CustomerStatusView
from bot.services.live_status import Live, LiveStatus, Source
from bot.services.panel_provider import Panels
from bot.services.resellers import Identity, Role
from handlers import pages
from handlers.common import answer, identify, refuse, show
from handlers.language import translator
from models import OrderKind

RENEWAL_REQUEST = "cs:rr"
UNLINK = "cs:ul"
UNLINK_CONFIRM = "cs:ul:y"
STATUS = "cs:st"
HISTORY_PAGE_ITEMS = 25


def not_linked(t: Translator) -> str:
    return t._(
        "This chat is not linked to a subscription. Open the invite link your reseller sent you."
    )


def refusal(exc: CustomerError, t: Translator) -> str:
    """A refusal of the customer service, in the reader's words."""
    if exc.code == "invite_invalid":
        return t._("This invite link is not valid (it may have been revoked). "
                   "Ask your reseller for a new one.")  # fmt: skip
    if exc.code == "invite_used":
        return t._("This invite link was already used by someone else. "
                   "Ask your reseller for a new one.")  # fmt: skip
    if exc.code == "chat_linked_elsewhere":
        return t._("This chat is already linked to another subscription. "
                   "Send /unlink first to link it to this one.")  # fmt: skip
    if exc.code == "already_requested":
        return t._("Your reseller was already asked. Please wait for them.")
    if exc.code == "reseller_unreachable":
        return t._("Your reseller could not be reached. Please contact them directly.")
    if exc.code == "not_linked":
        return not_linked(t)
    return t._("That did not work. Please try again later.")


def _panel_state(state: UserState, t: Translator) -> str:
    names = {
        UserState.ACTIVE: t._("active"),
        UserState.DISABLED: t._("suspended"),
        UserState.EXPIRED: t._("expired"),
        UserState.LIMITED: t._("traffic limit reached"),
        UserState.ON_HOLD: t._("not started yet"),
    }
    return names.get(state, t.isolate(escape(state.value)))


def gigabytes(size: int, t: Translator) -> str:
    """Bytes in the panels' gigabytes (GiB), one decimal."""
    return t._("{size} GB", size=t.decimal(Decimal(size) / GIB))


def render_live(live: Live, context: BotContext, t: Translator) -> list[str]:
    """The lines the panel's live state adds to the status."""
    if live.source == Source.MISSING:
        return [t._("⚠️ The panel does not have this subscription right now. "
                    "Please tell your reseller.")]  # fmt: skip
    if live.state is None:
        return [t._("⚠️ Live data from the panel is unavailable right now; "
                    "shown is what the bot has.")]  # fmt: skip
    s = live.state
    state = _panel_state(s.state, t)
    if s.online is None:
        line = t._("📡 <b>On the panel</b>: {state}", state=state)
    elif s.online:
        line = t._("📡 <b>On the panel</b>: {state} · online now", state=state)
    else:
        line = t._("📡 <b>On the panel</b>: {state} · offline", state=state)
    if s.expires_at:
        expires = t._("Expires there: {date}", date=t.date(s.expires_at, context.settings.zone))
    else:
        expires = t._("Expires there: never")
    used = gigabytes(s.used_bytes, t)
    if s.data_limit_bytes:
        traffic = t._("Traffic: {used} used of {limit}", used=used,
                      limit=gigabytes(s.data_limit_bytes, t))  # fmt: skip
    else:
        traffic = t._("Traffic: {used} used (no limit)", used=used)
    return [line, expires, traffic]


def _history_line(item: customers.HistoryItem, context: BotContext, t: Translator) -> str:
    zone = context.settings.zone
    values = {"date": t.date(item.at, zone), "plan": t.isolate(escape(item.plan_name))}
    renewal = item.kind == OrderKind.RENEWAL
    if item.expires_after is None:
        if renewal:
            return t._("• {date} renewal: {plan}", **values)
        return t._("• {date} activation: {plan}", **values)
    until = t.date(item.expires_after, zone)
    if renewal:
        return t._("• {date} renewal: {plan}, until {until}", until=until, **values)
    return t._("• {date} activation: {plan}, until {until}", until=until, **values)


def render_status(
    view: CustomerStatusView,
    context: BotContext,
    t: Translator,
    page: int = 0,
    greeting: str = "",
    live: Live | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """The subscription, its live state on the panel (if it is on one) and one page of its
    history, newest first, within Telegram's limit."""
    c = view.customer
    now = dt.datetime.now(dt.UTC)
    expires = t.date(c.expires_at, context.settings.zone)
    if c.is_expired(now):
        state = t._("Status: expired on {date}", date=expires)
    else:
        days = c.days_left(now)
        state = t.n_("Status: active until {date} ({n} day left)",
                     "Status: active until {date} ({n} days left)", days, date=expires)  # fmt: skip
    plan = t.n_("Plan: {plan} ({n} day)", "Plan: {plan} ({n} days)", c.plan.days,
                plan=t.isolate(escape(c.plan.name)))  # fmt: skip
    summary = "\n".join(
        [
            greeting + t._("📺 <b>Your subscription</b>"),
            t._("Username: <code>{username}</code>", username=t.isolate(escape(c.username))),
            plan,
            state,
            *(render_live(live, context, t) if live is not None else []),
        ]
    )
    items = [_history_line(item, context, t) for item in view.history]

    def header(at: int, of: int) -> str:
        if not items:
            return summary
        if of > 1:
            title = t._("<b>History</b> (page {page} of {pages})",
                        page=t.number(at + 1), pages=t.number(of))  # fmt: skip
        else:
            title = t._("<b>History</b>")
        return f"{summary}\n\n{title}"

    shown = pages.paginate(items, page, header=header, max_items=HISTORY_PAGE_ITEMS)
    rows = [[keyboards.button(t._("🔁 Request renewal"), RENEWAL_REQUEST)]]
    nav = []
    if shown.page > 0:
        nav.append(keyboards.button(t._("◀️ Newer"), STATUS, shown.page - 1))
    if shown.page < shown.pages - 1:
        nav.append(keyboards.button(t._("Older ▶️"), STATUS, shown.page + 1))
    if nav:
        rows.append(nav)
    rows.append([keyboards.button(t._("🔓 Unlink this chat"), UNLINK)])
    return shown.text, InlineKeyboardMarkup(rows)


def _invite_explained(
    identity: Identity, customer: customers.CustomerView | None, t: Translator
) -> str:
    """What a reseller's or an admin's own tap on a customer's invite link is told."""
    if customer is None:
        what = t._("🔗 This invite link is not valid any more (it was revoked or replaced).")
    elif identity.role == Role.ADMIN or (
        identity.reseller is not None and identity.reseller.id == customer.reseller_id
    ):
        what = t._("🔗 This is the invite link of the customer <b>{username}</b>.",
                   username=t.isolate(escape(customer.username)))  # fmt: skip
    else:
        what = t._("🔗 This is a customer's invite link.")
    return (
        what
        + "\n"
        + t._(
            "It is meant for the customer: opening it links their Telegram chat to their "
            "subscription, for its status and renewal reminders. Your chat was not linked."
        )
    )


async def link_from_invite(update: Update, context: BotContext, token: str) -> None:
    """/start <token>: link this chat to the subscription, once per token.

    Resellers and admins who open a link are told what it is; their chat is not linked.
    """
    chat = update.effective_chat
    if chat is None:
        return
    t = await translator(update, context)
    identity = await identify(update, context)
    if identity.role in (Role.ADMIN, Role.RESELLER, Role.SUSPENDED):
        customer = await customers.invite_info(context.db, token)
        await show(update, _invite_explained(identity, customer, t), keyboards.back_to_menu(t))
        return
    try:
        await customers.link(context.db, token=token, chat_id=chat.id, now=dt.datetime.now(dt.UTC))
    except CustomerError as exc:
        await refuse(update, refusal(exc, t))
        return
    greeting = t._("✅ Linked! You will get renewal reminders here.") + "\n\n"
    await show_status(update, context, greeting=greeting)


async def show_status(
    update: Update, context: BotContext, greeting: str = "", page: int = 0
) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    t = await translator(update, context)
    view = await customers.status_of(context.db, chat.id)
    if view is None:
        await refuse(update, not_linked(t))
        return
    live = await live_status(context).of(view.customer.id)
    text, keyboard = render_status(view, context, t, page, greeting, live)
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
    t = await translator(update, context)
    try:
        await customers.renewal_request(context.db, chat.id, now=dt.datetime.now(dt.UTC))
    except CustomerError as exc:
        await answer(query, refusal(exc, t), alert=True)
        return
    await answer(query, t._("Your reseller has been asked to renew your subscription."), alert=True)


async def ask_unlink(update: Update, context: BotContext) -> None:
    """/unlink or the Unlink button: what it does, and a button to confirm."""
    chat = update.effective_chat
    if chat is None:
        return
    t = await translator(update, context)
    view = await customers.status_of(context.db, chat.id)
    if view is None:
        await refuse(update, not_linked(t))
        return
    text = t._(
        "Unlink this chat from the subscription <code>{username}</code>?\n"
        "You will get no more reminders here. Open the invite link again to link it back.",
        username=t.isolate(escape(view.customer.username)),
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button(t._("🔓 Yes, unlink"), UNLINK_CONFIRM),
                keyboards.button(t._("⬅️ Keep it"), STATUS),
            ]
        ]
    )
    await show(update, text, keyboard)


async def unlink(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    t = await translator(update, context)
    try:
        customer = await customers.unlink_chat(context.db, chat.id, now=dt.datetime.now(dt.UTC))
    except CustomerError:
        await refuse(update, not_linked(t))
        return
    text = t._(
        "🔓 This chat is no longer linked to <code>{username}</code>; no more reminders will "
        "come here. Open the invite link again to link it back.",
        username=t.isolate(escape(customer.username)),
    )
    await show(update, text)


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
