"""Top-ups: the reseller's request flow and list, and the admins' decisions.

``flow``      the /topup conversation
``mine``      /topups: the reseller's requests
``admin``     the group post, Approve, Reject with a reason, /pending
``callbacks`` one codec per button family
``views``     the reseller's flow screens, and the words every side shares
``admin_views``  the group post, the decisions and the rejection prompt
``list_views``   the /topups and /pending pages
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotApplication
from handlers import flow as flows
from handlers.topup import admin, callbacks, flow, mine


def conversation() -> flows.Flow:
    """The top-up flow, for the one conversation all flows share."""
    return flow.conversation()


class _ReplyToTheBot(filters.MessageFilter):
    """A reply to one of the bot's messages; whether it is a prompt is for the database."""

    def filter(self, message: object) -> bool:
        replied = getattr(message, "reply_to_message", None)
        sender = getattr(replied, "from_user", None)
        return bool(sender and sender.is_bot)


def register(app: BotApplication) -> None:
    """The top-up screens outside the flow (the flow itself is in ``conversation``)."""
    private = filters.ChatType.PRIVATE
    add, button = app.add_handler, CallbackQueryHandler
    add(button(mine.confirm_after_end, pattern=callbacks.CONFIRM.pattern()))
    add(button(mine.stray_cancel, pattern=callbacks.CANCEL_FLOW.pattern()))
    add(CommandHandler("topups", mine.my_topups, filters=private))
    add(button(mine.my_topups, pattern=callbacks.LIST.pattern()))
    add(button(mine.withdraw, pattern=callbacks.WITHDRAW.pattern()))
    add(CommandHandler("pending", admin.pending))
    add(button(admin.pending, pattern=callbacks.PENDING.pattern()))
    add(button(admin.approve, pattern=callbacks.APPROVE.pattern()))
    add(button(admin.ask_reject_reason, pattern=callbacks.REJECT.pattern()))
    add(button(admin.reject_without_reason, pattern=callbacks.REJECT_WITHOUT_REASON.pattern()))
    add(
        MessageHandler(
            filters.REPLY & filters.TEXT & ~filters.COMMAND & _ReplyToTheBot(),
            admin.got_reject_reason,
        )
    )
