"""Admin screens: resellers (list, card, reactivate) and the ledger audit; suspending is a
flow of its own in handlers/admin_suspend.py.

Admins only, checked on the server on every command and every tap.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.i18n import Translator
from bot.services import resellers, wallet
from bot.services.admin_log import ActionError
from bot.services.resellers import ResellerError, ResellerRow
from handlers import admin_panels, pages
from handlers.common import admins_only, clip, is_admin, matched, refuse, show
from handlers.language import translator
from models import ResellerStatus

RESELLERS_PAGE_SIZE = 15  # one button per reseller on a page
MAX_PROBLEMS_SHOWN = 20
CARD = "adm:rs"  # adm:rs:<telegram id>
SUSPEND = "adm:sus"  # asks for the reason
SUSPEND_NOW = "adm:susy"  # without a reason
SUSPEND_CUSTOMERS = "adm:susc"  # toggles: also disable their customers on the panels
REACTIVATE = "adm:act"
SUSPEND_DRAFT = "suspend_draft"
REASON = "suspend:reason"


async def admin_translator(update: Update, context: BotContext) -> Translator | None:
    """The asker's translator if they are an admin; otherwise they are told no."""
    t = await translator(update, context)
    if not is_admin(update, context):
        await refuse(update, admins_only(t))
        return None
    return t


async def list_resellers(update: Update, context: BotContext) -> None:
    t = await admin_translator(update, context)
    if t is None:
        return
    page = int(context.matches[0].group(1)) if context.matches else 0
    rows = await resellers.list_resellers(context.db)
    if not rows:
        text = t._(
            "<b>Resellers</b>\nNone yet. Add one with <code>python -m bot reseller add</code>."
        )
        await show(update, text, keyboards.back_to_menu(t))
        return

    def header(at: int, count: int) -> str:
        return t._(
            "<b>Resellers</b> ({total}, page {page} of {pages})",
            total=t.number(len(rows)),
            page=t.number(at + 1),
            pages=t.number(count),
        )

    shown = pages.paginate(
        [_line(row, context, t) for row in rows], page, header=header, max_items=RESELLERS_PAGE_SIZE
    )
    buttons = [
        [keyboards.button(f"👤 {clip(row.reseller.name, 30)}", CARD, row.reseller.telegram_id)]
        for row in rows[shown.start : shown.stop]
    ]
    nav = keyboards.pager(keyboards.ADMIN_RESELLERS, shown.page, shown.pages, t)
    await show(
        update, shown.text, InlineKeyboardMarkup(buttons + [list(r) for r in nav.inline_keyboard])
    )


def _money(amount: int, context: BotContext, t: Translator) -> str:
    return t.amount(amount, escape(context.settings.currency))


def _line(row: ResellerRow, context: BotContext, t: Translator) -> str:
    r = row.reseller
    available = _money(row.balance.available, context, t)
    name, tg_id = t.isolate(escape(r.name)), r.telegram_id
    if r.status == ResellerStatus.SUSPENDED:
        return t._(
            "• {name} (<code>{id}</code> · suspended): {amount} available",
            name=name,
            id=tg_id,
            amount=available,
        )
    if r.postpaid:
        return t._(
            "• {name} (<code>{id}</code> · postpaid): {amount} available",
            name=name,
            id=tg_id,
            amount=available,
        )
    return t._(
        "• {name} (<code>{id}</code>): {amount} available", name=name, id=tg_id, amount=available
    )


