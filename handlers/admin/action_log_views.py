"""Every text and keyboard of the action log: its pages, its filter pickers and the
prompt for typed dates. Pure functions of the service's frozen views and the reader.

Each kind of action has a translated name; its values (amounts, codes, names, old and new)
follow it as the reader writes them. A kind this version does not know (logged by a later
one) still shows, under a generic name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.admin_log import CLI, Choice, LoggedAction, LogPage
from handlers import pages
from handlers.admin.action_log_callbacks import PAGE, PICK, Filters, Pick
from handlers.common import clip
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup]
REASON_SHOWN = 120  # characters of a reason on a line of the log
NAME_SHOWN = 30  # characters of a name on a button

_NAMES: dict[str, Callable[[Translator], str]] = {
    "credit_added": lambda t: t._("➕ Credits added"),
    "credit_removed": lambda t: t._("➖ Credits removed"),  # noqa: RUF001
    "cash_received": lambda t: t._("💵 Cash received"),
    "topup_approved": lambda t: t._("✅ Top-up approved"),
    "topup_rejected": lambda t: t._("❌ Top-up rejected"),
    "reseller_registered": lambda t: t._("🆕 Reseller registered"),
    "reseller_suspended": lambda t: t._("⛔ Reseller suspended"),
    "reseller_activated": lambda t: t._("▶️ Reseller reactivated"),
    "reseller_name": lambda t: t._("✏️ Name changed"),
    "reseller_type": lambda t: t._("✏️ Type changed"),
    "reseller_limit": lambda t: t._("✏️ Collection limit changed"),
    "reseller_thr": lambda t: t._("✏️ Low-balance threshold changed"),
    "plan_added": lambda t: t._("📦 Plan added"),
    "plan_edited": lambda t: t._("📦 Plan edited"),
    "plan_enabled": lambda t: t._("📦 Plan enabled"),
    "plan_disabled": lambda t: t._("📦 Plan disabled"),
    "plan_moved": lambda t: t._("📦 Plan moved"),
    "tier_added": lambda t: t._("🏷 Price tier added"),
    "tier_edited": lambda t: t._("🏷 Price tier edited"),
    "tier_removed": lambda t: t._("🏷 Price tier removed"),
    "method_added": lambda t: t._("💳 Payment method added"),
    "method_edited": lambda t: t._("💳 Payment method edited"),
    "method_enabled": lambda t: t._("💳 Payment method enabled"),
    "method_disabled": lambda t: t._("💳 Payment method disabled"),
    "staff_added": lambda t: t._("👮 Staff admin added"),
    "staff_permissions": lambda t: t._("👮 Staff permissions changed"),
    "staff_removed": lambda t: t._("👮 Staff admin removed"),
    "report_switch": lambda t: t._("🗓 Scheduled reports changed"),
    "announcement_refused": lambda t: t._("📣 Scheduled announcement not sent"),
    "panel_import": lambda t: t._("🔌 Panel users imported"),
    "panel_customers_suspended": lambda t: t._("🔌 Customers disabled on the panels"),
    "panel_customers_resumed": lambda t: t._("🔌 Customers resumed on the panels"),
    "panel_added": lambda t: t._("🔌 Panel added"),
    "panel_enabled": lambda t: t._("🔌 Panel enabled"),
    "panel_disabled": lambda t: t._("🔌 Panel disabled"),
    "transfer_allowed": lambda t: t._("💸 Transfers allowed or forbidden"),
    "transfer_limit": lambda t: t._("💸 Daily transfer limit changed"),
    "transfer_reversed": lambda t: t._("↩️ Transfer reversed"),
    "price_list_added": lambda t: t._("🏷 Price list added"),
    "price_list_renamed": lambda t: t._("🏷 Price list renamed"),
    "price_list_percent": lambda t: t._("🏷 Price list percentage changed"),
    "price_list_removed": lambda t: t._("🏷 Price list deleted"),
    "price_entry_set": lambda t: t._("🏷 Plan price set on a list"),
    "price_entry_cleared": lambda t: t._("🏷 Plan price cleared on a list"),
    "price_list_assigned": lambda t: t._("🏷 Reseller's price list changed"),
    "reseller_depth": lambda t: t._("👥 Sub-reseller depth changed"),
    "credits_allocated": lambda t: t._("👥 Credits given to a sub-reseller"),
    "credits_reclaimed": lambda t: t._("👥 Credits taken back from a sub-reseller"),
}
# Values kept in hundredths: of credits, or of the currency credits are paid in.
_CREDITS = ("amount", "balance", "owed", "credits", "credit_limit", "limit", "threshold", "thr")
_PRICES = ("price", "unit_price", "min_total")


def kind_name(kind: str, t: Translator) -> str:
    """A kind of action in the reader's words; a kind from a later version, generically."""
    name = _NAMES.get(kind)
    return name(t) if name else t._("⚙️ Other action ({kind})", kind=escape(kind))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _value(key: str, value: Any, r: Reader) -> str:
    """One logged value as the reader writes it: amounts with their currency, words
    (a reseller's type) translated, anything else escaped and kept whole."""
    number = _int(value)
    if number is not None and key in _CREDITS:
        return r.money(number)
    if number is not None and key in _PRICES:
        return r.price(number)
    if key == "billing" or (key == "type" and value in ("prepaid", "postpaid")):
        return r.t._("postpaid") if value == "postpaid" else r.t._("prepaid")
    if number is not None:
        return r.number(number)
    return r.name(str(value))


