"""What the admins see of Stars payments: the refund's reason and confirmation screens,
its outcome, and the notices posted in their group (rendered when sent)."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services import star_reconcile
from bot.services.stars import Payment, StarsError
from handlers.payments import callbacks
from handlers.reader import Reader
from models import StarState

Screen = tuple[str, InlineKeyboardMarkup | None]
Notice = tuple[str, InlineKeyboardMarkup | None]


def _stars(r: Reader, stars: int) -> str:
    return r.t.n_("{n} Star", "{n} Stars", stars)


def _what(payment: Payment, r: Reader) -> str:
    return r.t._(
        "Stars payment #{id}: {stars} for {credits}, reseller {name}.",
        id=payment.id,
        stars=_stars(r, payment.stars),
        credits=r.money(payment.credits),
        name=r.name(payment.reseller_name),
    )


def state_name(state: str, t: Translator) -> str:
    names = {
        "invoiced": t._("invoiced, not paid"),
        "paid": t._("paid"),
        "refund_pending": t._("refund under way"),
        "refunded": t._("refunded"),
        "cancelled": t._("cancelled"),
    }
    return names.get(state, state)


def _cancel(payment_id: int, t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[keyboards.button(t._("✖️ Cancel"), callbacks.REFUND_CANCEL.build(payment_id))]]
    )


def reason_prompt(payment: Payment, r: Reader, problem: str | None = None) -> Screen:
    text = r.t._(
        "↩️ <b>Refund</b>\n{what}\n\nReply to this message with the reason for the refund.",
        what=_what(payment, r),
    )
    if problem:
        text = r.t._("⚠️ {problem}", problem=problem) + "\n\n" + text
    return text, _cancel(payment.id, r.t)


def confirm(payment: Payment, reason: str, nonce: str, r: Reader) -> Screen:
    t = r.t
    text = t._(
        "↩️ <b>Refund</b>\n{what}\nReason: {reason}\n\n"
        "{credits} are taken back from the reseller first, then the Stars are returned.",
        what=_what(payment, r),
        reason=escape(reason),
        credits=r.money(payment.credits),
    )
    ok = keyboards.button(
        t._("✅ Refund {stars}", stars=_stars(r, payment.stars)),
        callbacks.REFUND_CONFIRM.build(payment.id, nonce),
    )  # fmt: skip
    no = keyboards.button(t._("✖️ Cancel"), callbacks.REFUND_CANCEL.build(payment.id))
    return text, InlineKeyboardMarkup([[ok], [no]])


def refunded(payment: Payment, r: Reader) -> str:
    return r.t._(
        "✅ Refunded. {what} {credits} were taken back and the Stars returned.",
        what=_what(payment, r),
        credits=r.money(payment.credits - payment.refund_shortfall),
    )


def telegram_refused(payment: Payment, error: str, r: Reader) -> str:
    return r.t._(
        "⚠️ Telegram refused the refund: {error}\n{what} The credits were restored; "
        "nothing changed.",
        error=escape(error),
        what=_what(payment, r),
    )


def refused_while_retried(payment: Payment, error: str, r: Reader) -> str:
    return r.t._(
        "⏳ Telegram refused this attempt: {error}\n{what} The refund was meanwhile asked "
        "of Telegram again and stays pending, its credits taken back, until that answer "
        "is in.",
        error=escape(error),
        what=_what(payment, r),
    )


def already_refunded(payment: Payment, r: Reader) -> str:
    return r.t._(
        "✅ Telegram says the Stars were already returned: recorded as refunded. {what} "
        "{credits} were taken back.",
        what=_what(payment, r),
        credits=r.money(payment.credits),
    )


def retry_keyboard(payment_id: int, t: Translator) -> InlineKeyboardMarkup:
    """🔁 Ask Telegram again: a refund left pending asked of Telegram now (no reason or
    confirmation: it was decided, and its money moved, already)."""
    retry = keyboards.button(t._("🔁 Ask Telegram again"), callbacks.REFUND_RETRY.build(payment_id))
    return InlineKeyboardMarkup([[retry]])


def refund_unknown(payment: Payment, r: Reader) -> Screen:
    text = r.t._(
        "⏳ Telegram did not answer. {what} The refund stays pending, its credits taken "
        "back: the bot asks Telegram again by itself, and 🔁 Ask Telegram again asks now "
        "(nothing is taken twice).",
        what=_what(payment, r),
    )
    return text, retry_keyboard(payment.id, r.t)


def retry_refused(payment: Payment | None, r: Reader) -> str:
    """🔁 Ask Telegram again on a refund someone is asking about now, or one no longer
    pending (done, or its credits restored): nothing changes."""
    t = r.t
    if payment is None:
        return t._("There is no such Stars payment.")
    if payment.state == StarState.REFUND_PENDING:
        return t._(
            "Telegram is being asked for this refund right now; its answer will be "
            "recorded. Nothing changed."
        )
    return t._(
        "That refund is no longer pending: it is {state}. Nothing changed.",
        state=state_name(payment.state.value, t),
    )


def customer_refund_retried(payment: Payment, r: Reader) -> Screen:
    """A customer's refund asked of Telegram again by an admin: done, or still pending."""
    t = r.t
    if payment.state == StarState.REFUNDED:
        text = t._(
            "✅ Refunded. Stars payment #{id}: {stars} returned to the customer; the "
            "customer and the reseller are told.",
            id=payment.id,
            stars=_stars(r, payment.stars),
        )
        return text, None
    text = t._(
        "⏳ Telegram did not refund Stars payment #{id} ({stars}): {error}\nThe refund "
        "stays pending, the revenue taken back; the bot keeps asking Telegram by itself, "
        "less and less often.",
        id=payment.id,
        stars=_stars(r, payment.stars),
        error=escape(payment.refund_error or ""),
    )
    return text, retry_keyboard(payment.id, t)


