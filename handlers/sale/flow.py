"""The sale flow's state table: which step answers which message or button."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from handlers import flow
from handlers.sale import callbacks, selling, steps, views
from handlers.sale.draft import CONFIRM, DRAFT, PICK_CUSTOMER, PICK_PLAN, USERNAME


def conversation() -> flow.Flow:
    """The sale flow's steps, for the one conversation all flows share."""
    cancel_button: CallbackQueryHandler[BotContext, object] = CallbackQueryHandler(
        steps.cancel_flow, pattern=callbacks.CANCEL.pattern()
    )
    text = filters.TEXT & ~filters.COMMAND
    private = filters.ChatType.PRIVATE
    return flow.Flow(
        name="sale",
        draft_key=DRAFT,
        entry_points=[
            CommandHandler("activate", steps.start_activation, filters=private),
            CallbackQueryHandler(steps.start_activation, pattern=callbacks.ACTIVATE.pattern()),
            CommandHandler("renew", steps.start_renewal, filters=private),
            CallbackQueryHandler(steps.start_renewal, pattern=callbacks.RENEW.pattern()),
            CallbackQueryHandler(steps.renew_customer, pattern=callbacks.RENEW_CUSTOMER.pattern()),
            CallbackQueryHandler(
                steps.renew_requested, pattern=callbacks.RENEW_REQUESTED.pattern()
            ),
        ],
        states={
            USERNAME: [
                MessageHandler(text, steps.got_username),
                cancel_button,
                MessageHandler(~filters.COMMAND, steps.username_expected),
            ],
            PICK_CUSTOMER: [
                CallbackQueryHandler(
                    steps.picked_customer, pattern=callbacks.PICK_CUSTOMER.pattern()
                ),
                CallbackQueryHandler(
                    steps.customer_page, pattern=callbacks.CUSTOMER_PAGE.pattern()
                ),
                MessageHandler(text, steps.customer_search),
                cancel_button,
            ],
            PICK_PLAN: [
                CallbackQueryHandler(selling.picked_plan, pattern=callbacks.PLAN.pattern()),
                cancel_button,
                MessageHandler(~filters.COMMAND, steps.button_expected),
            ],
            CONFIRM: [
                CallbackQueryHandler(selling.confirm, pattern=callbacks.CONFIRM.pattern()),
                cancel_button,
                MessageHandler(~filters.COMMAND, steps.button_expected),
            ],
        },
        fallbacks=[cancel_button],
        cancel=steps.cancel_flow,
        timed_out=steps.timed_out,
        replaced_text=views.replaced,
    )
