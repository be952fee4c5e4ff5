"""Discount codes: what the payer sees entering one, and the admins' report of codes."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.discounts import Discount, Use
from bot.services.stars import StarsError
from handlers.payments import callbacks
from handlers.payments.views import stars_amount
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup | None]


def prompt(payment_id: int, r: Reader, problem: str | None = None) -> Screen:
    t = r.t
    text = t._("🏷 Send your discount code.")
    if problem:
        text = t._("⚠️ {problem}", problem=problem) + "\n\n" + text
    cancel = keyboards.button(t._("✖️ Cancel"), callbacks.CODE_CANCEL.build(payment_id))
    return text, InlineKeyboardMarkup([[cancel]])


def refusal(exc: StarsError, t: Translator) -> str:
    if exc.code == "code_used_up":
        return t._("That code has been used as many times as it may be.")
    if exc.code == "code_expired":
        return t._("That code is not valid today.")
    if exc.code == "code_not_for_this":
        return t._("That code does not apply to this payment.")
    if exc.code == "not_invoiced":
        return t._("That invoice is no longer open.")
    return t._("There is no such code. Check it and send it again.")


def applied(r: Reader) -> str:
    return r.t._("✅ Code applied: the new invoice follows.")


def left(t: Translator) -> str:
    return t._("No code was applied; the invoice stays as it was.")


def replaced(t: Translator) -> str:
    return t._("(No code applied.)")


# --- the admins' report -----------------------------------------------------------------


def _terms(d: Discount, r: Reader) -> str:
    t = r.t
    off = (t._("{percent}% off", percent=r.number(d.percent_off)) if d.percent_off
           else t._("{stars} off", stars=stars_amount(r, d.stars_off or 0)))  # fmt: skip
    target = t._("top-ups") if d.target == "topup" else t._("customer renewals")
    cap = r.number(d.max_uses) if d.max_uses is not None else "∞"
    text = t._("<code>{code}</code>: {off} on {target}; used {uses} of {cap}, {given} given",
               code=d.code, off=off, target=target, uses=r.number(d.uses), cap=cap,
               given=stars_amount(r, d.stars_given))  # fmt: skip
    return text if d.active else text + " " + t._("(disabled)")


def report(codes: list[Discount], r: Reader) -> Screen:
    t = r.t
    if not codes:
        lines = [t._("🏷 <b>Discount codes</b>"), "", t._("No codes yet.")]
    else:
        lines = [t._("🏷 <b>Discount codes</b>"), "", *(f"• {_terms(d, r)}" for d in codes)]
    lines += ["", t._("Add one: <code>/discounts add CODE 20% renewal [until=YYYY-MM-DD] "
                      "[max=N] [per_user=N] [plan=CODE]</code>; each code's uses: "
                      "<code>/discounts uses CODE</code>.")]  # fmt: skip
    return "\n".join(lines), keyboards.back_to_menu(t)


def uses(code: str, found: list[Use], r: Reader) -> str:
    t = r.t
    lines = [t._("🏷 Uses of <code>{code}</code>: {n}", code=code, n=r.number(len(found)))]
    for u in found:
        customer = f" ({r.name(u.customer)})" if u.customer else ""
        line = t._("• #{id} by <code>{payer}</code>{customer}: paid {stars}, −{off}",
                   id=u.payment_id, payer=u.payer_telegram_id, customer=customer,
                   stars=stars_amount(r, u.stars), off=stars_amount(r, u.stars_off))  # fmt: skip
        lines.append(line)
    return "\n".join(lines)


def added(d: Discount, r: Reader) -> str:
    return r.t._("✅ Added: {terms}", terms=_terms(d, r))


def admin_refusal(exc: StarsError | ValueError, r: Reader) -> str:
    t = r.t
    if isinstance(exc, StarsError) and exc.code == "code_taken":
        return t._("That code already exists.")
    if isinstance(exc, StarsError) and exc.code == "unknown_code":
        return t._("There is no such code.")
    return t._(
        "That could not be read. A code is 3 to 32 letters or digits; the discount is "
        "1% to 99% or a whole number of Stars; then renewal or topup; caps above 0, "
        "dates as YYYY-MM-DD, an existing plan code."
    )
