"""What the multi-step flows (top-up, activation, renewal) share, and the one
conversation they run in.

A flow lives on one message that is edited step by step; its draft, kept in the user's
``user_data``, remembers that message and the answers so far.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram import Chat, InlineKeyboardMarkup, Message, ReplyKeyboardRemove, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, TypeHandler
from telegram.ext._handlers.conversationhandler import _ConversationTimeoutContext

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.i18n import Translator
from bot.persistence import DatabasePersistence
from handlers.common import not_modified
from handlers.language import translator, translator_of


@dataclass
class FlowMessage:
    chat_id: int
    message_id: int  # 0 until the flow's first message is sent
    # The flow put up a reply keyboard (one that picks a user, say): its next message
    # takes it down, so that one is sent anew and cannot carry buttons.
    reply_keyboard: bool = field(default=False, kw_only=True)


D = TypeVar("D", bound=FlowMessage)
NAME = "flows"  # the conversation's name: its steps are stored under it
T = TypeVar("T")


async def render(
    context: BotContext, flow: FlowMessage, text: str, keyboard: InlineKeyboardMarkup | None
) -> None:
    """Show the next step on the flow's message; if there is none yet or it is gone, send one."""
    if flow.reply_keyboard:
        # Only a new message takes a reply keyboard down; it has no room for buttons, and
        # (like one that put the keyboard up) cannot be edited: the next step is sent anew.
        await context.bot.send_message(flow.chat_id, text, reply_markup=ReplyKeyboardRemove())
        flow.message_id, flow.reply_keyboard = 0, False
        return
    if flow.message_id:
        try:
            await context.bot.edit_message_text(
                text, chat_id=flow.chat_id, message_id=flow.message_id, reply_markup=keyboard
            )
            return
        except BadRequest as exc:
            if not_modified(exc):
                return
    message = await context.bot.send_message(flow.chat_id, text, reply_markup=keyboard)
    flow.message_id = message.message_id


def draft(context: BotContext, key: str, kind: type[D]) -> D | None:
    found = (context.user_data or {}).get(key)
    return found if isinstance(found, kind) else None


def end(context: BotContext, key: str) -> int:
    if context.user_data is not None:
        context.user_data.pop(key, None)
    return ConversationHandler.END


async def leave(update: Update, context: BotContext, key: str, text: str) -> int:
    """Cancel (button or /cancel): say so on the flow's message and forget the draft."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    found = draft(context, key, FlowMessage)
    if found is not None:
        t = await translator(update, context)
        await render(context, found, text, keyboards.back_to_menu(t))
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return end(context, key)


async def expire(context: BotContext, key: str, text: str) -> None:
    """The conversation timed out: say so politely on the flow's message."""
    found = draft(context, key, FlowMessage)
    if found is not None:
        # Flows run in private chats, where the chat is the user.
        t = await translator_of(context, found.chat_id)
        await render(context, found, text, keyboards.back_to_menu(t))
    end(context, key)


# --- one conversation for every flow ---------------------------------------------------
#
# The flows share one ConversationHandler, so a user is in at most one flow at a time:
# starting a flow (by command or button) replaces whatever flow was under way, instead
# of leaving it waiting to swallow the next answer. The flow that was replaced says so on
# its own message, in one line. /start and /cancel end whichever flow is under way.


@dataclass(frozen=True)
class Flow:
    """One multi-step flow: its handlers and how it ends."""

    name: str
    draft_key: str
    entry_points: Sequence[BaseHandler[Update, BotContext, Any]]
    # State names are prefixed with the flow's name, so flows never share a state.
    states: Mapping[str, Sequence[BaseHandler[Update, BotContext, Any]]]
    # Buttons of this flow that end it (its Cancel button).
    fallbacks: Sequence[BaseHandler[Update, BotContext, Any]]
    cancel: Callback[object]
    timed_out: Callback[None]
    # Shown on its message when another flow or /start replaces it.
    replaced_text: Callable[[Translator], str]


Callback = Callable[[Update, BotContext], Awaitable[T]]


async def _replace_others(
    update: Update, context: BotContext, flows: Sequence[Flow], keep: str | None
) -> None:
    t = await translator(update, context)
    for other in flows:
        if other.name == keep:
            continue
        found = draft(context, other.draft_key, FlowMessage)
        if found is None:
            continue
        end(context, other.draft_key)
        # The old message may be gone or too old to edit: then there is nothing to tidy.
        with contextlib.suppress(TelegramError):
            await render(context, found, other.replaced_text(t), keyboards.back_to_menu(t))


