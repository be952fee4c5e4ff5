"""The admin's back office in chat: resellers (list, card, edits, registration,
suspension), credits added or removed, cash received, who owes and statements, the
catalogue (plans, price tiers, payment methods), staff admins and their permissions, the
action log and the ledger audit. Each screen checks its permission (bot.services.roles).

The flows (``suspension``, ``credit_form``, ...) go to the one conversation all flows
share; ``register`` adds the screens outside them.
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
from handlers.admin import (
    action_log,
    callbacks,
    catalogue,
    credit_callbacks,
    credits,
    directory,
    postpaid,
    report_settings,
    reseller_callbacks,
    reseller_forms,
    resellers,
    staff,
    suspend,
    transfers,
)
from handlers.admin.action_log import typing_days as action_log_days
from handlers.admin.catalogue_form import form as catalogue_form
from handlers.admin.credits import credit_form
from handlers.admin.enrol import enrolling
from handlers.admin.postpaid import flows as postpaid_flows
from handlers.admin.reseller_forms import editing, searching
from handlers.admin.staff import adding as staff_adding
from handlers.admin.suspend import suspension
from handlers.admin.transfers import form as transfer_form

__all__ = [
    "action_log_days",
    "catalogue_form",
    "credit_form",
    "editing",
    "enrolling",
    "postpaid_flows",
    "register",
    "searching",
    "staff_adding",
    "suspension",
    "transfer_form",
]


def register(app: BotApplication) -> None:
    """The admin screens outside the flows."""
    app.add_handler(CommandHandler("resellers", directory.resellers_command))
    app.add_handler(CommandHandler("audit", resellers.audit))
    catalogue.register(app)
    for codec, callback in (
        (callbacks.RESELLERS, directory.menu_list),
        (callbacks.CARD, directory.card),
        (reseller_callbacks.LIST, directory.list_page),
        (reseller_callbacks.HISTORY, directory.history),
        (reseller_callbacks.CUSTOMERS, directory.customer_list),
        (reseller_callbacks.EDIT_MENU, reseller_forms.edit_menu),
        (callbacks.REACTIVATE, resellers.reactivate),
        (callbacks.AUDIT, resellers.audit),
        # A "without a reason" tap after the flow ended (timed out, replaced): suspend
        # anyway, it is one explicit tap by an admin.
        (callbacks.SUSPEND_NOW, suspend.suspend_without_reason),
        # A Save tapped again after the credit form ended: says so, moves nothing.
        (credit_callbacks.SAVE, credits.saved_before),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
    postpaid.register(app)  # who owes; statements' and cash Saves' taps after their flows
    staff.register(app)  # the owners' staff screens (adding one is the flow staff_adding)
    action_log.register(app)  # /log and its buttons (typing its dates is action_log_days)
    transfers.register(app)  # a reseller's transfers (the limit and reversals: transfer_form)
    report_settings.register(app)  # the owners' scheduled reports screen