def refusal(exc: StarsError, r: Reader) -> str:
    t, p = r.t, exc.params
    if exc.code == "credits_spent":
        return t._(
            "Cannot refund: only {available} of its {credits} are still available; the "
            "rest was spent or is held.",
            available=r.money(max(int(p["available"]), 0)),
            credits=r.money(int(p["credits"])),
        )
    if exc.code in ("not_refundable", "refund_running", "refund_pending"):
        return t._(
            "That payment cannot be refunded: it is {state}.",
            state=state_name(str(p.get("state", "")), t),
        )
    if exc.code == "reason_too_long":
        return t._("Keep the reason under {limit} characters; send it again.", limit=p["limit"])
    if exc.code == "reason_missing":
        return t._("Send the reason as text.")
    return t._("There is no such Stars payment.")


def refund_left(t: Translator) -> str:
    return t._("Refund cancelled; nothing changed.")


def refund_timed_out(t: Translator) -> str:
    return t._("The refund waited too long and was cancelled; nothing changed.")


def refund_replaced(t: Translator) -> str:
    return t._("Refund left for another action; nothing changed.")


def stale_confirmation(t: Translator) -> str:
    return t._("That confirmation is no longer valid.")


# --- notices --------------------------------------------------------------------------------


def paid_notice(p: dict[str, Any], r: Reader) -> Notice:
    """The admin group: a reseller topped up with Stars (no decision needed)."""
    t = r.t
    text = t._(
        "⭐ <b>{name}</b> (<code>{telegram_id}</code>) paid {stars}: {credits} added "
        "(top-up #{request}). Balance now {balance}. No action needed.",
        name=r.name(p["name"]),
        telegram_id=p["telegram_id"],
        stars=_stars(r, int(p["stars"])),
        credits=r.money(int(p["credits"])),
        request=p["request_id"],
        balance=r.money(int(p["balance"])),
    )
    refund = keyboards.button(t._("↩️ Refund"), callbacks.REFUND.build(int(p["payment_id"])))
    return text, InlineKeyboardMarkup([[refund]])


def refunded_notice(p: dict[str, Any], r: Reader) -> Notice:
    """The reseller: a Stars top-up (or a customer's renewal paid in Stars: no top-up
    request) was refunded, its credits removed."""
    if p.get("request_id") is None:
        text = r.t._(
            "↩️ A customer's renewal paid with Stars (payment #{id}) was refunded: {stars} "
            "returned to the customer, {removed} removed from your balance. Balance: {balance}.",
            id=p["payment_id"],
            stars=_stars(r, int(p["stars"])),
            removed=r.money(int(p["removed"])),
            balance=r.money(int(p["balance"])),
        )
        return text, None
    text = r.t._(
        "↩️ Your Stars top-up #{request} was refunded: {stars} returned, {removed} "
        "removed from your balance. Balance: {balance}.",
        request=p["request_id"],
        stars=_stars(r, int(p["stars"])),
        removed=r.money(int(p["removed"])),
        balance=r.money(int(p["balance"])),
    )
    return text, None


