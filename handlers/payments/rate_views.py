"""What an admin sees when setting a Stars method's rate and bounds from chat: the prompt,
the confirmation with a worked conversion, the outcome."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.money import AmountError
from bot.services.stars import StarsError, StarsMethod
from handlers.payments import callbacks
from handlers.payments.views import stars_amount
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup | None]
EXAMPLE_STARS = 100  # the conversion the confirmation works out


def _bounds(low: int | None, high: int | None, r: Reader) -> str:
    t = r.t
    return t._(
        "smallest top-up {low}, largest {high}",
        low=r.money(low) if low is not None else t._("none"),
        high=r.money(high) if high is not None else t._("none"),
    )


def prompt(method: StarsMethod, r: Reader, problem: str | None = None) -> Screen:
    t = r.t
    text = t._(
        "⭐ <b>{name}</b>: 1 Star = {rate}; {bounds}.\n\n"
        "Send the credits one Star buys, and optionally the smallest and the largest "
        "Stars top-up in credits, e.g. <code>2</code> or <code>2 10 5000</code> "
        "(<code>-</code> for no bound).",
        name=r.name(method.name),
        rate=r.money(method.rate),
        bounds=_bounds(method.min_credits, method.max_credits, r),
    )
    if problem:
        text = t._("⚠️ {problem}", problem=problem) + "\n\n" + text
    cancel = keyboards.button(t._("✖️ Cancel"), callbacks.STARS_RATE_CANCEL.build(method.id))
    return text, InlineKeyboardMarkup([[cancel]])


def confirm(
    method: StarsMethod, rate: int, low: int | None, high: int | None, nonce: str, r: Reader
) -> Screen:
    """Before and after, and what a payment of 100 Stars buys at the new rate."""
    t = r.t
    text = t._(
        "⭐ <b>{name}</b>\nNow: 1 Star = {old_rate}; {old_bounds}.\n"
        "New: 1 Star = <b>{rate}</b>; {bounds}.\n\n"
        "At the new rate {stars} buy {credits}. Open invoices at the old rate are refused "
        "at payment and reissued.",
        name=r.name(method.name),
        old_rate=r.money(method.rate),
        old_bounds=_bounds(method.min_credits, method.max_credits, r),
        rate=r.money(rate),
        bounds=_bounds(low, high, r),
        stars=stars_amount(r, EXAMPLE_STARS),
        credits=r.money(EXAMPLE_STARS * rate),
    )
    save = keyboards.button(t._("✅ Save"), callbacks.STARS_RATE_CONFIRM.build(method.id, nonce))
    cancel = keyboards.button(t._("✖️ Cancel"), callbacks.STARS_RATE_CANCEL.build(method.id))
    return text, InlineKeyboardMarkup([[save, cancel]])


def saved(method: StarsMethod, r: Reader) -> Screen:
    text = r.t._(
        "✅ Saved: {name}, 1 Star = {rate}; {bounds}.",
        name=r.name(method.name),
        rate=r.money(method.rate),
        bounds=_bounds(method.min_credits, method.max_credits, r),
    )
    return text, keyboards.back_to_menu(r.t)


def bad_input(exc: AmountError | StarsError | None, t: Translator) -> str:
    if isinstance(exc, StarsError) and exc.code == "bad_bounds":
        return t._("The largest top-up must not be below the smallest.")
    return t._("Send one to three amounts, like 2 or 2 10 5000.")


def not_stars(t: Translator) -> str:
    return t._("That is not a Telegram Stars method any more.")


def stale(t: Translator) -> str:
    return t._("This confirmation is no longer valid.")


def left(t: Translator) -> str:
    return t._("The rate was left as it was.")


def timed_out(t: Translator) -> str:
    return t._("No answer came in time; the rate was left as it was.")


def replaced(t: Translator) -> str:
    return t._("(Rate not changed.)")
