"""Payments in Telegram Stars: reseller top-ups, refunds, /paysupport.

``invoice``   the invoice, its pre-checkout, the successful and refunded payments
``refund``    an admin's refund: the reason, the confirmation (a flow); a pending one asked
              of Telegram again (🔁 Ask Telegram again)
``renewal``   a customer paying its own renewal (⭐ Pay and renew) and its automatic refund
``subscription`` the same every 30 days by a Stars subscription, and stopping it
``change``    a customer paying its own change of package (⭐ Pay and change)
``selfpay``   /selfpay: a reseller's customer prices in Stars (a flow for the price)
``rate``      an admin's Stars rate and bounds, from the catalogue's card (a flow)
``discount``  a discount code at an invoice (a flow); /discounts for the admins
``support``   /paysupport
``listing``   /stars: the admins' list of payments, with Refund (or Ask Telegram again)
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
from handlers.customer import callbacks as customer_buttons
from handlers.payments import (
    callbacks,
    change,
    discount,
    invoice,
    listing,
    rate,
    refund,
    renewal,
    selfpay,
    subscription,
    support,
)
from handlers.portal import callbacks as portal_buttons


def refund_flow() -> flow.Flow:
    return refund.refund_flow()


def self_pay_flow() -> flow.Flow:
    return selfpay.price_flow()


def rate_flow() -> flow.Flow:
    return rate.rate_flow()


def code_flow() -> flow.Flow:
    return discount.code_flow()


def register_payments(app: BotApplication) -> None:
    """The payment updates, ahead of every flow and catch-all: a payment is handled
    whatever the payer is in the middle of."""
    app.add_handler(PreCheckoutQueryHandler(invoice.pre_checkout))
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, invoice.successful_payment))
    app.add_handler(MessageHandler(invoice.RefundedPayment(), invoice.refunded_payment))


def register(app: BotApplication) -> None:
    """/paysupport, /stars (the admins' list), 🔁 Ask Telegram again for a refund left
    pending, the invoice's Cancel button, a customer's
    ⭐ Pay and renew, and a reseller's /selfpay screen."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("paysupport", support.ask_for_help))
    app.add_handler(CommandHandler("stars", listing.latest_payments))
    app.add_handler(CommandHandler("selfpay", selfpay.show_settings, filters=private))
    app.add_handler(CommandHandler("discounts", discount.discounts_command))
    for codec, callback in (
        (callbacks.CANCEL_INVOICE, invoice.cancel_invoice),
        (callbacks.REFUND_RETRY, refund.retry),
        (customer_buttons.PAY_RENEWAL, renewal.pay_and_renew),
        (customer_buttons.SUBSCRIBE, subscription.subscribe),
        (customer_buttons.UNSUBSCRIBE, subscription.unsubscribe),
        (portal_buttons.CHANGE_PAY, change.pay_and_change),
        (callbacks.SELF_PAY, selfpay.show_settings),
        (callbacks.SELF_PAY_ON, selfpay.toggle),
        (callbacks.SELF_PAY_OFF, selfpay.toggle),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
