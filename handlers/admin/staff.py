"""Staff admins, for the owners only: the list, a card with a toggle per permission,
removing one (after a confirmation), and adding one: a one-step flow that waits for the
person chosen with Telegram's user picker, or their typed id.

Every tap is checked on the server, and every change goes through the roles service,
which logs it. ``adding()`` gives the flow to the one conversation all flows share;
``register`` adds the screens.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotApplication, BotContext
from bot.i18n import Translator
from bot.services import roles
from bot.services.admin_log import ActionError
from handlers import flow
from handlers.admin import callbacks
from handlers.admin import staff_views as views
from handlers.common import admin_only, answer, now, owner, show
from handlers.home.commands import follow_change
from handlers.language import translator
from handlers.reader import Reader

STAFF_DRAFT = "staff_draft"
WHO = "staff:who"


@dataclass
class StaffDraft(flow.FlowMessage):
    """Adding a staff admin: where to say how it ended (its prompt carries the picker)."""


def _actor(update: Update) -> str:
    user = update.effective_user
    assert user is not None, "only after the owner check"
    return f"tg:{user.id}"


async def _gone(update: Update, context: BotContext, r: Reader) -> None:
    """The staff admin tapped about is no longer staff: the list, saying so."""
    rows = await roles.list_staff(context.db)
    await show(update, *views.staff_list(rows, 0, r, views.not_staff(r.t)))


# --- the screens -------------------------------------------------------------------------


@admin_only
async def list_staff(update: Update, context: BotContext, t: Translator) -> None:
    page = callbacks.STAFF.parse(context)
    rows = await roles.list_staff(context.db)
    await show(update, *views.staff_list(rows, page, Reader.of(context.settings, t)))


@admin_only
async def card(update: Update, context: BotContext, t: Translator) -> None:
    r = Reader.of(context.settings, t)
    view = await roles.staff(context.db, callbacks.STAFF_CARD.parse(context))
    if view is None:
        await _gone(update, context, r)
        return
    await show(update, *views.card(view, r))


@admin_only
async def toggle(update: Update, context: BotContext, t: Translator) -> None:
    """Allow or forbid one permission: what the button asked for, so a second tap on the
    same button changes (and logs) nothing."""
    r = Reader.of(context.settings, t)
    telegram_id, permission, allowed = callbacks.STAFF_TOGGLE.parse(context)
    try:
        view = await roles.set_permission(
            context.db,
            telegram_id=telegram_id,
            permission=permission,
            allowed=allowed,
            actor=_actor(update),
            now=now(context),
        )
    except ActionError:
        await _gone(update, context, r)
        return
    await show(update, *views.card(view, r, views.changed(permission, allowed, t)))
    # Their command menu lists what they may now do (after the owner's answer).
    await follow_change(context, telegram_id)


@admin_only
async def ask_removal(update: Update, context: BotContext, t: Translator) -> None:
    r = Reader.of(context.settings, t)
    view = await roles.staff(context.db, callbacks.STAFF_REMOVE.parse(context))
    if view is None:
        await _gone(update, context, r)
        return
    await show(update, *views.confirm_removal(view, r))


@admin_only
async def remove(update: Update, context: BotContext, t: Translator) -> None:
    """Removed at once: their next tap finds them without permissions."""
    r = Reader.of(context.settings, t)
    telegram_id = callbacks.STAFF_REMOVE_YES.parse(context)
    view = await roles.staff(context.db, telegram_id)
    if view is None:  # a second tap
        await _gone(update, context, r)
        return
    try:
        await roles.remove_staff(
            context.db, telegram_id=telegram_id, actor=_actor(update), now=now(context)
        )
    except ActionError:  # another owner was first
        await _gone(update, context, r)
        return
    rows = await roles.list_staff(context.db)
    await show(update, *views.staff_list(rows, 0, r, views.removed(view, r)))
    await follow_change(context, telegram_id)


# --- adding one: a flow ------------------------------------------------------------------


async def ask_who(update: Update, context: BotContext) -> int | str:
    """Entry: the prompt with Telegram's user picker under it; wait for a choice or an id."""
    query = update.callback_query
    t = await translator(update, context)
    if query is None or query.message is None or not await owner(update, context, t):
        return flow.end(context, STAFF_DRAFT)
    await answer(query)
    chat = query.message.chat
    if chat.type != ChatType.PRIVATE:  # Telegram offers the picker in private chats only
        return flow.end(context, STAFF_DRAFT)
    text, picker = views.ask_who(t)
    await context.bot.send_message(chat.id, text, reply_markup=picker)
    assert context.user_data is not None
    # That message cannot be edited: how the flow ends is a new one, which takes the
    # picker down.
    context.user_data[STAFF_DRAFT] = StaffDraft(chat.id, 0, reply_keyboard=True)
    return WHO


