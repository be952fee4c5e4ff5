"""What the top-up screens say: pure functions from what is shown and a reader to text
and keyboard. Every text of the feature lives here, in the reader's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.money import AmountError
from bot.services.pricing import Method, Quote
from bot.services.topups import Limits, Proof, RequestView, TopUpError
from bot.settings import Settings
from handlers import pages
from handlers.common import clip
from handlers.topup import callbacks
from models import ProofKind, TopUpStatus

PAGE_ITEMS = 10  # requests on one page of /pending or /topups, with their buttons
Screen = tuple[str, InlineKeyboardMarkup]


@dataclass(frozen=True)
class Reader:
    """Who reads a screen: their language, and how amounts and times are written."""

    t: Translator
    currency: str  # of credits, escaped
    price_currency: str  # what credits are paid in, escaped
    zone: ZoneInfo

    @classmethod
    def of(cls, settings: Settings, t: Translator) -> Reader:
        return cls(t, escape(settings.currency), escape(settings.price_currency), settings.zone)

    def credits(self, hundredths: int) -> str:
        return self.t.amount(hundredths, self.currency)

    def price(self, hundredths: int) -> str:
        return self.t.amount(hundredths, self.price_currency)

    def date(self, moment: dt.datetime) -> str:
        return self.t.date(moment, self.zone)

    def time(self, moment: dt.datetime) -> str:
        """hh:mm in the reader's zone and digits."""
        local = moment.astimezone(self.zone).strftime("%H:%M")
        return self.t.isolate("".join(self.t.number(int(c)) if c.isdigit() else c for c in local))


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
            amount=r.credits(exc.params["maximum"]),
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
        return t._("The smallest top-up is {amount}.", amount=r.credits(int(str(p["minimum"]))))
    if code == "above_maximum":
        return t._("The largest top-up is {amount}.", amount=r.credits(int(str(p["maximum"]))))
    if code == "outside_limits":
        return t._("That amount is outside the top-up limits.")
    if code == "below_tiers":
        return t._("That amount is below the smallest price tier. Try more credits.")
    if code == "no_method":
        return t._("No payment method accepts that amount. Try more credits, or contact an admin.")
    if code == "method_unavailable":
        return t._("That payment method is not available. Pick another one.")
    if code == "method_gone":
        return t._("That payment method is no longer available. Start again: /topup")
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


def quoted(text: str, problem: str, t: Translator) -> str:
    """What was typed, quoted back with what is wrong with it: a second mistake changes the
    screen too."""
    return t._("“{input}”: {problem}", input=t.isolate(escape(clip(text))), problem=problem)


def suspended_reseller(request: RequestView, t: Translator) -> str:
    return t._(
        "{name} is suspended: top-up #{id} stays pending. "
        "Reactivate the reseller to approve it, or reject it.",
        name=t.isolate(escape(request.reseller_name)),
        id=request.id,
    )


def suspended_note(t: Translator) -> str:
    return t._(
        "⚠️ Not approved: the reseller is suspended. Reactivate them to approve it, or reject it."
    )


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
        smallest=r.credits(limits.min_credits),
        largest=r.credits(limits.max_credits),
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
        credits=r.credits(quote.credits),
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
        method=t.isolate(escape(method.name)),
        instructions=escape(method.instructions),
    )
    return _with_problem(problem, text, t), cancel_keyboard(t)


def summary(quote: Quote, method: Method, proof: Proof, nonce: str, r: Reader) -> Screen:
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
        credits=r.credits(quote.credits),
        unit_price=r.price(quote.unit_price),
        total=r.price(quote.total),
        method=t.isolate(escape(method.name)),
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
    return text, keyboard


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
        credits=r.credits(request.credits),
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


# --- the reseller's list ------------------------------------------------------------------


