"""What the multi-step flows (top-up, activation, renewal) share.

A flow lives on one message that is edited step by step; its draft, kept in the user's
``user_data``, remembers that message and the answers so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot import keyboards
from bot.context import BotContext
from handlers.common import not_modified


@dataclass
class FlowMessage:
    chat_id: int
    message_id: int  # 0 until the flow's first message is sent


D = TypeVar("D", bound=FlowMessage)


async def render(
    context: BotContext, flow: FlowMessage, text: str, keyboard: InlineKeyboardMarkup | None
) -> None:
    """Show the next step on the flow's message; if there is none yet or it is gone, send one."""
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
        await render(context, found, text, keyboards.back_to_menu())
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return end(context, key)


async def expire(context: BotContext, key: str, text: str) -> None:
    """The conversation timed out: say so politely on the flow's message."""
    found = draft(context, key, FlowMessage)
    if found is not None:
        await render(context, found, text, keyboards.back_to_menu())
    end(context, key)
