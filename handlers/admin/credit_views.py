"""The admin's own texts of the add / remove credit form (the rest are the shared
``handlers.credit_form_views``): the heading with the reseller's type, what is too much to
remove, the note under the card once saved, and what the reseller is told."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.services.credits import Action
from bot.services.resellers import ResellerView
from bot.services.wallet import WalletChange
from handlers import credit_form_views as form_views
from handlers.reader import Reader

Notice = tuple[str, InlineKeyboardMarkup | None]


def heading(who: ResellerView, r: Reader) -> list[str]:
    """Every step's heading: the reseller (not editable) and its type."""
    t = r.t
    kind = t._("Type: postpaid") if who.postpaid else t._("Type: prepaid")
    return [*form_views.who(who.name, who.telegram_id, r), kind]


def saved(change: WalletChange, action: Action, r: Reader) -> str:
    """The note under the card once saved."""
    t, b, amount = r.t, change.balance, change.movement.amount
    before = b.balance - amount if action == Action.ADD else b.balance + amount
    values = {"amount": r.money(amount), "before": r.money(before), "after": r.money(b.balance)}
    if action == Action.ADD:
        return t._("✅ Added {amount}. Balance: {before} → {after}. They have been told.", **values)
    return t._("✅ Removed {amount}. Balance: {before} → {after}. They have been told.", **values)


# --- what was wrong with an answer ------------------------------------------------------


def too_much(maximum: int, r: Reader) -> str:
    if maximum <= 0:
        return r.t._("Nothing can be removed: they are already at their lowest balance.")
    return r.t._(
        "That is more than can be removed; at most {amount} can be removed.",
        amount=r.money(maximum),
    )


# --- what the reseller is told (rendered by the outbox at send time) ---------------------


def _notice(p: dict[str, Any], r: Reader, added: bool) -> Notice:
    t, amount = r.t, r.money(p["amount"])
    if added:
        lines = [t._("➕ An admin added {amount} to your balance.", amount=amount)]
    else:
        lines = [t._("➖ An admin removed {amount} from your balance.", amount=amount)]  # noqa: RUF001
    lines.append(
        t._(
            "Balance: {balance} (available {available}).",
            balance=r.money(p["balance"]),
            available=r.money(p["available"]),
        )
    )
    if p.get("expires_at"):
        # They expire at the start of the day after the last day they can be used.
        last = dt.datetime.fromisoformat(p["expires_at"]) - dt.timedelta(seconds=1)
        lines.append(t._("They can be used until {date}, included.", date=r.date(last)))
    if p.get("comment"):
        lines.append(t._("Comment: {comment}", comment=escape(p["comment"])))
    return "\n".join(lines), None


def added_notice(p: dict[str, Any], r: Reader) -> Notice:
    """What the outbox tells the reseller of credits added (``credits.tell_reseller``)."""
    return _notice(p, r, added=True)


def removed_notice(p: dict[str, Any], r: Reader) -> Notice:
    """... and of credits removed."""
    return _notice(p, r, added=False)