def my_topups(requests: Sequence[RequestView], page: int, r: Reader) -> Screen:
    """One page of the reseller's requests, newest first; pending ones can be cancelled."""
    t = r.t
    new_or_menu = [
        keyboards.button(t._("➕ Top up"), callbacks.NEW.build()),
        keyboards.button(t._("⬅️ Menu"), keyboards.MENU),
    ]
    if not requests:
        return t._("🧾 You have no top-up requests yet."), InlineKeyboardMarkup([new_or_menu])

    def header(at: int, count: int) -> str:
        if count > 1:
            return t._(
                "🧾 <b>Your top-ups</b> · page {page} of {pages}",
                page=t.number(at + 1),
                pages=t.number(count),
            )
        return t._("🧾 <b>Your top-ups</b>")

    items = []
    for q in requests:
        values = {
            "id": q.id,
            "date": r.date(q.created_at),
            "credits": r.credits(q.credits),
            "total": r.price(q.total_price),
            "status": status_label(q.status, t),
        }
        if q.status == TopUpStatus.REJECTED and q.reject_reason:
            line = t._(
                "#{id} · {date} · {credits} · {total} · {status} ({reason})",
                reason=escape(q.reject_reason),
                **values,
            )
        else:
            line = t._("#{id} · {date} · {credits} · {total} · {status}", **values)
        items.append(line)
    shown = pages.paginate(items, page, header=header, max_items=PAGE_ITEMS)
    rows = [
        [
            keyboards.button(
                t._("🚫 Cancel #{id}", id=q.id), callbacks.WITHDRAW.build(q.id, shown.page)
            )
        ]
        for q in requests[shown.start : shown.stop]
        if q.status == TopUpStatus.PENDING
    ]
    nav = []
    if shown.page > 0:
        nav.append(keyboards.button(t._("◀️ Newer"), callbacks.LIST.build(shown.page - 1)))
    if shown.page < shown.pages - 1:
        nav.append(keyboards.button(t._("Older ▶️"), callbacks.LIST.build(shown.page + 1)))
    if nav:
        rows.append(nav)
    rows.append(new_or_menu)
    return shown.text, InlineKeyboardMarkup(rows)


# --- the admins' side ---------------------------------------------------------------------


def decision_keyboard(request_id: int, t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                keyboards.button(t._("✅ Approve"), callbacks.APPROVE.build(request_id)),
                keyboards.button(t._("❌ Reject"), callbacks.REJECT.build(request_id)),
            ]
        ]
    )


def _decision_line(request: RequestView, r: Reader) -> str:
    t = r.t
    if request.decided_at is None:
        return ""
    day, time = r.date(request.decided_at), r.time(request.decided_at)
    by = t.isolate(escape(request.decided_by_name)) if request.decided_by_name else t._("an admin")
    if request.status == TopUpStatus.APPROVED:
        return t._("✅ Approved by {name} on {day} {time}", name=by, day=day, time=time)
    if request.status == TopUpStatus.REJECTED:
        if request.reject_reason:
            return t._(
                "❌ Rejected by {name} on {day} {time}: {reason}",
                name=by,
                day=day,
                time=time,
                reason=escape(request.reject_reason),
            )
        return t._("❌ Rejected by {name} on {day} {time}", name=by, day=day, time=time)
    if request.status == TopUpStatus.CANCELLED:
        return t._("🚫 Cancelled by the reseller on {day} {time}", day=day, time=time)
    if request.status == TopUpStatus.EXPIRED:
        return t._("⌛ Expired on {day} {time}", day=day, time=time)
    return ""


