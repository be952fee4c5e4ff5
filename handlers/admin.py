"""Admin screens: resellers and the ledger audit. Admins only, checked on every tap."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.services import resellers, wallet
from handlers.common import ADMINS_ONLY, is_admin, money, refuse, show

RESELLERS_PAGE_SIZE = 15
MAX_PROBLEMS_SHOWN = 20


async def list_resellers(update: Update, context: BotContext) -> None:
    if not is_admin(update, context):
        await refuse(update, ADMINS_ONLY)
        return
    page = int(context.matches[0].group(1)) if context.matches else 0
    rows = await resellers.list_resellers(context.db)
    pages = max(1, -(-len(rows) // RESELLERS_PAGE_SIZE))
    page = min(page, pages - 1)
    if not rows:
        text = "<b>Resellers</b>\nNone yet. Add one with <code>python -m bot reseller add</code>."
    else:
        lines = [f"<b>Resellers</b> ({len(rows)}, page {page + 1} of {pages})"]
        for row in rows[page * RESELLERS_PAGE_SIZE : (page + 1) * RESELLERS_PAGE_SIZE]:
            r = row.reseller
            flags = " · postpaid" if r.postpaid else ""
            flags += " · suspended" if r.status == "suspended" else ""
            lines.append(
                f"• {escape(r.name)} (<code>{r.telegram_id}</code>{flags}): "
                f"{money(row.balance.available, context)} available"
            )
        text = "\n".join(lines)
    await show(update, text, keyboards.pager(keyboards.ADMIN_RESELLERS, page, pages))


async def audit(update: Update, context: BotContext) -> None:
    if not is_admin(update, context):
        await refuse(update, ADMINS_ONLY)
        return
    report = await wallet.audit(context.db)
    if report.ok:
        text = (
            "🧮 <b>Ledger audit: OK</b>\n"
            f"{report.accounts} accounts and {report.transfers} transfers checked; "
            "every balance matches its entries and they sum to zero."
        )
    else:
        shown = "\n".join(f"• {escape(p)}" for p in report.problems[:MAX_PROBLEMS_SHOWN])
        more = len(report.problems) - MAX_PROBLEMS_SHOWN
        text = f"🚨 <b>Ledger audit: {len(report.problems)} problems</b>\n{shown}"
        if more > 0:
            text += f"\n… and {more} more; run <code>python -m bot audit</code>."
    await show(update, text, keyboards.back_to_menu())


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("resellers", list_resellers))
    app.add_handler(CommandHandler("audit", audit))
    app.add_handler(
        CallbackQueryHandler(list_resellers, pattern=rf"^{keyboards.ADMIN_RESELLERS}:(\d{{1,6}})$")
    )
    app.add_handler(CallbackQueryHandler(audit, pattern=f"^{keyboards.ADMIN_AUDIT}$"))
