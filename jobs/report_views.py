"""What the scheduled reports say: the admins' summaries, and the reseller's monthly
statement (its message and the rows of its XLSX file), in the reader's language."""

from __future__ import annotations

from typing import Any

from bot.adapters.exports import Money, Row
from bot.i18n import Translator
from bot.services.report_schedule import Every
from bot.services.statements import Line, Statement
from bot.services.summaries import Summary
from handlers.admin.statement_views import day, figures, statement_text
from handlers.reader import Reader
from handlers.wallet.views import kind_label

Notice = tuple[str, None]


def summary_notice(p: dict[str, Any], r: Reader) -> Notice:
    """A day's or a week's summary, with the sections the settings chose, in their order."""
    s, t = Summary.from_payload(p), r.t
    if p["every"] == Every.DAY:
        title = t._("📊 <b>Daily summary</b> for {day}", day=day(s.first, r))
    else:
        title = t._(
            "📊 <b>Weekly summary</b> for {first} to {last}",
            first=day(s.first, r),
            last=day(s.last, r),
        )
    lines = [title, ""]
    for section in p["sections"]:
        lines += SECTIONS[section](s, r)
    return "\n".join(lines), None


def _sales(s: Summary, r: Reader) -> list[str]:
    t = r.t
    lines = [
        t._("🛒 Activations: {n} · {amount}", n=r.number(s.activations),
            amount=r.money(s.activations_amount)),
        t._("🔁 Renewals: {n} · {amount}", n=r.number(s.renewals),
            amount=r.money(s.renewals_amount)),
    ]  # fmt: skip
    if s.refunds_amount:
        lines.append(t._("↩️ Refunds: {amount}", amount=r.money(s.refunds_amount)))
    return lines


def _topups(s: Summary, r: Reader) -> list[str]:
    return [
        r.t._("➕ Top-ups: {n} · {amount}", n=r.number(s.topups), amount=r.money(s.topups_amount))
    ]


def _credits(s: Summary, r: Reader) -> list[str]:
    return [
        r.t._(
            "💳 Credits issued: {issued} · spent: {spent} · expired: {expired}",
            issued=r.money(s.issued),
            spent=r.money(s.spent),
            expired=r.money(s.expired),
        )
    ]


def _customers(s: Summary, r: Reader) -> list[str]:
    return [r.t._("👥 New customers: {n}", n=r.number(s.new_customers))]


def _expiries(s: Summary, r: Reader) -> list[str]:
    return [r.t._("⏳ Subscriptions ending in the next 7 days: {n}", n=r.number(s.expiring))]


def _debt(s: Summary, r: Reader) -> list[str]:
    if not s.debtors:
        return [r.t._("💰 Postpaid debt: none")]
    return [
        r.t.n_(
            "💰 Postpaid debt: {amount}, owed by {n} reseller",
            "💰 Postpaid debt: {amount}, owed by {n} resellers",
            s.debtors,
            amount=r.money(s.debt),
        )
    ]


def _top(s: Summary, r: Reader) -> list[str]:
    t = r.t
    if not s.top:
        return [t._("🏆 Top resellers: no sales")]
    lines = [t._("🏆 <b>Top resellers</b>")]
    for rank, row in enumerate(s.top, start=1):
        lines.append(
            t.n_(
                "{rank}. {name}: {n} sale · {amount}",
                "{rank}. {name}: {n} sales · {amount}",
                row.sales,
                rank=r.number(rank),
                name=r.name(row.name),
                amount=r.money(row.amount),
            )
        )
    return lines


SECTIONS = {
    "sales": _sales,
    "topups": _topups,
    "credits": _credits,
    "customers": _customers,
    "expiries": _expiries,
    "debt": _debt,
    "top": _top,
}


# --- the reseller's monthly statement --------------------------------------------------


def statement_message(s: Statement, r: Reader) -> str:
    """The caption of the statement's file: the same figures as the admin's statement."""
    return "\n".join(
        [
            statement_text(s, r),
            "",
            r.t._("Every movement of the month is in the attached file."),
        ]
    )


def statement_file_name(s: Statement) -> str:
    return f"statement-{s.period.first:%Y-%m}.xlsx"


def sheet_title(t: Translator) -> str:
    return t._("Statement")


def statement_rows(s: Statement, t: Translator) -> list[Row]:
    """The file's first rows: who, the period, every figure (zero or not), the columns."""
    rows: list[Row] = [
        [t._("Reseller"), s.reseller.name, s.reseller.telegram_id],
        [t._("Period"), s.period.first, s.period.last],
        [t._("Opening balance"), Money(s.opening)],
    ]
    rows += [[label, Money(sign * amount)] for label, amount, sign in figures(s, t)]
    rows.append([t._("Closing balance"), Money(s.closing)])
    rows.append([])
    rows.append([t._("Date"), t._("Kind"), t._("Amount"), t._("Balance"), t._("Comment")])
    return rows


def statement_line(line: Line, t: Translator) -> Row:
    return [
        line.created_at,
        kind_label(line.kind, t),
        Money(line.amount),
        Money(line.balance),
        line.comment or "",
    ]
