"""Pausing and resuming, and the reseller's pause allowance: texts and keyboards."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.services.pauses import ALLOWANCE_CHOICES, PAUSE_CHOICES, Paused, PausePolicy, Resumed
from bot.services.portal import Subscription
from handlers.portal import callbacks
from handlers.portal.views import back, back_only
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup]


def _days(n: int, r: Reader) -> str:
    return r.t.n_("{n} day", "{n} days", n)


def ask_pause(sub: Subscription, r: Reader) -> Screen:
    """How long to pause: the choices within what is left of the allowance."""
    t = r.t
    left = sub.allowance.left
    cid = sub.customer.id
    text = "\n".join(
        [
            t._("⏸ <b>Pause your subscription</b>"),
            t._(
                "While it is paused the service is off and your remaining days are kept; "
                "they are added back when it resumes, by itself at the end of the pause "
                "or earlier when you tap Resume."
            ),
            t._(
                "Days you can still pause this year: {left} of {allowed}.",
                left=r.number(left),
                allowed=r.number(sub.allowance.max_days),
            ),
        ]
    )
    choices = sorted({d for d in PAUSE_CHOICES if d <= left} | ({left} if left else set()))
    buttons = [keyboards.button(_days(d, r), callbacks.PAUSE_FOR.build(cid, d)) for d in choices]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    if not choices:
        text += "\n\n" + t._("You have used this year's pause days.")
    return text, InlineKeyboardMarkup([*rows, [back(cid, r)]])


def paused(done: Paused, r: Reader) -> Screen:
    t = r.t
    text = "\n".join(
        [
            t._(
                "⏸ Paused until {date}. Your remaining days are kept and added back when it "
                "resumes.",
                date=r.date(done.until),
            ),
            t._("Days you can still pause this year: {left}.", left=r.number(done.allowance.left)),
        ]
    )
    keyboard = InlineKeyboardMarkup(
        [
            [keyboards.button(t._("▶️ Resume now"), callbacks.RESUME.build(done.customer.id))],
            [back(done.customer.id, r)],
        ]
    )
    return text, keyboard


def resumed(done: Resumed, r: Reader) -> Screen:
    text = r.t.n_(
        "▶️ Resumed. {n} day was added back: your subscription now runs until {date}.",
        "▶️ Resumed. {n} days were added back: your subscription now runs until {date}.",
        done.days,
        date=r.date(done.customer.expires_at),
    )
    return text, back_only(done.customer.id, r)


# --- the reseller's allowance -------------------------------------------------------------


def policy(found: PausePolicy, r: Reader, *, admin: bool) -> Screen:
    """The allowance and the choices to set it."""
    t = r.t
    if found.max_days:
        now = t.n_("Each customer may pause up to {n} day a year.",
                   "Each customer may pause up to {n} days a year.", found.max_days)  # fmt: skip
    else:
        now = t._("Customers may not pause their subscription.")
    head = (
        t._("⏸ <b>Pausing</b> for the customers of {name}", name=r.name(found.reseller_name))
        if admin
        else t._("⏸ <b>Pausing</b> for your customers")
    )
    text = "\n".join([head, now, "", t._("Choose how many days a year they may pause:")])
    buttons = [
        keyboards.button(
            ("✅ " if d == found.max_days else "") + (_days(d, r) if d else t._("No pausing")),
            callbacks.POLICY_SET.build(found.reseller_id, d),
        )
        for d in ALLOWANCE_CHOICES
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    return text, InlineKeyboardMarkup([*rows, [keyboards.button(t._("⬅️ Menu"), keyboards.MENU)]])


def policy_refused(r: Reader) -> str:
    return r.t._("That is not yours to change.")