def card_view(
    row: ResellerRow, context: BotContext, t: Translator, note: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    r, b = row.reseller, row.balance

    def money(amount: int) -> str:
        return _money(amount, context, t)

    suspended = r.status == ResellerStatus.SUSPENDED
    name = t.isolate(escape(r.name) + (f" @{escape(r.username)}" if r.username else ""))
    lines = [
        f"👤 <b>{name}</b>",
        t._("Telegram id: <code>{id}</code>", id=r.telegram_id),
        t._("Status: <b>suspended</b>") if suspended else t._("Status: <b>active</b>"),
        t._("Type: postpaid") if r.postpaid else t._("Type: prepaid"),
        t._("Balance: {balance} · held {held}", balance=money(b.balance), held=money(b.held)),
        t._("Available: <b>{amount}</b>", amount=money(b.available)),
    ]
    if r.postpaid:
        lines.append(
            t._(
                "Collection limit: {limit} · owed {owed}",
                limit=money(r.credit_limit),
                owed=money(max(0, -b.balance)),
            )
        )
    if note:
        lines += ["", note]
    if suspended:
        action = keyboards.button(t._("✅ Reactivate"), REACTIVATE, r.telegram_id)
    else:
        action = keyboards.button(t._("⛔ Suspend"), SUSPEND, r.telegram_id)
    back = keyboards.button(t._("⬅️ Resellers"), keyboards.ADMIN_RESELLERS, 0)
    return pages.fit(lines), InlineKeyboardMarkup([[action], [back]])


def refusal(exc: ActionError | ResellerError, t: Translator) -> str:
    """A service's refusal, in the reader's words."""
    if isinstance(exc, ResellerError):
        return t._("There is no such reseller.")
    if exc.code == "reason_too_long":
        return t._(
            "The reason is {length} characters long; at most {limit} are allowed.",
            length=t.number(int(str(exc.params["length"]))),
            limit=t.number(int(str(exc.params["limit"]))),
        )
    if exc.params.get("status") == ResellerStatus.SUSPENDED:
        return t._("They are already suspended.")
    return t._("They are already active.")


async def card(update: Update, context: BotContext) -> None:
    t = await admin_translator(update, context)
    if t is None:
        return
    try:
        row = await resellers.reseller_row(context.db, int(matched(context)))
    except ResellerError as exc:
        await refuse(update, refusal(exc, t))
        return
    await show(update, *card_view(row, context, t))


async def reactivate(update: Update, context: BotContext) -> None:
    """One tap: a second tap (or another admin's) finds it active and says so."""
    user = update.effective_user
    t = await admin_translator(update, context)
    if user is None or t is None:
        return
    telegram_id = int(matched(context))
    try:
        await resellers.set_status(
            context.db,
            telegram_id=telegram_id,
            status=ResellerStatus.ACTIVE,
            actor=f"tg:{user.id}",
            now=dt.datetime.now(dt.UTC),
        )
        note = t._("✅ Reactivated; they have been told.")
        resumed = await admin_panels.sweep(context, telegram_id, f"tg:{user.id}", t, suspend=False)
        note += f"\n{resumed}" if resumed else ""
    except (ActionError, ResellerError) as exc:
        note = refusal(exc, t)
    row = await resellers.reseller_row(context.db, telegram_id)
    await show(update, *card_view(row, context, t, note))


# --- the audit -----------------------------------------------------------------------------


async def audit(update: Update, context: BotContext) -> None:
    t = await admin_translator(update, context)
    if t is None:
        return
    report = await wallet.audit(context.db)
    if report.ok:
        text = t._(
            "🧮 <b>Ledger audit: OK</b>\n"
            "{accounts} accounts and {transfers} transfers checked; "
            "every balance matches its entries and they sum to zero.",
            accounts=t.number(report.accounts),
            transfers=t.number(report.transfers),
        )
    else:
        # The problems are the operator's diagnostics, in the audit's own words.
        shown = "\n".join(f"• {escape(p)}" for p in report.problems[:MAX_PROBLEMS_SHOWN])
        count = len(report.problems)
        text = t.n_(
            "🚨 <b>Ledger audit: {n} problem</b>",
            "🚨 <b>Ledger audit: {n} problems</b>",
            count,
        )
        text += "\n" + shown
        more = count - MAX_PROBLEMS_SHOWN
        if more > 0:
            text += "\n" + t._(
                "… and {more} more; run <code>python -m bot audit</code>.",
                more=t.number(more),
            )
    await show(update, pages.truncate(text, pages.TEXT_LIMIT), keyboards.back_to_menu(t))


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("resellers", list_resellers))
    app.add_handler(CommandHandler("audit", audit))
    app.add_handler(
        CallbackQueryHandler(list_resellers, pattern=rf"^{keyboards.ADMIN_RESELLERS}:(\d{{1,6}})$")
    )
    app.add_handler(CallbackQueryHandler(card, pattern=rf"^{CARD}:(\d{{1,19}})$"))
    app.add_handler(CallbackQueryHandler(reactivate, pattern=rf"^{REACTIVATE}:(\d{{1,19}})$"))
    app.add_handler(CallbackQueryHandler(audit, pattern=f"^{keyboards.ADMIN_AUDIT}$"))