def _values(action: LoggedAction, r: Reader) -> str:
    """What an action did, in values: the amount, the code, the old and new values."""
    before, after = action.before, action.after
    kind = action.action
    parts: list[str] = []
    if kind.startswith("topup_") and _int(after.get("request_id")) is not None:
        parts.append("#" + r.number(int(after["request_id"])))
    if kind in ("credit_added", "credit_removed", "cash_received", "credits_allocated",
                "credits_reclaimed") and "amount" in after:  # fmt: skip
        parts.append(_value("amount", after["amount"], r))
    elif kind.startswith("topup_") and "credits" in after:
        parts.append(_value("credits", after["credits"], r))
    elif kind == "reseller_registered" and "billing" in after:
        parts.append(_value("billing", after["billing"], r))
    elif kind.startswith("staff_"):
        shown = after or before
        if "telegram_id" in shown:
            parts.append(f"<code>{escape(str(shown['telegram_id']))}</code>")
        if "name" in shown:
            parts.append(_value("name", shown["name"], r))
    elif kind.startswith(("plan_", "method_")) and "code" in (after or before):
        parts.append(_value("code", (after or before)["code"], r))
    elif kind.startswith("tier_") and "min_credits" in (after or before):
        parts.append("≥ " + _value("min_credits", (after or before)["min_credits"], r))
    elif kind.startswith("panel_") and "panel" in after:
        parts.append(_value("panel", after["panel"], r))
    changed = _changes(before, after, r)
    if changed and not kind.startswith(("credit", "cash_", "topup_", "staff_")):
        parts.append(changed)
    return ", ".join(parts)


def _changes(before: Mapping[str, Any], after: Mapping[str, Any], r: Reader) -> str:
    """``old → new`` for each value an edit changed (the code that names it aside)."""
    out = []
    for key in after:
        # A switch (enabled, active) is said by the kind's name; the code names the row.
        if isinstance(after[key], bool) or key == "code":
            continue
        if key in before and before[key] != after[key]:
            out.append(f"{_value(key, before[key], r)} → {_value(key, after[key], r)}")
    return ", ".join(out)


def who(actor: str, name: str | None, r: Reader) -> str:
    if actor == CLI:
        return "<code>cli</code>"
    if name:
        return r.name(name)
    return f"<code>{escape(actor.removeprefix('tg:'))}</code>"


def line(action: LoggedAction, r: Reader) -> str:
    """One action: when, who, what (with its values), on whom, and the reason."""
    when = f"{r.date(action.created_at)} {r.time(action.created_at)}"
    what = kind_name(action.action, r.t)
    values = _values(action, r)
    text = f"🕓 {when} · {who(action.actor, action.actor_name, r)}\n{what}"
    if values:
        text += f": {values}"
    if action.reseller_id is not None:
        whom = action.reseller_name or f"#{action.reseller_id}"
        text += f" · 👤 {r.name(whom)}"
    if action.reason:
        text += f"\n💬 {escape(clip(action.reason, REASON_SHOWN))}"
    return text


def _day(day: dt.date, r: Reader) -> str:
    return r.date(dt.datetime.combine(day, dt.time(12), r.zone))


def filters_line(filters: Filters, names: Mapping[str, str | None], r: Reader) -> str:
    """What the list is filtered by; ``names`` names the admin and the reseller."""
    t, parts = r.t, []
    if filters.actor is not None:
        parts.append(who(filters.actor, names.get("actor"), r))
    if filters.reseller_id is not None:
        parts.append("👤 " + r.name(names.get("reseller") or f"#{filters.reseller_id}"))
    if filters.kind is not None:
        parts.append(kind_name(filters.kind, t))
    if filters.first or filters.last:
        first = _day(filters.first, r) if filters.first else "…"
        last = _day(filters.last, r) if filters.last else "…"
        parts.append(f"📅 {first} → {last}")
    return t._("Filtered by: {filters}", filters=" · ".join(parts))


