"""A chat that does anything with the bot can be written to again.

The sender marks a chat unreachable when it blocked the bot (a 403). Any update from the
chat afterwards (a message, a button tap, the bot added back to a group) clears the mark,
so notices reach it again. The handler has a group of its own, ahead of the others: it
sees every update and never keeps another handler from running. Per update it costs one
primary-key read; it writes only when the chat really is marked.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.ext import TypeHandler

from bot.context import BotApplication, BotContext
from bot.services import outbox

log = logging.getLogger(__name__)

GROUP = -1
GONE = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)


async def clear_mark(update: Update, context: BotContext) -> None:
    """Clear the chat's unreachable mark, if it has one."""
    chat = update.effective_chat
    if chat is None:
        return
    change = update.my_chat_member
    if change is not None and change.new_chat_member.status in GONE:
        return  # the bot was removed or blocked: this update says the chat is gone
    try:
        if await outbox.mark_reachable(context.db, chat.id):
            log.info("chat %s is reachable again", chat.id)
    except (SQLAlchemyError, OSError) as exc:
        # Housekeeping only: the update's own handler still runs and reports its errors.
        log.warning("could not check whether chat %s is marked unreachable: %s", chat.id, exc)


def register(app: BotApplication) -> None:
    app.add_handler(TypeHandler(Update, clear_mark), group=GROUP)