def _taking_over(
    callback: Callback[object], flows: Sequence[Flow], name: str
) -> Callable[[Update, BotContext], Coroutine[Any, Any, object]]:
    async def entry(update: Update, context: BotContext) -> object:
        await _replace_others(update, context, flows, keep=name)
        return await callback(update, context)

    return entry


def conversation(
    flows: Sequence[Flow], *, timeout: dt.timedelta, start: Callback[None]
) -> ConversationHandler[BotContext]:
    """The one conversation all ``flows`` live in."""
    entry_points: list[BaseHandler[Update, BotContext, Any]] = []
    states: dict[object, list[BaseHandler[Update, BotContext, Any]]] = {}
    fallbacks: list[BaseHandler[Update, BotContext, Any]] = []
    for one in flows:
        for handler in one.entry_points:
            handler.callback = _taking_over(handler.callback, flows, one.name)
            entry_points.append(handler)
        for state, handlers in one.states.items():
            if not state.startswith(f"{one.name}:") or state in states:
                raise ValueError(f"state {state!r} must be unique and start with {one.name}:")
            states[state] = list(handlers)
        fallbacks.extend(one.fallbacks)

    async def cancel(update: Update, context: BotContext) -> object:
        """/cancel: end the flow under way, in its own words."""
        for one in flows:
            if draft(context, one.draft_key, FlowMessage) is not None:
                return await one.cancel(update, context)
        return end(context, "")

    async def restart(update: Update, context: BotContext) -> int:
        """/start in the middle of a flow: end it and show the menu."""
        await _replace_others(update, context, flows, keep=None)
        await start(update, context)
        return ConversationHandler.END

    async def timed_out(update: Update, context: BotContext) -> None:
        for one in flows:
            await one.timed_out(update, context)
        # A timeout runs as a job, which PTB does not tie to the user: without this the
        # forgotten draft would stay in the database.
        if update.effective_user is not None:
            context.application.mark_data_for_update_persistence(user_ids=update.effective_user.id)

    states[ConversationHandler.TIMEOUT] = [TypeHandler(Update, timed_out)]
    with warnings.catch_warnings():
        # Buttons are tracked per chat and user, not per message: one flow per user.
        warnings.filterwarnings("ignore", message=".*per_message=False.*")
        return ConversationHandler(
            entry_points=entry_points,
            states=states,
            fallbacks=[
                CommandHandler("cancel", cancel),
                CommandHandler("start", restart),
                *fallbacks,
            ],
            allow_reentry=True,
            conversation_timeout=timeout,
            name=NAME,
            persistent=True,
        )


# --- after a restart ---------------------------------------------------------------------


def draft_types() -> list[type[FlowMessage]]:
    """Every flow's draft class, to be stored with the conversation's step."""
    found: list[type[FlowMessage]] = []
    pending: list[type[FlowMessage]] = [FlowMessage]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return found


def resume_timeouts(app: BotApplication) -> None:
    """Time out the flows read back from the database as if the bot had never stopped.

    PTB keeps a conversation's timeout as an in-memory job: after a restart a restored
    flow would otherwise wait forever, and an answer days later would continue it. Each
    one gets its job again, due when its step was reached plus the timeout (at once when
    that is past), and ends as any timeout does: its message says so and its draft goes.
    """
    persistence, queue = app.persistence, app.job_queue
    if not isinstance(persistence, DatabasePersistence) or queue is None:
        return
    now = dt.datetime.now(dt.UTC)
    for handler in (h for group in app.handlers.values() for h in group):
        if not (isinstance(handler, ConversationHandler) and handler.name == NAME):
            continue
        timeout = handler.conversation_timeout
        if not timeout:
            continue
        if not isinstance(timeout, dt.timedelta):
            timeout = dt.timedelta(seconds=timeout)
        for key, reached in persistence.saved_at(NAME).items():
            chat_id, user_id = (int(part) for part in key)
            update = _stand_in(chat_id, user_id, now)
            due = max(0.0, (reached + timeout - now).total_seconds())
            # The same job PTB schedules after each answer: an answer that comes first
            # replaces it, exactly as it would have before the restart.
            handler.timeout_jobs[key] = queue.run_once(
                handler._trigger_timeout,
                due,
                data=_ConversationTimeoutContext(
                    key, update, app, BotContext.from_update(update, app)
                ),
            )


def _stand_in(chat_id: int, user_id: int, now: dt.datetime) -> Update:
    """An update from the flow's user in its chat, for the timeout to be told whose it is
    (the update it was scheduled with did not survive the restart)."""
    chat_type = ChatType.PRIVATE if chat_id > 0 else ChatType.SUPERGROUP
    user = User(user_id, "", is_bot=False)
    return Update(0, message=Message(0, now, Chat(chat_id, chat_type), from_user=user))
