"""What the reseller sees of a Stars top-up, and /paysupport: pure functions from what is
shown and a reader to text (and keyboard), in the reader's language."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.stars import Payment, Refusal, StarsError, StarsMethod
from handlers.payments import callbacks
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup | None]
TITLE_LIMIT = 32  # Telegram's limit on an invoice's title
DESCRIPTION_LIMIT = 255


def stars_amount(r: Reader, stars: int) -> str:
    """A whole number of Stars, in the reader's words and digits."""
    return r.t.n_("{n} Star", "{n} Stars", stars)


_stars = stars_amount


def invoice_screen(payment: Payment, r: Reader, problem: str | None = None) -> Screen:
    """The conversion, stated before paying, above the invoice that follows it."""
    t = r.t
    text = t._(
        "⭐ <b>Pay with Telegram Stars</b>\n\n"
        "Credits: <b>{credits}</b>\nRate: 1 Star = {rate}\nTo pay: <b>{stars}</b>\n\n"
        "Pay the invoice below; the credits are added as soon as Telegram confirms "
        "the payment. Stars are whole: the amount is rounded up.",
        credits=r.money(payment.credits),
        rate=r.money(payment.rate),
        stars=_stars(r, payment.stars),
    )
    if payment.discount_stars:
        text += "\n" + discount_line(payment, r)
    if problem:
        text = t._("⚠️ {problem}", problem=problem) + "\n\n" + text
    cancel = keyboards.button(
        t._("✖️ Cancel the invoice"), callbacks.CANCEL_INVOICE.build(payment.id)
    )
    return text, InlineKeyboardMarkup([[code_button(payment, r)], [cancel]])


def discount_line(payment: Payment, r: Reader) -> str:
    """A discount code's Stars off, stated before paying."""
    return r.t._(
        "🏷 Discount code: −{off} (instead of {before}).",
        off=_stars(r, payment.discount_stars),
        before=_stars(r, payment.stars + payment.discount_stars),
    )


def code_button(payment: Payment, r: Reader) -> InlineKeyboardButton:
    return keyboards.button(r.t._("🏷 I have a discount code"), callbacks.CODE.build(payment.id))


def stars_method_line(method: StarsMethod, r: Reader) -> str:
    """A Stars method's terms, on the catalogue's card of the method."""
    t = r.t
    text = t._("⭐ Telegram Stars: 1 Star = {rate}", rate=r.money(method.rate))
    if method.min_credits is not None:
        text += t._(", from {amount}", amount=r.money(method.min_credits))
    if method.max_credits is not None:
        text += t._(", up to {amount}", amount=r.money(method.max_credits))
    return text


def invoice_title(t: Translator) -> str:
    return t._("Credits top-up")[:TITLE_LIMIT]


def invoice_description(payment: Payment, r: Reader) -> str:
    """Plain text (an invoice takes no HTML)."""
    text = r.t._(
        "{credits} for your reseller balance, at 1 Star = {rate}.",
        credits=r.t.amount(payment.credits, r.currency),
        rate=r.t.amount(payment.rate, r.currency),
    )
    return text[:DESCRIPTION_LIMIT]


def price_label(t: Translator) -> str:
    return t._("Credits")


def pre_checkout_refusal(refusal: Refusal, t: Translator) -> str:
    """Shown by Telegram in its payment window (plain text)."""
    if refusal == Refusal.CANCELLED:
        return t._("This invoice was cancelled. Start a new top-up with /topup.")
    if refusal == Refusal.ALREADY_PAID:
        return t._("This invoice is already paid.")
    if refusal == Refusal.SUSPENDED:
        return t._("Your reseller account is suspended. Contact an admin.")
    if refusal == Refusal.CHANGED:
        return t._("The rate or the amount changed since this invoice. A new one follows.")
    if refusal == Refusal.CODE_INVALID:
        return t._("The discount code is no longer valid (used up or expired). "
                   "Start a new top-up with /topup.")  # fmt: skip
    return t._("This invoice is no longer valid. Start a new top-up with /topup.")


def try_again(t: Translator) -> str:
    return t._("The bot is busy; nothing was charged. Please try again in a moment.")


def rate_changed(t: Translator) -> str:
    return t._("The rate changed since your last invoice: here is a new one.")


def paid(payment: Payment, balance: int, available: int, r: Reader) -> str:
    return r.t._(
        "✅ Payment received: {stars}. <b>{credits}</b> added.\n"
        "Balance: <b>{balance}</b> (available {available}).",
        stars=_stars(r, payment.stars),
        credits=r.money(payment.credits),
        balance=r.money(balance),
        available=r.money(available),
    )


def payment_unmatched(t: Translator) -> str:
    return t._(
        "⚠️ Your payment arrived but could not be matched to an invoice. Nothing is lost: "
        "send /paysupport with the date and amount, and an admin will sort it out."
    )


def invoice_cancelled(t: Translator) -> str:
    return t._("The invoice was cancelled; nothing was charged.")


def cannot_cancel(t: Translator) -> str:
    return t._("That invoice can no longer be cancelled.")


def refusal(exc: StarsError, r: Reader) -> str:
    """An invoice that could not be made."""
    t, p = r.t, exc.params
    if exc.code == "suspended":
        return t._("Your reseller account is suspended. Contact an admin.")
    if exc.code == "below_minimum":
        return t._("The smallest Stars top-up is {amount}.", amount=r.money(int(p["minimum"])))
    if exc.code == "above_maximum":
        return t._("The largest Stars top-up is {amount}.", amount=r.money(int(p["maximum"])))
    if exc.code == "too_many_stars":
        return t._("That is too many Stars for one invoice. Try fewer credits.")
    return t._("Paying with Stars is not available now. Pick another method.")


# --- /paysupport ---------------------------------------------------------------------------


def support_help(t: Translator) -> str:
    return t._(
        "🆘 <b>Help with a payment</b>\n\n"
        "Credits bought with Telegram Stars are added as soon as Telegram confirms the "
        "payment. If they did not arrive, or you paid by mistake, send\n"
        "<code>/paysupport what happened</code>\n"
        "with the date and the amount in Stars. The admins see your request and contact "
        "you. A top-up is refunded in Stars only while its credits are unused.\n\n"
        "Telegram's support cannot help with purchases made in this bot."
    )


def support_opened(t: Translator) -> str:
    return t._("✅ Your request was sent to the admins. They will contact you.")


def support_refusal(exc: StarsError, t: Translator) -> str:
    if exc.code == "support_too_long":
        return t._("Please keep it under {limit} characters.", limit=exc.params["limit"])
    if exc.code == "no_admin_group":
        return t._("Requests cannot be sent now. Please contact an admin directly.")
    return support_help(t)