def refund_finished_notice(p: dict[str, Any], r: Reader) -> Notice:
    """The admin group: a top-up refund an admin decided, left pending (the bot stopped,
    or Telegram did not refund at first), was finished by the bot asking Telegram again."""
    text = r.t._(
        "✅ The refund of Stars payment #{id} of <b>{name}</b> ({stars}), left pending, is "
        "done: the bot asked Telegram again and the Stars were returned. {removed} stay "
        "taken back. Reason: {reason}",
        id=p["payment_id"],
        name=r.name(p["name"]),
        stars=_stars(r, int(p["stars"])),
        removed=r.money(int(p["removed"])),
        reason=escape(str(p["reason"])),
    )
    return text, None


def telegram_refund_notice(p: dict[str, Any], r: Reader) -> Notice:
    """The admin group: Telegram refunded a payment itself."""
    t = r.t
    text = t._(
        "↩️ Telegram refunded Stars payment #{id} of <b>{name}</b> ({stars}). "
        "{removed} were taken back.",
        id=p["payment_id"],
        name=r.name(p["name"]),
        stars=_stars(r, int(p["stars"])),
        removed=r.money(int(p["removed"])),
    )
    if int(p["shortfall"]):
        text += "\n" + t._(
            "⚠️ {missing} had already been spent and could not be taken back: settle it "
            "with the reseller.",
            missing=r.money(int(p["shortfall"])),
        )
    return text, None


def _difference(item: dict[str, Any], r: Reader) -> str:
    t, kind = r.t, item["kind"]
    values = {"charge": escape(item["charge_id"]), "stars": _stars(r, int(item["stars"]))}
    if kind == star_reconcile.PAID_NOT_RECORDED:
        return t._(
            "• Paid at Telegram, not recorded here: <code>{charge}</code> ({stars})", **values
        )
    if kind == star_reconcile.RECORDED_NOT_PAID:
        return t._("• Recorded here, not at Telegram: <code>{charge}</code> ({stars})", **values)
    if kind == star_reconcile.REFUND_NOT_RECORDED:
        return t._("• Refunded at Telegram, not here: <code>{charge}</code> ({stars})", **values)
    if kind == star_reconcile.REFUND_NOT_MADE:
        return t._(
            "• Refunded (or pending) here, not at Telegram: <code>{charge}</code> ({stars})",
            **values,
        )
    return t._("• Amounts differ: <code>{charge}</code> (Telegram: {stars})", **values)


def reconcile_notice(p: dict[str, Any], r: Reader) -> Notice:
    """The admin group: Stars payments and the ledger disagree."""
    lines = [
        r.t._(
            "⭐ <b>Stars reconciliation</b>: differences with Telegram since {date}:",
            date=r.date(dt.datetime.fromisoformat(p["since"])),
        )
    ]
    lines += [_difference(item, r) for item in p["items"]]
    return "\n".join(lines), None


def support_notice(p: dict[str, Any], r: Reader) -> Notice:
    """The admin group: a /paysupport request."""
    t = r.t
    lines = [
        t._(
            "🆘 <b>Payment help</b> asked by {name} (<code>{telegram_id}</code>):\n{text}",
            name=r.name(p["name"]),
            telegram_id=p["telegram_id"],
            text=escape(p["text"]),
        )
    ]
    for item in p["payments"]:
        lines.append(
            t._(
                "• Stars payment #{id}: {stars}, {credits} ({state})",
                id=item["payment_id"],
                stars=_stars(r, int(item["stars"])),
                credits=r.money(int(item["credits"])),
                state=state_name(item["state"], t),
            )
        )
    return "\n".join(lines), None


def payments_list(payments: list[Payment], r: Reader) -> Screen:
    """/stars: the latest Stars payments (and every refund still pending), each paid one
    with its ↩️ Refund button, each pending refund with 🔁 Ask Telegram again."""
    t = r.t
    if not payments:
        return t._("⭐ No Stars payments yet."), None
    lines = [t._("⭐ <b>Latest Stars payments</b>")]
    rows = []
    for p in payments:
        when = r.date(p.paid_at) if p.paid_at else ""
        lines.append(
            t._(
                "#{id} · {date} · {name}: {stars}, {credits} ({state})",
                id=p.id,
                date=when,
                name=r.name(p.reseller_name),
                stars=_stars(r, p.stars),
                credits=r.money(p.credits),
                state=state_name(p.state.value, t),
            )
        )
        if p.state == StarState.PAID:
            label = t._("↩️ Refund #{id}", id=p.id)
            rows.append([keyboards.button(label, callbacks.REFUND.build(p.id))])
        elif p.state == StarState.REFUND_PENDING:  # decided: only Telegram to ask again
            label = t._("🔁 Ask Telegram again #{id}", id=p.id)
            rows.append([keyboards.button(label, callbacks.REFUND_RETRY.build(p.id))])
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None
