"""What the debtors list and a reseller's statement say, in chat and in the statement's
CSV file (whose cells are plain: ISO dates, amounts with a dot and two decimals)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.adapters.exports import safe_text
from bot.i18n import Translator
from bot.money import format_number
from bot.services.cash import Debtor
from bot.services.statements import Line, Preset, Statement, StatementError
from handlers import pages
from handlers.admin import callbacks
from handlers.admin import postpaid_callbacks as buttons
from handlers.common import clip
from handlers.reader import Reader
from handlers.wallet.views import kind_label

Screen = tuple[str, InlineKeyboardMarkup]
DEBTORS_PAGE_SIZE = 15  # one button per reseller on a page


# --- who owes ----------------------------------------------------------------------------


def debtors(rows: Sequence[Debtor], page: int, r: Reader) -> Screen:
    t = r.t
    if not rows:
        return t._("<b>Who owes</b>\nNo postpaid reseller owes anything."), keyboards.back_to_menu(
            t
        )
    total = sum(row.owed for row in rows)

    def header(at: int, count: int) -> str:
        return t._(
            "<b>Who owes</b>: {total} in all ({n} resellers, page {page} of {pages})",
            total=r.money(total),
            n=r.number(len(rows)),
            page=r.number(at + 1),
            pages=r.number(count),
        )

    shown = pages.paginate(
        [_debtor(row, r) for row in rows], page, header=header, max_items=DEBTORS_PAGE_SIZE
    )
    rows_shown = [
        [
            keyboards.button(
                f"👤 {clip(row.reseller.name, 30)}", callbacks.CARD.build(row.reseller.telegram_id)
            )
        ]
        for row in rows[shown.start : shown.stop]
    ]
    nav = []
    if shown.page > 0:
        nav.append(keyboards.button(t._("◀️ Previous"), buttons.DEBTORS.build(shown.page - 1)))
    if shown.page < shown.pages - 1:
        nav.append(keyboards.button(t._("Next ▶️"), buttons.DEBTORS.build(shown.page + 1)))
    menu = [keyboards.button(t._("⬅️ Menu"), keyboards.MENU)]
    return shown.text, InlineKeyboardMarkup([*rows_shown, *([nav] if nav else []), menu])


def _debtor(row: Debtor, r: Reader) -> str:
    t = r.t
    if row.used_percent is None:
        owed = t._(
            "• {name}: owes <b>{owed}</b> (no limit)",
            name=r.name(row.reseller.name),
            owed=r.money(row.owed),
        )
    else:
        owed = t._(
            "• {name}: owes <b>{owed}</b> of {limit} ({percent}%)",
            name=r.name(row.reseller.name),
            owed=r.money(row.owed),
            limit=r.money(row.limit),
            percent=r.number(row.used_percent),
        )
    if row.days_since_payment is None:
        paid = t._("never paid")
    elif row.days_since_payment == 0:
        paid = t._("last paid today")
    else:
        paid = t.n_(
            "last paid {n} day ago",
            "last paid {n} days ago",
            row.days_since_payment,
        )
    return f"{owed} · {paid}"


# --- a reseller's statement ----------------------------------------------------------------


def period_prompt(name: str, telegram_id: int, r: Reader, problem: str = "") -> Screen:
    t = r.t
    text = t._(
        "📄 <b>Statement of {name}</b>\nChoose a period, or send two dates like "
        "<code>2026-01-01 2026-01-31</code>.",
        name=r.name(name),
    )
    if problem:
        text = f"⚠️ {problem}\n\n{text}"
    cancel = keyboards.button(t._("✖️ Cancel"), buttons.STATEMENT_CANCEL.build())
    return text, _periods(telegram_id, t, cancel)


def _periods(
    telegram_id: int, t: Translator, last: InlineKeyboardButton | None = None
) -> InlineKeyboardMarkup:
    """The period buttons, then ``last`` (the card's button if none is given)."""
    card = keyboards.button(t._("👤 Reseller card"), callbacks.CARD.build(telegram_id))

    def period(label: str, preset: Preset) -> list[InlineKeyboardButton]:
        return [keyboards.button(label, buttons.STATEMENT_PERIOD.build(telegram_id, preset))]

    return InlineKeyboardMarkup(
        [
            period(t._("This month"), Preset.THIS_MONTH),
            period(t._("Last month"), Preset.LAST_MONTH),
            period(t._("Last 30 days"), Preset.LAST_30_DAYS),
            [last or card],
        ]
    )


def period_problem(exc: StatementError, t: Translator) -> str:
    if exc.code == "no_such_date":
        return t._("One of those dates does not exist.")
    if exc.code == "reversed":
        return t._("The first date is after the last one.")
    if exc.code == "future":
        return t._("The period cannot end after today.")
    return t._("Send two dates like 2026-01-01 2026-01-31.")


def day(value: dt.date, r: Reader) -> str:
    """A calendar day as yyyy-mm-dd in the reader's digits, kept whole in any script."""
    return r.t.isolate("".join(r.number(int(c)) if c.isdigit() else c for c in value.isoformat()))


def statement(s: Statement, r: Reader) -> Screen:
    return statement_text(s, r), _periods(s.reseller.telegram_id, r.t)


def statement_text(s: Statement, r: Reader) -> str:
    """The statement's figures (the admin's screen, and the reseller's monthly message)."""
    t = r.t
    lines = [
        t._("📄 <b>Statement of {name}</b>", name=r.name(s.reseller.name)),
        t._("From {first} to {last}", first=day(s.period.first, r), last=day(s.period.last, r)),
        "",
        t._("Opening balance: {amount}", amount=r.money(s.opening)),
    ]
    for label, amount, sign in figures(s, t):
        if amount:
            lines.append(f"{label}: {r.signed(sign * amount)}")
    lines.append(t._("Closing balance: <b>{amount}</b>", amount=r.money(s.closing)))
    if s.movements:
        lines.append(t.n_("{n} movement.", "{n} movements.", s.movements))
    else:
        lines.append(t._("No movements in this period."))
    return "\n".join(lines)


def figures(s: Statement, t: Translator) -> list[tuple[str, int, int]]:
    """(label, amount, sign) of each kind of movement, in the statement's order."""
    return [
        (t._("Top-ups and credits added"), s.added, 1),
        (t._("Credits removed"), s.removed, -1),
        (t._("Sales"), s.sales, -1),
        (t._("Refunds"), s.refunds, 1),
        (t._("Cash received"), s.cash, 1),
        (t._("Expired credits"), s.expired, -1),
    ]


def file_name(s: Statement) -> str:
    return f"statement-{s.reseller.telegram_id}-{s.period.first}-{s.period.last}.csv"


def csv_summary(s: Statement, t: Translator) -> list[list[str]]:
    """The CSV's first rows: who, the period, and the figures (every one, zero or not)."""
    rows = [
        [t._("Reseller"), safe_text(s.reseller.name), str(s.reseller.telegram_id)],
        [t._("Period"), s.period.first.isoformat(), s.period.last.isoformat()],
        [t._("Opening balance"), format_number(s.opening)],
    ]
    rows += [[label, format_number(sign * amount)] for label, amount, sign in figures(s, t)]
    rows.append([t._("Closing balance"), format_number(s.closing)])
    rows.append([])
    rows.append([t._("Date"), t._("Kind"), t._("Amount"), t._("Balance"), t._("Comment")])
    return rows


def csv_line(line: Line, r: Reader) -> list[str]:
    when = line.created_at.astimezone(r.zone).strftime("%Y-%m-%d %H:%M")
    return [
        when,
        kind_label(line.kind, r.t),
        format_number(line.amount),
        format_number(line.balance),
        safe_text(line.comment or ""),
    ]


def file_caption(s: Statement, r: Reader) -> str:
    return r.t._(
        "📄 Statement of {name}, {first} to {last}",
        name=r.name(s.reseller.name),
        first=day(s.period.first, r),
        last=day(s.period.last, r),
    )


def cancelled(t: Translator) -> str:
    return t._("No statement was made.")


def timed_out(t: Translator) -> str:
    return t._("⏱ No statement was made: no period came in time.")


def replaced(t: Translator) -> str:
    return t._("⏹ No statement was made: you started something else.")
