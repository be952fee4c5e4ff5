"""Admin screens: reactivating a reseller and the ledger audit; the list and the card are
in handlers/admin/directory.py, suspending is a flow of its own in handlers/admin/suspend.py.

The owners and the staff admins allowed resellers (the audit: reports) only, checked on
the server on every command and every tap.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.services import resellers, wallet
from bot.services.admin_log import ActionError
from bot.services.resellers import ResellerError
from bot.services.roles import Permission
from handlers.admin import callbacks, directory, panels, views
from handlers.common import now, permitted, show
from handlers.home.commands import follow_change
from handlers.language import reader
from handlers.reader import Reader
from models import ResellerStatus


async def admin_reader(
    update: Update, context: BotContext, permission: Permission = Permission.RESELLERS
) -> Reader | None:
    """The asker as a reader if they may do what ``permission`` covers (resellers, unless
    said otherwise); otherwise they are told no."""
    r = await reader(update, context)
    if not await permitted(update, context, permission, r.t):
        return None
    return r


async def reactivate(update: Update, context: BotContext) -> None:
    """One tap: a second tap (or another admin's) finds it active and says so."""
    user = update.effective_user
    r = await admin_reader(update, context)
    if user is None or r is None:
        return
    telegram_id = callbacks.REACTIVATE.parse(context)
    try:
        await resellers.set_status(
            context.db,
            telegram_id=telegram_id,
            status=ResellerStatus.ACTIVE,
            actor=f"tg:{user.id}",
            now=now(context),
        )
        resumed = await panels.sweep(context, telegram_id, f"tg:{user.id}", suspend=False)
        note = views.reactivated(resumed, telegram_id, r)
    except (ActionError, ResellerError) as exc:
        await directory.show_card(update, context, telegram_id, r, views.refusal(exc, r))
        return
    await directory.show_card(update, context, telegram_id, r, note)
    await follow_change(context, telegram_id)  # their menu lists announcing again


async def audit(update: Update, context: BotContext) -> None:
    r = await admin_reader(update, context, Permission.REPORTS)
    if r is None:
        return
    report = await wallet.audit(context.db)
    await show(update, *views.audit(report, r))
