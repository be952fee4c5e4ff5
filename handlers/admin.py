"""Admin screens: resellers (list, card, suspend and reactivate) and the ledger audit.

Admins only, checked on the server on every command and every tap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.services import resellers, wallet
from bot.services.admin_log import ActionError
from bot.services.resellers import ResellerError, ResellerRow
from handlers import flow, pages
from handlers.common import ADMINS_ONLY, answer, clip, is_admin, matched, money, refuse, show
from models import ResellerStatus

RESELLERS_PAGE_SIZE = 15  # one button per reseller on a page
MAX_PROBLEMS_SHOWN = 20
CARD = "adm:rs"  # adm:rs:<telegram id>
SUSPEND = "adm:sus"  # asks for the reason
SUSPEND_NOW = "adm:susy"  # without a reason
REACTIVATE = "adm:act"
SUSPEND_DRAFT = "suspend_draft"
REASON = "suspend:reason"


async def list_resellers(update: Update, context: BotContext) -> None:
    if not is_admin(update, context):
        await refuse(update, ADMINS_ONLY)
        return
    page = int(context.matches[0].group(1)) if context.matches else 0
    rows = await resellers.list_resellers(context.db)
    if not rows:
        text = "<b>Resellers</b>\nNone yet. Add one with <code>python -m bot reseller add</code>."
        await show(update, text, keyboards.back_to_menu())
        return

    def header(at: int, count: int) -> str:
        return f"<b>Resellers</b> ({len(rows)}, page {at + 1} of {count})"

    shown = pages.paginate(
        [_line(row, context) for row in rows], page, header=header, max_items=RESELLERS_PAGE_SIZE
    )
    buttons = [
        [keyboards.button(f"👤 {clip(row.reseller.name, 30)}", CARD, row.reseller.telegram_id)]
        for row in rows[shown.start : shown.stop]
    ]
    nav = keyboards.pager(keyboards.ADMIN_RESELLERS, shown.page, shown.pages)
    await show(
        update, shown.text, InlineKeyboardMarkup(buttons + [list(r) for r in nav.inline_keyboard])
    )


def _line(row: ResellerRow, context: BotContext) -> str:
    r = row.reseller
    flags = " · postpaid" if r.postpaid else ""
    flags += " · suspended" if r.status == ResellerStatus.SUSPENDED else ""
    return (
        f"• {escape(r.name)} (<code>{r.telegram_id}</code>{flags}): "
        f"{money(row.balance.available, context)} available"
    )


def _card(
    row: ResellerRow, context: BotContext, note: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    r, b = row.reseller, row.balance
    lines = [
        f"👤 <b>{escape(r.name)}</b>" + (f" @{escape(r.username)}" if r.username else ""),
        f"Telegram id: <code>{r.telegram_id}</code>",
        f"Status: <b>{'suspended' if r.status == ResellerStatus.SUSPENDED else 'active'}</b>",
        f"Type: {r.billing}",
        f"Balance: {money(b.balance, context)} · held {money(b.held, context)}",
        f"Available: <b>{money(b.available, context)}</b>",
    ]
    if r.postpaid:
        lines.append(
            f"Collection limit: {money(r.credit_limit, context)} · "
            f"owed {money(max(0, -b.balance), context)}"
        )
    if note:
        lines += ["", note]
    if r.status == ResellerStatus.SUSPENDED:
        action = keyboards.button("✅ Reactivate", REACTIVATE, r.telegram_id)
    else:
        action = keyboards.button("⛔ Suspend", SUSPEND, r.telegram_id)
    keyboard = InlineKeyboardMarkup(
        [[action], [keyboards.button("⬅️ Resellers", keyboards.ADMIN_RESELLERS, 0)]]
    )
    return pages.fit(lines), keyboard


async def card(update: Update, context: BotContext) -> None:
    if not is_admin(update, context):
        await refuse(update, ADMINS_ONLY)
        return
    try:
        row = await resellers.reseller_row(context.db, int(matched(context)))
    except ResellerError as exc:
        await refuse(update, str(exc))
        return
    await show(update, *_card(row, context))


async def reactivate(update: Update, context: BotContext) -> None:
    """One tap: a second tap (or another admin's) finds it active and says so."""
    user = update.effective_user
    if user is None or not is_admin(update, context):
        await refuse(update, ADMINS_ONLY)
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
        note = "✅ Reactivated; they have been told."
    except (ActionError, ResellerError) as exc:
        note = escape(str(exc)) + "."
    row = await resellers.reseller_row(context.db, telegram_id)
    await show(update, *_card(row, context, note))


# --- suspending: a one-step flow that asks for the reason --------------------------------


@dataclass
class SuspendDraft(flow.FlowMessage):
    telegram_id: int = 0
    name: str = ""


def _reason_prompt(name: str) -> str:
    return (
        f"⛔ Suspend <b>{escape(name)}</b>?\n"
        "They will not be able to sell or top up until reactivated. Send the reason in one "
        "message (at most 255 characters; it is logged and they are told), or suspend "
        "without a reason."
    )


def _reason_keyboard(telegram_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [keyboards.button("⛔ Suspend without a reason", SUSPEND_NOW, telegram_id)],
            [keyboards.button("✖️ Keep them active", CARD, telegram_id)],
        ]
    )


