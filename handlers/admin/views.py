"""Every text and keyboard of the admin screens: the resellers list and card, the
suspension prompt, the panel sweep's counts and the ledger audit. Pure functions of the
services' frozen views and the reader, so a screen's words live in one place.

The services' refusals come here as a code and plain parameters, never as their English
message.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.admin_log import ActionError
from bot.services.ledger_audit import AuditReport
from bot.services.panel_suspension import Sweep, SweepResult
from bot.services.reseller_search import ResellerCard
from bot.services.resellers import ResellerError
from handlers import pages
from handlers.admin import callbacks, cash_views, reseller_views
from handlers.admin import credit_callbacks as credit_buttons
from handlers.admin import reseller_callbacks as buttons
from handlers.admin import transfer_callbacks as transfer_buttons
from handlers.charts import callbacks as chart_buttons
from handlers.charts.callbacks import Whose
from handlers.downline import admin_views as downline_views
from handlers.exports import callbacks as export_buttons
from handlers.portal import callbacks as portal_buttons
from handlers.pricelists import callbacks as price_list_buttons
from handlers.pricelists.callbacks import Scope
from handlers.reader import Reader
from models import ResellerStatus

Screen = tuple[str, InlineKeyboardMarkup]
MAX_PROBLEMS_SHOWN = 20
FAILURES_SHOWN = 10


# --- the reseller card (the list is in reseller_views) ---------------------------------


def card(row: ResellerCard, r: Reader, note: str = "") -> Screen:
    """The reseller card; ``note`` (what was just done, or why not) goes under it."""
    t, who, b = r.t, row.reseller, row.balance
    is_suspended = who.status == ResellerStatus.SUSPENDED
    name = r.name(who.name + (f" @{who.username}" if who.username else ""))
    lines = [
        f"👤 <b>{name}</b>",
        t._("Telegram id: <code>{id}</code>", id=who.telegram_id),
        t._("Status: <b>suspended</b>") if is_suspended else t._("Status: <b>active</b>"),
    ]
    if row.suspension_reason:
        lines.append(t._("Reason: {reason}", reason=escape(row.suspension_reason)))
    lines += [
        t._("Type: postpaid") if who.postpaid else t._("Type: prepaid"),
        t._("Balance: {balance} · held {held}", balance=r.money(b.balance), held=r.money(b.held)),
        t._("Available: <b>{amount}</b>", amount=r.money(b.available)),
    ]
    if who.postpaid:
        lines.append(
            t._(
                "Collection limit: {limit} · owed {owed}",
                limit=r.money(who.credit_limit),
                owed=r.money(row.owed),
            )
        )
    lines.append(
        t._("Low-balance alert below: {amount}", amount=r.money(who.low_balance_threshold))
    )
    lines += reseller_views.activity(row, r)
    lines += downline_views.card_lines(row, r)
    if note:
        lines += ["", note]
    tid = who.telegram_id
    if is_suspended:
        action = keyboards.button(t._("✅ Reactivate"), callbacks.REACTIVATE.build(tid))
    else:
        action = keyboards.button(t._("⛔ Suspend"), callbacks.SUSPEND.build(tid))
    rows = [
        [
            keyboards.button(t._("✏️ Edit"), buttons.EDIT_MENU.build(tid)),
            keyboards.button(t._("📜 History"), buttons.HISTORY.build(tid, 0)),
        ],
        # The credits and cash-received buttons go in a row of their own here.
        [keyboards.button(t._("➕➖ Credits"), credit_buttons.OPEN.build(tid))],  # noqa: RUF001
        [keyboards.button(t._("💸 Transfers"), transfer_buttons.SCREEN.build(tid, 0))],
        *cash_views.card_buttons(who, t),  # cash received (postpaid), statement
        [
            keyboards.button(t._("📤 Export"), export_buttons.MENU.build(tid)),
            keyboards.button(t._("📊 Charts"), chart_buttons.MENU.build(Whose(tid, True))),
        ],
        [keyboards.button(t._("👥 Customers"), buttons.CUSTOMERS.build(tid, 0))],
        [
            keyboards.button(
                t._("🏷 Price list"), price_list_buttons.RESELLER.build(Scope.ADMIN, tid)
            )
        ],
        [keyboards.button(t._("⏸ Pausing"), portal_buttons.POLICY.build(who.id))],
        [action],
        [keyboards.button(t._("⬅️ Resellers"), callbacks.RESELLERS.build(0))],
    ]
    return pages.fit(lines), InlineKeyboardMarkup(rows)


def already_suspended(r: Reader) -> str:
    return r.t._("They are already suspended.")


def refusal(exc: ActionError | ResellerError, r: Reader) -> str:
    """A service's refusal, in the reader's words."""
    t = r.t
    if isinstance(exc, ResellerError):
        return t._("There is no such reseller.")
    if exc.code == "reason_too_long":
        return t._(
            "The reason is {length} characters long; at most {limit} are allowed.",
            length=r.number(int(str(exc.params["length"]))),
            limit=r.number(int(str(exc.params["limit"]))),
        )
    if exc.params.get("status") == ResellerStatus.SUSPENDED:
        return already_suspended(r)
    return t._("They are already active.")


def reactivated(swept: SweepResult | None, telegram_id: int, r: Reader) -> str:
    """The note under the card once reactivated, with what the panels did."""
    note = r.t._("✅ Reactivated; they have been told.")
    return note + (f"\n{sweep_note(swept, telegram_id, r)}" if swept else "")


def suspended(with_reason: bool, swept: SweepResult | None, telegram_id: int, r: Reader) -> str:
    """The note under the card once suspended, with what the panels did."""
    t = r.t
    note = (
        t._("⛔ Suspended; they have been told why.")
        if with_reason
        else t._("⛔ Suspended; they have been told.")
    )
    return note + (f"\n{sweep_note(swept, telegram_id, r)}" if swept else "")


def sweep_note(result: SweepResult, telegram_id: int, r: Reader) -> str:
    """How many of the reseller's customers the panels disabled (or resumed), and how to
    retry the ones that failed."""
    t = r.t
    if result.sweep == Sweep.SUSPEND:
        lines = [t._("🔌 Disabled on the panels: {n} customers.", n=r.number(result.done))]
        if result.skipped:
            lines.append(
                t._(
                    "{n} were already disabled there by hand and stay so.",
                    n=r.number(result.skipped),
                )
            )
        retry = f"python -m bot reseller suspend --telegram-id {telegram_id} --suspend-customers"
    else:
        lines = [t._("🔌 Resumed on the panels: {n} customers.", n=r.number(result.done))]
        retry = f"python -m bot reseller activate --telegram-id {telegram_id}"
    if result.failed:
        lines.append(t._("⚠️ Failed: {n}.", n=r.number(len(result.failed))))
        lines += [
            f"• {escape(f.username)} ({escape(f.panel)}: {escape(f.code)})"
            for f in result.failed[:FAILURES_SHOWN]
        ]
        lines.append(t._("To try those again: <code>{command}</code>", command=retry))
    return "\n".join(lines)


# --- the suspension flow ---------------------------------------------------------------


def reason_prompt(
    telegram_id: int, name: str, customers: bool, r: Reader, problem: str = ""
) -> Screen:
    """Ask for the reason; ``customers`` ticks "also their customers"; ``problem`` says
    what was wrong with the last answer."""
    t = r.t
    text = t._(
        "⛔ Suspend <b>{name}</b>?\n"
        "They will not be able to sell or top up until reactivated. Send the reason in one "
        "message (at most 255 characters; it is logged and they are told), or suspend "
        "without a reason.",
        name=r.name(name),
    )
    if problem:
        text = f"{problem}\n\n{text}"
    also = "☑️ " if customers else "⬜ "
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button(
                    also + t._("Also disable their customers on the panels"),
                    callbacks.SUSPEND_CUSTOMERS.build(telegram_id),
                )
            ],
            [
                keyboards.button(
                    t._("⛔ Suspend without a reason"), callbacks.SUSPEND_NOW.build(telegram_id)
                )
            ],
            [keyboards.button(t._("✖️ Keep them active"), callbacks.CARD.build(telegram_id))],
        ]
    )
    return text, keyboard


def suspension_cancelled(t: Translator) -> str:
    return t._("Nobody was suspended.")


def suspension_timed_out(t: Translator) -> str:
    return t._("⏱ Nobody was suspended: no reason came in time.")


def suspension_replaced(t: Translator) -> str:
    return t._("⏹ Nobody was suspended: you started something else.")


# --- the audit -------------------------------------------------------------------------


def audit(report: AuditReport, r: Reader) -> Screen:
    t = r.t
    if report.ok:
        text = t._(
            "🧮 <b>Ledger audit: OK</b>\n"
            "{accounts} accounts and {transfers} transfers checked; "
            "every balance matches its entries and they sum to zero.",
            accounts=r.number(report.accounts),
            transfers=r.number(report.transfers),
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
                more=r.number(more),
            )
    return pages.truncate(text, pages.TEXT_LIMIT), keyboards.back_to_menu(t)
