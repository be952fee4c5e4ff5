"""The reseller's side of the portal: answering a change of package, and how many days a
year their customers may pause (which an admin may set for any reseller).

Who taps is checked on the server: a request or a reseller that is not the asker's looks
missing (admins with the resellers permission may set anyone's allowance).
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.services import pauses, plan_changes, sale_errors
from bot.services.customers import CustomerError
from bot.services.roles import Permission
from handlers.common import answer, may, now, refuse, show
from handlers.language import reader
from handlers.payments import auto_renewal
from handlers.portal import callbacks, notice_views, pause_views
from handlers.portal import cancel_views as cv
from handlers.portal.screens import panels
from handlers.reader import Reader
from handlers.sale import views as sale_views
from handlers.sale.selling import provider


def refusal_of(exc: CustomerError, r: Reader) -> str:
    if exc.code in ("no_such_request", "change_decided"):
        return cv.stale(r)
    if exc.code == sale_errors.CustomerCancelled.code:
        return cv.customer_cancelled(exc.params, r)
    # A sale's refusals (credit, panel, plan) in the words the sale uses.
    return sale_views.error(exc.code, exc.params, r)


async def approve(update: Update, context: BotContext) -> None:
    """✅ Approve: the new plan sold to the customer through the sale's path, once."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None:
        return
    r = await reader(update, context)
    await answer(query)  # at once: the panel may take a while
    # ``oa``: the id and the price shown; ``ok`` (an older notice): the id alone.
    values = [int(v) for v in callbacks.CHANGE_APPROVE_AT.parse(context)]
    request_id, price = values[0], values[1] if len(values) > 1 else None
    try:
        done = await plan_changes.approve(
            context.db, provider(context), panels(context), telegram_id=user.id,
            request_id=request_id, now=now(context),
            provider_seconds=context.settings.provisioning_timeout_seconds,
            expected_price=price,
        )  # fmt: skip
    except plan_changes.ChangeRepriced as exc:
        text, keyboard = notice_views.change_repriced(dict(exc.params), r)
        await context.bot.send_message(chat.id, text, reply_markup=keyboard)
        return
    except sale_errors.AlreadyOnPlan as exc:
        # The request is closed: its buttons go with it.
        await query.edit_message_text(cv.already_on_plan(exc.params, r))
        return
    except CustomerError as exc:
        # A new message, so the request's buttons stay for another try.
        await context.bot.send_message(chat.id, refusal_of(exc, r))
        return
    if done.to_stop is not None:
        # Its next charge would sell the old plan again. Should Telegram refuse the cancel,
        # a charge that still comes is refunded instead (star_renewal_outcome).
        await auto_renewal.cancel(context.bot, context.db, done.to_stop, now(context))
    await query.edit_message_text(cv.approved(done, r))


async def ask_decline(update: Update, context: BotContext) -> None:
    """✖️ Decline: the reasons to pick from (the request is checked when one is picked)."""
    query = update.callback_query
    if query is None:
        return
    r = await reader(update, context)
    request_id = callbacks.CHANGE_DECLINE.first_id(context)
    await show(update, cv.ask_decline(r), cv.decline_reasons(request_id, r))


async def decline(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None:
        return
    r = await reader(update, context)
    request_id, reason = callbacks.CHANGE_DECLINE_REASON.parse(context)
    try:
        request = await plan_changes.decline(
            context.db, telegram_id=user.id, request_id=int(request_id), reason=reason,
            now=now(context),
        )  # fmt: skip
    except CustomerError as exc:
        await refuse(update, refusal_of(exc, r))
        return
    await show(update, cv.declined(request, r))


# --- the pause allowance ----------------------------------------------------------------


async def _policy_screen(
    update: Update, context: BotContext, reseller_id: int | None, days: int | None = None
) -> None:
    user = update.effective_user
    if user is None:
        return
    r = await reader(update, context)
    admin = await may(update, context, Permission.RESELLERS)
    try:
        if days is None:
            found = await pauses.pause_policy(
                context.db, telegram_id=user.id, reseller_id=reseller_id, admin=admin
            )
        else:
            found = await pauses.set_pause_allowance(
                context.db, telegram_id=user.id, reseller_id=reseller_id, admin=admin, days=days
            )
    except CustomerError:
        await refuse(update, pause_views.policy_refused(r))
        return
    own = not admin or reseller_id is None
    await show(update, *pause_views.policy(found, r, admin=not own))


async def policy_command(update: Update, context: BotContext) -> None:
    """/pausing: the asking reseller's own allowance."""
    await _policy_screen(update, context, None)


async def policy_button(update: Update, context: BotContext) -> None:
    await _policy_screen(update, context, callbacks.POLICY.first_id(context))


async def policy_set(update: Update, context: BotContext) -> None:
    reseller_id, days = (int(v) for v in callbacks.POLICY_SET.parse(context))
    await _policy_screen(update, context, reseller_id, days)
