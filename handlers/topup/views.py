"""What the reseller's top-up screens say: pure functions from what is shown and a reader
to text and keyboard, in the reader's language. The words every side shares (refusals,
statuses) are here too; the admins' posts are in ``admin_views``, the lists in
``list_views``."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.money import AmountError
from bot.services.pricing import Method, Quote
from bot.services.topup_reads import Proof, RequestView, TopUpError
from bot.services.topups import Limits
from handlers.common import clip
from handlers.reader import Reader
from handlers.topup import callbacks
from models import ProofKind, TopUpStatus

Screen = tuple[str, InlineKeyboardMarkup]


def cancel_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[keyboards.button(t._("✖️ Cancel"), callbacks.CANCEL_FLOW.build())]]
    )


def _with_problem(problem: str | None, text: str, t: Translator) -> str:
    return t._("⚠️ {problem}", problem=problem) + "\n\n" + text if problem else text


# --- refusals, in the reader's words ------------------------------------------------------


def amount_problem(exc: AmountError, r: Reader) -> str:
    t = r.t
    if exc.code == "negative":
        return t._("The amount must be positive.")
    if exc.code == "too_many_decimals":
        return t._("Use at most two decimals, like 100.50.")
    if exc.code == "zero":
        return t._("The amount must be greater than zero.")
    if exc.code == "too_large":
        return t._(
            "The amount is too large; the most is {amount}.",
            amount=r.money(exc.params["maximum"]),
        )
    return t._("That is not a number. Send an amount like 100 or 100.50.")


def refusal(exc: TopUpError, r: Reader) -> str:
    """A top-up service's refusal, escaped for HTML."""
    t, p, code = r.t, exc.params, exc.code
    if code == "suspended":
        return t._("Your reseller account is suspended. Contact an admin.")
    if code == "too_many_pending":
        return t.n_(
            "You already have {n} top-up waiting for an admin. "
            "Wait for it, or cancel it in /topups.",
            "You already have {n} top-ups waiting for an admin. "
            "Wait for them, or cancel one in /topups.",
            int(str(p["limit"])),
        )
    if code == "not_set_up":
        return t._("Top-ups are not set up yet. Please contact an admin.")
    if code == "below_minimum":
        return t._("The smallest top-up is {amount}.", amount=r.money(int(str(p["minimum"]))))
    if code == "above_maximum":
        return t._("The largest top-up is {amount}.", amount=r.money(int(str(p["maximum"]))))
    if code == "outside_limits":
        return t._("That amount is outside the top-up limits.")
    if code == "below_tiers":
        return t._("That amount is below the smallest price tier. Try more credits.")
    if code == "no_method":
        return t._("No payment method accepts that amount. Try more credits, or contact an admin.")
    if code == "method_unavailable":
        return pick_another_method(t)
    if code == "method_gone":
        return t._("That payment method is no longer available. Start again: /topup")
    if code == "offer_changed":
        return offer_changed(t)
    if code == "bad_reference":
        return t._(
            "A transaction id is one line of {shortest} to {longest} characters.",
            shortest=t.number(int(str(p["shortest"]))),
            longest=t.number(int(str(p["longest"]))),
        )
    if code == "not_own_request":
        return t._("You have no such top-up request.")
    if code == "reason_too_long":
        return t._(
            "Keep the reason under {limit} characters; send it again.",
            limit=t.number(int(str(p["limit"]))),
        )
    if code == "own_request":
        return t._(
            "Top-up #{id} is your own request: another admin must decide it.", id=p["request_id"]
        )
    return t._("There is no top-up request #{id}.", id=p.get("request_id", ""))


def pick_another_method(t: Translator) -> str:
    return t._("That payment method is not available. Pick another one.")


def quoted(text: str, problem: str, t: Translator) -> str:
    """What was typed, quoted back with what is wrong with it: a second mistake changes the
    screen too."""
    return t._("“{input}”: {problem}", input=t.isolate(escape(clip(text))), problem=problem)


def already(request: RequestView, t: Translator) -> str:
    """Why a request can no longer be decided, cancelled or rejected."""
    by = t.isolate(escape(request.decided_by_name)) if request.decided_by_name else None
    if request.status == TopUpStatus.CANCELLED:
        return t._("Top-up #{id} was cancelled by the reseller.", id=request.id)
    if request.status == TopUpStatus.EXPIRED:
        return t._("Top-up #{id} has expired.", id=request.id)
    if request.status == TopUpStatus.REJECTED:
        if by:
            return t._("Top-up #{id} was already rejected by {name}.", id=request.id, name=by)
        return t._("Top-up #{id} was already rejected.", id=request.id)
    if by:
        return t._("Top-up #{id} was already approved by {name}.", id=request.id, name=by)
    return t._("Top-up #{id} was already approved.", id=request.id)


def status_word(status: TopUpStatus, t: Translator) -> str:
    return {
        TopUpStatus.PENDING: t._("pending"),
        TopUpStatus.APPROVED: t._("approved"),
        TopUpStatus.REJECTED: t._("rejected"),
        TopUpStatus.EXPIRED: t._("expired"),
        TopUpStatus.CANCELLED: t._("cancelled"),
    }[status]


