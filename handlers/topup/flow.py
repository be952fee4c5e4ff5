"""The reseller's top-up flow: /topup (or ➕ Top up) -> amount -> price and payment method
-> proof -> summary -> Confirm. One message is edited step by step.

    [*] --> AMOUNT: /topup, ➕ Top up
    AMOUNT --> METHOD: a valid amount
    METHOD --> PROOF: a method tapped
    PROOF --> CONFIRM: a photo, a PDF or a transaction id
    CONFIRM --> [*]: ✅ Confirm (posted to the admins)
    CONFIRM --> CONFIRM: ✅ Confirm, the price or the method changed meanwhile (shown, warned)
    PROOF, CONFIRM --> METHOD: the method no longer accepts the amount
    any --> [*]: ✖️ Cancel, /cancel, timeout, another flow

The draft keeps the amount, the method's id and what was last shown of them; the price and
the method are read again at every step, and the request is made only at the price on the
screen whose ✅ Confirm was tapped.
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as f

from bot.context import BotContext
from handlers import flow
from handlers.topup import callbacks, steps, views
from handlers.topup.steps import AMOUNT, CONFIRM, DRAFT, METHOD, PROOF


def conversation() -> flow.Flow:
    """The top-up flow's steps, for the one conversation all flows share."""
    not_a_command = ~f.COMMAND
    cancel_button: CallbackQueryHandler[BotContext, object] = CallbackQueryHandler(
        steps.cancel_flow, pattern=callbacks.CANCEL_FLOW.pattern()
    )
    return flow.Flow(
        name="topup",
        draft_key=DRAFT,
        entry_points=[
            CommandHandler("topup", steps.start_topup, filters=f.ChatType.PRIVATE),
            CallbackQueryHandler(steps.start_topup, pattern=callbacks.NEW.pattern()),
        ],
        states={
            AMOUNT: [
                MessageHandler(f.TEXT & not_a_command, steps.got_amount),
                cancel_button,
                MessageHandler(not_a_command, steps.amount_expected),
            ],
            METHOD: [
                CallbackQueryHandler(steps.chose_method, pattern=callbacks.METHOD.pattern()),
                cancel_button,
                MessageHandler(not_a_command, steps.method_expected),
            ],
            PROOF: [
                MessageHandler(f.PHOTO, steps.got_photo),
                MessageHandler(f.Document.ALL, steps.got_document),
                MessageHandler(f.TEXT & not_a_command, steps.got_reference),
                cancel_button,
                MessageHandler(not_a_command, steps.proof_expected),
            ],
            CONFIRM: [
                CallbackQueryHandler(steps.confirm, pattern=callbacks.CONFIRM.pattern()),
                cancel_button,
                MessageHandler(not_a_command, steps.confirm_expected),
            ],
        },
        fallbacks=[cancel_button],
        cancel=steps.cancel_flow,
        timed_out=steps.timed_out,
        replaced_text=views.replaced,
    )
