"""Payments in Telegram Stars: reseller top-ups, refunds, /paysupport.

``invoice``   the invoice, its pre-checkout, the successful and refunded payments
``refund``    an admin's refund: the reason, the confirmation (a flow)
``support``   /paysupport
``listing``   /stars: the admins' list of payments, with Refund
``callbacks`` one codec per button family
``views``     what the reseller sees; ``admin_views`` what the admins see (and notices)
"""

from __future__ import annotations

from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from bot.context import BotApplication
from handlers import flow
from handlers.payments import callbacks, invoice, listing, refund, support


def refund_flow() -> flow.Flow:
    return refund.refund_flow()


def register_payments(app: BotApplication) -> None:
    """The payment updates, ahead of every flow and catch-all: a payment is handled
    whatever the payer is in the middle of."""
    app.add_handler(PreCheckoutQueryHandler(invoice.pre_checkout))
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, invoice.successful_payment))
    app.add_handler(MessageHandler(invoice.RefundedPayment(), invoice.refunded_payment))


def register(app: BotApplication) -> None:
    """/paysupport, /stars (the admins' list) and the invoice's Cancel button."""
    app.add_handler(CommandHandler("paysupport", support.ask_for_help))
    app.add_handler(CommandHandler("stars", listing.latest_payments))
    app.add_handler(
        CallbackQueryHandler(invoice.cancel_invoice, pattern=callbacks.CANCEL_INVOICE.pattern())
    )