async def ask_reason(update: Update, context: BotContext) -> int | str:
    """Entry: show who is about to be suspended and wait for the reason."""
    query = update.callback_query
    if query is None or query.message is None or not is_admin(update, context):
        await refuse(update, ADMINS_ONLY)
        return flow.end(context, SUSPEND_DRAFT)
    telegram_id = int(matched(context))
    try:
        row = await resellers.reseller_row(context.db, telegram_id)
    except ResellerError as exc:
        await refuse(update, str(exc))
        return flow.end(context, SUSPEND_DRAFT)
    if row.reseller.status == ResellerStatus.SUSPENDED:
        await show(update, *_card(row, context, "They are already suspended."))
        return flow.end(context, SUSPEND_DRAFT)
    await answer(query)
    draft = SuspendDraft(
        query.message.chat.id, query.message.message_id, telegram_id, row.reseller.name
    )
    assert context.user_data is not None
    context.user_data[SUSPEND_DRAFT] = draft
    await flow.render(
        context, draft, _reason_prompt(row.reseller.name), _reason_keyboard(telegram_id)
    )
    return REASON


async def _suspend(
    update: Update, context: BotContext, telegram_id: int, reason: str | None
) -> int | str:
    user = update.effective_user
    if user is None or not is_admin(update, context):
        await refuse(update, ADMINS_ONLY)
        return flow.end(context, SUSPEND_DRAFT)
    draft = flow.draft(context, SUSPEND_DRAFT, SuspendDraft)
    try:
        await resellers.set_status(
            context.db,
            telegram_id=telegram_id,
            status=ResellerStatus.SUSPENDED,
            actor=f"tg:{user.id}",
            now=dt.datetime.now(dt.UTC),
            reason=reason,
        )
        note = "⛔ Suspended; they have been told" + (" why." if reason else ".")
    except ActionError as exc:
        if draft is not None and "characters" in str(exc):
            # Too long a reason: say so and wait for a shorter one.
            await flow.render(
                context,
                draft,
                f"{escape(str(exc))}.\n\n{_reason_prompt(draft.name)}",
                _reason_keyboard(telegram_id),
            )
            return REASON
        note = escape(str(exc)) + "."
    except ResellerError as exc:
        note = escape(str(exc)) + "."
    row = await resellers.reseller_row(context.db, telegram_id)
    text, keyboard = _card(row, context, note)
    if draft is not None and update.callback_query is None:
        await flow.render(context, draft, text, keyboard)
    else:
        await show(update, text, keyboard)
    return flow.end(context, SUSPEND_DRAFT)


async def got_reason(update: Update, context: BotContext) -> int | str:
    draft = flow.draft(context, SUSPEND_DRAFT, SuspendDraft)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return flow.end(context, SUSPEND_DRAFT)
    return await _suspend(update, context, draft.telegram_id, message.text)


async def suspend_without_reason(update: Update, context: BotContext) -> int | str:
    return await _suspend(update, context, int(matched(context)), None)


async def keep_active(update: Update, context: BotContext) -> int | str:
    await card(update, context)
    return flow.end(context, SUSPEND_DRAFT)


async def cancel_suspend(update: Update, context: BotContext) -> object:
    return await flow.leave(update, context, SUSPEND_DRAFT, "Nobody was suspended.")


async def suspend_timed_out(update: Update, context: BotContext) -> None:
    await flow.expire(context, SUSPEND_DRAFT, "⏱ Nobody was suspended: no reason came in time.")


def suspension() -> flow.Flow:
    """Suspending a reseller, for the one conversation all flows share."""
    return flow.Flow(
        name="suspend",
        draft_key=SUSPEND_DRAFT,
        entry_points=[CallbackQueryHandler(ask_reason, pattern=rf"^{SUSPEND}:(\d{{1,19}})$")],
        states={
            REASON: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, got_reason),
                CallbackQueryHandler(
                    suspend_without_reason, pattern=rf"^{SUSPEND_NOW}:(\d{{1,19}})$"
                ),
                CallbackQueryHandler(keep_active, pattern=rf"^{CARD}:(\d{{1,19}})$"),
            ],
        },
        fallbacks=[],
        cancel=cancel_suspend,
        timed_out=suspend_timed_out,
        replaced_text="⏹ Nobody was suspended: you started something else.",
    )


# --- the audit -----------------------------------------------------------------------------


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
    await show(update, pages.truncate(text, pages.TEXT_LIMIT), keyboards.back_to_menu())


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("resellers", list_resellers))
    app.add_handler(CommandHandler("audit", audit))
    app.add_handler(
        CallbackQueryHandler(list_resellers, pattern=rf"^{keyboards.ADMIN_RESELLERS}:(\d{{1,6}})$")
    )
    app.add_handler(CallbackQueryHandler(card, pattern=rf"^{CARD}:(\d{{1,19}})$"))
    app.add_handler(CallbackQueryHandler(reactivate, pattern=rf"^{REACTIVATE}:(\d{{1,19}})$"))
    # A "without a reason" tap after the flow ended (timed out, replaced): suspend anyway,
    # it is one explicit tap by an admin.
    app.add_handler(
        CallbackQueryHandler(suspend_without_reason, pattern=rf"^{SUSPEND_NOW}:(\d{{1,19}})$")
    )
    app.add_handler(CallbackQueryHandler(audit, pattern=f"^{keyboards.ADMIN_AUDIT}$"))
