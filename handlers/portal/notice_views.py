"""The portal's notices, sent through the outbox: a cancellation and a change request to
the reseller, a change's answer and an automatic resume to the customer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.services.cancellation import CANCELLED_KIND
from bot.services.pauses import RESUMED_KIND
from bot.services.plan_changes import DECIDED_KIND, REQUESTED_KIND
from handlers.portal import callbacks
from handlers.portal.cancel_views import decline_reason, reason_name
from handlers.reader import Reader

Notice = tuple[str, InlineKeyboardMarkup | None]


def _date(r: Reader, iso: str) -> str:
    return r.date(dt.datetime.fromisoformat(iso))


def cancelled(p: dict[str, Any], r: Reader) -> Notice:
    t = r.t
    lines = [
        t._(
            "❌ Your customer <b>{username}</b> cancelled {plan} (it runs until {date}).",
            username=r.name(p["username"]),
            plan=r.name(p["plan"]),
            date=_date(r, p["expires_at"]),
        ),
        t._("Reason: {reason}", reason=reason_name(p["reason"], r)),
    ]
    if p.get("note"):
        lines.append(t._("In their words: {note}", note=r.name(p["note"])))
    return "\n".join(lines), None


def change_requested(p: dict[str, Any], r: Reader) -> Notice:
    t = r.t
    difference = int(p["difference"])
    text = "\n".join(
        [
            t._(
                "🔄 Your customer <b>{username}</b> asks to change from {old} to {plan}.",
                username=r.name(p["username"]),
                old=r.name(p["from_plan"]),
                plan=r.name(p["plan"]),
            ),
            t.n_(
                "Approving sells {plan} ({n} day) for {price} ({difference} against the "
                "current plan).",
                "Approving sells {plan} ({n} days) for {price} ({difference} against the "
                "current plan).",
                int(p["days"]),
                plan=r.name(p["plan"]),
                price=r.money(p["price"]),
                difference=r.signed(difference) if difference else r.number(0),
            ),
        ]
    )
    request_id = int(p["request_id"])
    approve = callbacks.CHANGE_APPROVE_AT.build(request_id, int(p["price"]))
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button(t._("✅ Approve"), approve),
                keyboards.button(t._("✖️ Decline"), callbacks.CHANGE_DECLINE.build(request_id)),
            ]
        ]
    )
    return text, keyboard


def change_repriced(p: dict[str, Any], r: Reader) -> Notice:
    """Approve at a price that is no longer the plan's: the request again, at the new one."""
    text, keyboard = change_requested(p, r)
    warning = r.t._(
        "⚠️ {plan} now costs {price}; nothing was charged. Approve again at this price, or decline.",
        plan=r.name(p["plan"]),
        price=r.money(p["price"]),
    )
    return f"{warning}\n\n{text}", keyboard


def change_decided(p: dict[str, Any], r: Reader) -> Notice:
    t = r.t
    if p["approved"]:
        text = t._("✅ Your package is now {plan}; your subscription runs until {date}.",
                   plan=r.name(p["plan"]), date=_date(r, p["expires_at"]))  # fmt: skip
        if p.get("stopped_plan"):
            text += "\n\n" + t._(
                "🔁 Automatic renewal of {old} with Telegram Stars stopped, so it cannot put "
                "you back on it. To renew {plan}, tap ⭐ Pay and renew in /status (a 30-day "
                "package can renew automatically from there too).",
                old=r.name(p["stopped_plan"]), plan=r.name(p["plan"]),
            )  # fmt: skip
    else:
        text = t._("Your reseller declined the change to {plan}: {reason}",
                   plan=r.name(p["plan"]), reason=_declined_why(p, r))  # fmt: skip
    return text, None


def _declined_why(p: dict[str, Any], r: Reader) -> str:
    """A picked reason in the reader's words; the reseller's own, escaped, as typed."""
    note = p.get("note")
    return r.name(str(note)) if note else decline_reason(p["reason"], r)


def resumed(p: dict[str, Any], r: Reader) -> Notice:
    text = r.t._("▶️ Your pause is over: <code>{username}</code> is on again and runs until "
                 "{date}.", username=r.name(p["username"]),
                 date=_date(r, p["expires_at"]))  # fmt: skip
    return text, None


VIEWS: dict[str, Callable[[dict[str, Any], Reader], Notice]] = {
    CANCELLED_KIND: cancelled,
    REQUESTED_KIND: change_requested,
    DECIDED_KIND: change_decided,
    RESUMED_KIND: resumed,
}
