"""The customer portal: a linked chat's home (/start), its subscription with the panel's
live state, the link and QR again, payments, renewal, pause and resume, change package,
cancel, several subscriptions, "this is not me"; and the reseller's side of it (answering
a change of package, the pause allowance).

``screens``  the customer's screens       ``cancel``   the cancelling flow
``reseller`` the reseller's answers       ``decline``  declining in one's own words (a flow)
``callbacks`` one codec per button family
``views``, ``pause_views``, ``cancel_views``, ``notice_views``  every text and keyboard
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import context
from handlers import flow
from handlers.portal import drafts  # noqa: F401  (registers the drafts for persistence)

__all__ = ["cancel_flow", "decline_flow", "register"]


# The modules are imported when wired, not with the package: the customer's status screen
# links here through ``callbacks``, and the portal reuses its live-state lines.
def cancel_flow() -> flow.Flow:
    from handlers.portal import cancel

    return cancel.cancel_flow()


def decline_flow() -> flow.Flow:
    from handlers.portal import decline

    return decline.decline_flow()


def register(app: context.BotApplication) -> None:
    from handlers.portal import callbacks, reseller, screens

    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("pausing", reseller.policy_command, filters=private))
    for codec, callback in (
        (callbacks.HOME, screens.home_button),
        (callbacks.LIST, screens.list_button),
        (callbacks.SUBSCRIPTION, screens.subscription),
        (callbacks.ACCESS, screens.access),
        (callbacks.PAYMENTS, screens.payments),
        (callbacks.RENEWAL, screens.renewal),
        (callbacks.PAUSE, screens.ask_pause),
        (callbacks.PAUSE_FOR, screens.pause_for),
        (callbacks.RESUME, screens.resume),
        (callbacks.CHANGE, screens.change),
        (callbacks.CHANGE_TO, screens.change_to),
        (callbacks.UNLINK, screens.ask_unlink),
        (callbacks.UNLINK_CONFIRM, screens.unlink),
        (callbacks.CHANGE_APPROVE, reseller.approve),
        (callbacks.CHANGE_APPROVE_AT, reseller.approve),
        (callbacks.CHANGE_DECLINE, reseller.ask_decline),
        (callbacks.CHANGE_DECLINE_REASON, reseller.decline),
        (callbacks.POLICY_OWN, reseller.policy_command),
        (callbacks.POLICY, reseller.policy_button),
        (callbacks.POLICY_SET, reseller.policy_set),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