def admin_post(
    request: RequestView, balance: int, r: Reader, note: str | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The group post of a request: a caption under a proof file, or a text of its own;
    the decision buttons while it is pending."""
    t = r.t
    name = escape(request.reseller_name)
    if request.reseller_username:
        who = t._(
            "Reseller: {name} (@{username}) · id <code>{id}</code>",
            name=t.isolate(name),
            username=t.isolate(escape(request.reseller_username)),
            id=request.reseller_telegram_id,
        )
    else:
        who = t._(
            "Reseller: {name} · id <code>{id}</code>",
            name=t.isolate(name),
            id=request.reseller_telegram_id,
        )
    lines = [
        t._(
            "🧾 <b>Top-up #{id}</b> · {status}",
            id=request.id,
            status=status_label(request.status, t),
        ),
        who,
        t._("Credits: <b>{credits}</b>", credits=r.credits(request.credits)),
        t._(
            "Price: {unit_price} per credit · total <b>{total}</b>",
            unit_price=r.price(request.unit_price),
            total=r.price(request.total_price),
        ),
        t._("Method: {method}", method=t.isolate(escape(request.method_name))),
    ]
    if request.proof.kind == ProofKind.REFERENCE:
        lines.append(
            t._(
                "Reference: <code>{reference}</code>",
                reference=escape(request.proof.reference or ""),
            )
        )
    lines.append(t._("Reseller balance: {balance}", balance=r.credits(balance)))
    lines.append(t._("Requested: {day}", day=r.date(request.created_at)))
    lines.append(_decision_line(request, r))
    if note:
        lines.append(note)
    limit = pages.TEXT_LIMIT if request.proof.kind == ProofKind.REFERENCE else pages.CAPTION_LIMIT
    text = pages.fit([line for line in lines if line], limit)
    pending = request.status == TopUpStatus.PENDING
    return text, decision_keyboard(request.id, t) if pending else None


def approved(request_id: int, t: Translator) -> str:
    return t._("Top-up #{id} approved.", id=request_id)


def reply_with_reason(t: Translator) -> str:
    return t._("Reply to my message with the reason, or skip it.")


def reject_prompt(request: RequestView, r: Reader) -> Screen:
    t = r.t
    text = t._(
        "Rejecting top-up #{id} ({name}, {credits}).\n"
        "Reply to this message with the reason the reseller will see, or tap the button.",
        id=request.id,
        name=t.isolate(escape(request.reseller_name)),
        credits=r.credits(request.credits),
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button(
                    t._("Reject without a reason"),
                    callbacks.REJECT_WITHOUT_REASON.build(request.id),
                )
            ]
        ]
    )
    return text, keyboard


def rejected(request_id: int, t: Translator) -> str:
    return t._("Top-up #{id} rejected.", id=request_id)


def rejected_without_reason(request_id: int, t: Translator) -> str:
    return t._("Top-up #{id} rejected, no reason given.", id=request_id)


def rejected_because(request_id: int, reason: str, t: Translator) -> str:
    return t._("Top-up #{id} rejected: {reason}", id=request_id, reason=escape(reason.strip()))


def rejection_closed(t: Translator) -> str:
    return t._("That rejection is no longer open. Tap ❌ Reject again.")


def no_such_request(t: Translator) -> str:
    return t._("There is no such top-up request.")


def pending(requests: Sequence[RequestView], page: int, r: Reader) -> Screen:
    """One page of the waiting requests, each with its buttons."""
    t = r.t
    if not requests:
        return t._("🧾 No top-ups are waiting."), keyboards.back_to_menu(t)

    def header(at: int, count: int) -> str:
        if count > 1:
            return t._(
                "🧾 <b>Pending top-ups</b> ({total}) · page {page} of {pages}",
                total=t.number(len(requests)),
                page=t.number(at + 1),
                pages=t.number(count),
            )
        return t._("🧾 <b>Pending top-ups</b> ({total})", total=t.number(len(requests)))

    items = [
        t._(
            "#{id} · {name} · {credits} · {total} · {method}",
            id=q.id,
            name=t.isolate(escape(q.reseller_name)),
            credits=r.credits(q.credits),
            total=r.price(q.total_price),
            method=t.isolate(escape(q.method_name)),
        )
        for q in requests
    ]
    shown = pages.paginate(items, page, header=header, max_items=PAGE_ITEMS)
    rows = [
        [
            keyboards.button(f"✅ #{q.id}", callbacks.APPROVE.build(q.id, shown.page)),
            keyboards.button(f"❌ #{q.id}", callbacks.REJECT.build(q.id)),
        ]
        for q in requests[shown.start : shown.stop]
    ]
    pager = keyboards.pager(keyboards.TOPUP_PENDING, shown.page, shown.pages, t)
    rows += [list(row) for row in pager.inline_keyboard]
    return shown.text, InlineKeyboardMarkup(rows)