def log_page(
    found: LogPage, filters: Filters, names: Mapping[str, str | None], r: Reader
) -> Screen:
    """A page of the log, newest first, with the filter buttons and the pager."""
    t = r.t
    head = t._(
        "📜 <b>Action log</b> ({total}, page {page} of {pages})",
        total=r.number(found.total),
        page=r.number(found.page + 1),
        pages=r.number(found.pages),
    )
    if filters.any:
        head += "\n" + filters_line(filters, names, r)
    blocks = [head, *(line(action, r) for action in found.actions)]
    if not found.actions:
        blocks.append(
            t._("Nothing matches these filters.") if filters.any else t._("Nothing logged yet.")
        )
    text = pages.fit(blocks, separator="\n\n")
    rows = [
        [
            keyboards.button(t._("👮 Admin"), PICK.build(Pick.ADMIN, filters)),
            keyboards.button(t._("👤 Reseller"), PICK.build(Pick.RESELLER, filters)),
        ],
        [
            keyboards.button(t._("🏷 Kind"), PICK.build(Pick.KIND, filters)),
            keyboards.button(t._("📅 Dates"), PICK.build(Pick.DATES, filters)),
        ],
    ]
    nav = []
    if found.page > 0:
        nav.append(keyboards.button(t._("◀️ Previous"), PAGE.build(found.page - 1, filters)))
    if found.page < found.pages - 1:
        nav.append(keyboards.button(t._("Next ▶️"), PAGE.build(found.page + 1, filters)))
    if nav:
        rows.append(nav)
    if filters.any:
        rows.append([keyboards.button(t._("✖️ Clear filters"), PAGE.build(0, Filters()))])
    rows.append([keyboards.button(t._("⬅️ Menu"), keyboards.MENU)])
    return text, InlineKeyboardMarkup(rows)


def _choices(
    buttons: Sequence[InlineKeyboardButton],
    every: InlineKeyboardButton,
    back: Filters,
    t: Translator,
) -> InlineKeyboardMarkup:
    rows = [[b] for b in buttons]
    rows.append([every])
    rows.append([keyboards.button(t._("⬅️ Back"), PAGE.build(0, back))])
    return InlineKeyboardMarkup(rows)


def pick_admin(actors: Sequence[Choice], filters: Filters, r: Reader) -> Screen:
    t = r.t
    buttons = [
        keyboards.button(
            "👮 " + (clip(c.name, NAME_SHOWN) if c.name else c.value.removeprefix("tg:")),
            PAGE.build(0, filters.with_actor(c.value)),
        )
        for c in actors
    ]
    every = keyboards.button(t._("All admins"), PAGE.build(0, filters.with_actor(None)))
    return t._("Whose actions should the log show?"), _choices(buttons, every, filters, t)


def pick_reseller(resellers: Sequence[Choice], filters: Filters, r: Reader) -> Screen:
    t = r.t
    buttons = [
        keyboards.button(
            "👤 " + clip(c.name or f"#{c.value}", NAME_SHOWN),
            PAGE.build(0, filters.with_reseller(int(c.value))),
        )
        for c in resellers
    ]
    every = keyboards.button(t._("All resellers"), PAGE.build(0, filters.with_reseller(None)))
    text = t._("Actions on which reseller? The most recent ones are listed.")
    return text, _choices(buttons, every, filters, t)


def pick_kind(kinds: Sequence[str], filters: Filters, r: Reader) -> Screen:
    """The kinds in the log this version knows (others cannot be chosen, only listed)."""
    t = r.t
    buttons = [
        keyboards.button(kind_name(kind, t), PAGE.build(0, filters.with_kind(kind)))
        for kind in kinds
        if kind in _NAMES
    ]
    every = keyboards.button(t._("All kinds"), PAGE.build(0, filters.with_kind(None)))
    return t._("Which kind of action?"), _choices(buttons, every, filters, t)


def pick_dates(filters: Filters, today: dt.date, r: Reader, problem: str = "") -> Screen:
    """Presets in the reader's days, the way to type two dates, and "any date"."""
    t = r.t

    def since(days: int) -> str:
        return PAGE.build(0, filters.with_days(today - dt.timedelta(days=days - 1), today))

    text = t._(
        "Which days? Pick one below, or send two dates as <code>yyyy-mm-dd yyyy-mm-dd</code> "
        "(the first and the last day)."
    )
    if problem:
        text = f"{problem}\n\n{text}"
    rows = [
        [
            keyboards.button(t._("Today"), since(1)),
            keyboards.button(t._("7 days"), since(7)),
            keyboards.button(t._("30 days"), since(30)),
        ],
        [keyboards.button(t._("Any date"), PAGE.build(0, filters.with_days(None, None)))],
        [keyboards.button(t._("⬅️ Back"), PAGE.build(0, filters))],
    ]
    return text, InlineKeyboardMarkup(rows)


def bad_dates(code: str, r: Reader) -> str:
    """Why typed dates were refused."""
    t = r.t
    if code == "no_such_date":
        return t._("⚠️ One of those dates does not exist.")
    if code == "reversed":
        return t._("⚠️ The first date is after the last one.")
    return t._("⚠️ Send two dates like <code>2026-01-01 2026-01-31</code>.")


def stale(t: Translator) -> str:
    """A button whose data does not parse: forged, or from an older version."""
    return t._("That button is out of date. Open the action log again with /log.")


def dates_cancelled(t: Translator) -> str:
    return t._("The action log is closed; open it again with /log.")
