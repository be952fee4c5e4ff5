"""Transfers: a reseller sends credits to another reseller (/transfer, 💸 Transfer).

``conversation`` gives the flow to the one conversation all flows share; ``register``
adds what answers a Send tapped after its flow ended (it says it was sent once).
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as f

from bot.context import BotApplication
from handlers import flow
from handlers.transfer import callbacks as buttons
from handlers.transfer import steps, views
from handlers.transfer.steps import AMOUNT, CONFIRM, DRAFT, NOTE, RECIPIENT

__all__ = ["conversation", "register"]


def conversation() -> flow.Flow:
    text = f.TEXT & ~f.COMMAND
    cancel = CallbackQueryHandler(steps.cancel, pattern=buttons.CANCEL.pattern())
    other = MessageHandler(~f.COMMAND & ~f.TEXT, steps.text_expected)
    return flow.Flow(
        name="transfer",
        draft_key=DRAFT,
        entry_points=[
            CommandHandler("transfer", steps.start, filters=f.ChatType.PRIVATE),
            CallbackQueryHandler(steps.start, pattern=buttons.NEW.pattern()),
        ],
        states={
            RECIPIENT: [MessageHandler(text, steps.got_recipient), cancel, other],
            AMOUNT: [MessageHandler(text, steps.got_amount), cancel, other],
            NOTE: [
                MessageHandler(text, steps.got_note),
                CallbackQueryHandler(steps.skip_note, pattern=buttons.SKIP.pattern()),
                cancel,
                other,
            ],
            CONFIRM: [
                CallbackQueryHandler(steps.send, pattern=buttons.SEND.pattern()),
                cancel,
                MessageHandler(~f.COMMAND, steps.buttons_expected),
            ],
        },
        fallbacks=[cancel],
        cancel=steps.cancel,
        timed_out=steps.timed_out,
        replaced_text=views.replaced,
    )


def register(app: BotApplication) -> None:
    app.add_handler(CallbackQueryHandler(steps.sent_before, pattern=buttons.SEND.pattern()))