def status_label(status: TopUpStatus, t: Translator) -> str:
    return {
        TopUpStatus.PENDING: t._("⏳ pending"),
        TopUpStatus.APPROVED: t._("✅ approved"),
        TopUpStatus.REJECTED: t._("❌ rejected"),
        TopUpStatus.EXPIRED: t._("⌛ expired"),
        TopUpStatus.CANCELLED: t._("🚫 cancelled"),
    }[status]


# --- the reseller's flow ------------------------------------------------------------------


def ask_amount(limits: Limits, r: Reader, problem: str | None = None) -> Screen:
    t = r.t
    text = t._(
        "<b>Top up</b>\nHow many credits do you want? Send a number between "
        "{smallest} and {largest}, like 100 or 100.50.",
        smallest=r.money(limits.min_credits),
        largest=r.money(limits.max_credits),
    )
    return _with_problem(problem, text, t), cancel_keyboard(t)


def send_amount_as_text(t: Translator) -> str:
    return t._("Send the number of credits as text.")


def tap_a_method(t: Translator) -> str:
    return t._("Tap one of the payment methods below.")


def price(quote: Quote, methods: Sequence[Method], r: Reader, problem: str | None = None) -> Screen:
    t = r.t
    text = t._(
        "<b>Top up: {credits}</b>\n"
        "Price per credit: {unit_price}\n"
        "Total to pay: <b>{total}</b>\n\n"
        "How will you pay?",
        credits=r.money(quote.credits),
        unit_price=r.price(quote.unit_price),
        total=r.price(quote.total),
    )
    rows = [
        [keyboards.button(f"💳 {m.name}", callbacks.METHOD.build(m.id))]  # the operator's name
        for m in methods
    ]
    rows.append([keyboards.button(t._("✖️ Cancel"), callbacks.CANCEL_FLOW.build())])
    return _with_problem(problem, text, t), InlineKeyboardMarkup(rows)


def not_a_proof(t: Translator) -> str:
    return t._("That is not a proof of payment.")


def not_a_receipt_file(t: Translator) -> str:
    return t._("That file is not an image or a PDF.")


def pay(quote: Quote, method: Method, r: Reader, problem: str | None = None) -> Screen:
    t = r.t
    text = t._(
        "<b>Pay {total} by {method}</b>\n{instructions}\n\n"
        "Send the proof of payment: a photo or a PDF of the receipt, or the transaction id "
        "as text.",
        total=r.price(quote.total),
        method=r.name(method.name),
        instructions=escape(method.instructions),
    )
    return _with_problem(problem, text, t), cancel_keyboard(t)


def summary(
    quote: Quote, method: Method, proof: Proof, nonce: str, r: Reader, problem: str | None = None
) -> Screen:
    """What will be sent, at today's price, with the Confirm button of this very screen."""
    t = r.t
    if proof.kind == ProofKind.PHOTO:
        shown = t._("photo of the receipt")
    elif proof.kind == ProofKind.DOCUMENT:
        shown = t._("receipt document")
    else:
        shown = t._(
            "transaction id <code>{reference}</code>", reference=escape(proof.reference or "")
        )
    text = t._(
        "<b>Check your top-up request</b>\n"
        "Credits: {credits}\n"
        "Price per credit: {unit_price}\n"
        "Total: <b>{total}</b>\n"
        "Method: {method}\n"
        "Proof: {proof}\n\n"
        "Send it to the admins?",
        credits=r.money(quote.credits),
        unit_price=r.price(quote.unit_price),
        total=r.price(quote.total),
        method=r.name(method.name),
        proof=shown,
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button(t._("✅ Confirm"), callbacks.CONFIRM.build(nonce)),
                keyboards.button(t._("✖️ Cancel"), callbacks.CANCEL_FLOW.build()),
            ]
        ]
    )
    return _with_problem(problem, text, t), keyboard


def offer_changed(t: Translator) -> str:
    """Why a screen shows other figures than the one before: prices or the method moved."""
    return t._(
        "The price or the payment method has changed since you last saw it: "
        "check the details below."
    )


def failed(exc: TopUpError, r: Reader) -> str:
    """The request could not be sent: why, on the flow's last message."""
    return r.t._("⚠️ {problem}", problem=refusal(exc, r))


def confirm_expected(t: Translator) -> str:
    return t._("Tap ✅ Confirm or ✖️ Cancel on the summary above.")


def confirmation_invalid(t: Translator) -> str:
    return t._("This confirmation is no longer valid.")


def already_sent(request: RequestView, t: Translator) -> str:
    return t._(
        "Request #{id} was already sent ({status}).",
        id=request.id,
        status=status_word(request.status, t),
    )


def submitted(request: RequestView, r: Reader) -> str:
    return r.t._(
        "✅ <b>Top-up request #{id} sent</b>\n"
        "{credits} for {total}.\n"
        "An admin will check your payment; you will get a message here. "
        "See your requests with /topups.",
        id=request.id,
        credits=r.money(request.credits),
        total=r.price(request.total_price),
    )


def cancelled(t: Translator) -> str:
    return t._("Top-up cancelled. Nothing was sent to the admins.")


def timed_out(t: Translator) -> str:
    return t._("⏱ This top-up timed out. Send /topup to start again.")


def replaced(t: Translator) -> str:
    return t._("⏹ Top-up cancelled: you started something else. Nothing was sent.")


def flow_over(t: Translator) -> str:
    return t._("This top-up has already ended.")
