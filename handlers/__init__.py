"""Telegram handlers: parse, authorise, call one service, render."""

from __future__ import annotations

import datetime as dt

from bot.context import BotApplication
from handlers import (
    admin,
    announce,
    charts,
    customer,
    downline,
    exports,
    flow,
    home,
    language,
    payments,
    portal,
    pricelists,
    reachability,
    sale,
    topup,
    transfer,
    wallet,
)


def register(app: BotApplication) -> None:
    """Add every handler. Order matters: the first match in the group wins,
    so the catch-all fallbacks go last."""
    reachability.register(app)  # a group of its own: it sees every update
    payments.register_payments(app)  # a payment is handled whatever flow is under way
    # The flows first: while one is under way, /start and /cancel end it.
    minutes = app.bot_data["settings"].conversation_timeout_minutes
    app.add_handler(
        flow.conversation(
            [
                topup.conversation(),
                sale.conversation(),
                admin.suspension(),
                *admin.postpaid_flows(),
                admin.searching(),
                admin.editing(),
                admin.enrolling(),
                admin.catalogue_form(),
                admin.credit_form(),
                admin.staff_adding(),
                admin.action_log_days(),
                admin.transfer_form(),
                transfer.conversation(),
                pricelists.form(),
                *downline.flows(),
                payments.refund_flow(),
                payments.self_pay_flow(),
                payments.rate_flow(),
                payments.code_flow(),
                exports.form(),
                announce.composer(),
                portal.cancel_flow(),
                portal.decline_flow(),
            ],
            timeout=dt.timedelta(minutes=minutes),
            start=home.start,
        )
    )
    home.register(app)
    language.register(app)
    wallet.register(app)
    admin.register(app)
    pricelists.register(app)
    topup.register(app)
    sale.register(app)
    customer.register(app)
    portal.register(app)
    transfer.register(app)
    downline.register(app)
    payments.register(app)
    exports.register(app)
    announce.register(app)
    charts.register(app)
    home.register_fallbacks(app)
