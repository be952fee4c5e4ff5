"""/stars: the admins' list of the latest Stars payments, with ↩️ Refund on each paid one
and 🔁 Ask Telegram again on each refund still pending (however old)."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import Translator
from bot.services import star_payments
from bot.services.roles import Permission
from handlers.common import with_permission
from handlers.payments import admin_views
from handlers.reader import Reader

LATEST = 10


@with_permission(Permission.TOPUPS)
async def latest_payments(update: Update, context: BotContext, t: Translator) -> None:
    message = update.effective_message
    if message is None:
        return
    found = await star_payments.recent(context.db, limit=LATEST)
    text, keyboard = admin_views.payments_list(found, Reader.of(context.settings, t))
    await message.reply_text(text, reply_markup=keyboard)