async def got_shared(update: Update, context: BotContext) -> int | str:
    """The person chosen with the picker."""
    message = update.effective_message
    shared = message.users_shared if message is not None else None
    if shared is None or shared.request_id != callbacks.STAFF_PICKER or not shared.users:
        return WHO
    person = shared.users[0]
    name = " ".join(part for part in (person.first_name, person.last_name) if part)
    return await _add(update, context, person.user_id, name or person.username or "")


async def got_id(update: Update, context: BotContext) -> int | str:
    """A typed id (in any script's digits)."""
    message = update.effective_message
    if message is None or message.text is None:
        return WHO
    text = message.text.strip()
    if not text.isdecimal() or len(text) > len(str(roles.MAX_TELEGRAM_ID)):
        await message.reply_text(views.not_an_id(await translator(update, context)))
        return WHO
    return await _add(update, context, int(text), "")


async def _add(update: Update, context: BotContext, telegram_id: int, name: str) -> int | str:
    """Make them staff, without permissions yet, and show their card to choose some. A
    refusal (an owner, staff already) is said and the picker stays for another choice."""
    message = update.effective_message
    t = await translator(update, context)
    if message is None or not await owner(update, context, t):
        return flow.end(context, STAFF_DRAFT)
    r = Reader.of(context.settings, t)
    try:
        view = await roles.add_staff(
            context.db,
            telegram_id=telegram_id,
            name=name,
            permissions=(),
            owner_ids=context.settings.admin_ids,
            actor=_actor(update),
            now=now(context),
        )
    except ActionError as exc:
        await message.reply_text(views.refusal(exc, r))
        return WHO
    draft = flow.draft(context, STAFF_DRAFT, StaffDraft)
    if draft is not None:
        await flow.render(context, draft, views.added(view, r), None)  # the picker goes
    text, keyboard = views.card(view, r)
    await message.reply_text(text, reply_markup=keyboard)
    await follow_change(context, telegram_id)
    return flow.end(context, STAFF_DRAFT)


async def cancel_adding(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, STAFF_DRAFT, views.adding_cancelled(t))


async def adding_timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, STAFF_DRAFT, views.adding_timed_out(t))


def adding() -> flow.Flow:
    """Adding a staff admin, for the one conversation all flows share."""
    return flow.Flow(
        name="staff",
        draft_key=STAFF_DRAFT,
        entry_points=[CallbackQueryHandler(ask_who, pattern=callbacks.STAFF_ADD.pattern())],
        states={
            WHO: [
                MessageHandler(filters.StatusUpdate.USERS_SHARED, got_shared),
                MessageHandler(filters.TEXT & ~filters.COMMAND, got_id),
            ],
        },
        fallbacks=[],
        cancel=cancel_adding,
        timed_out=adding_timed_out,
        replaced_text=views.adding_replaced,
    )


def register(app: BotApplication) -> None:
    """The staff screens outside the adding flow."""
    for codec, callback in (
        (callbacks.STAFF, list_staff),
        (callbacks.STAFF_CARD, card),
        (callbacks.STAFF_TOGGLE, toggle),
        (callbacks.STAFF_REMOVE, ask_removal),
        (callbacks.STAFF_REMOVE_YES, remove),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
