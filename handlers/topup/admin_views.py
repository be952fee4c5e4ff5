"""What the admins see of top-ups: the group post of a request and its decision, the
rejection prompt, and what is said to the admin who tapped. Pure functions, like
``views``; /pending is in ``list_views``."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.topup_reads import RequestView
from handlers import pages
from handlers.reader import Reader
from handlers.topup import callbacks, views
from handlers.topup.views import Screen
from models import ProofKind, TopUpStatus


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
    by = r.name(request.decided_by_name) if request.decided_by_name else t._("an admin")
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
    if request.reseller_username:
        who = t._(
            "Reseller: {name} (@{username}) · id <code>{id}</code>",
            name=r.name(request.reseller_name),
            username=r.name(request.reseller_username),
            id=request.reseller_telegram_id,
        )
    else:
        who = t._(
            "Reseller: {name} · id <code>{id}</code>",
            name=r.name(request.reseller_name),
            id=request.reseller_telegram_id,
        )
    lines = [
        t._(
            "🧾 <b>Top-up #{id}</b> · {status}",
            id=request.id,
            status=views.status_label(request.status, t),
        ),
        who,
        t._("Credits: <b>{credits}</b>", credits=r.money(request.credits)),
        t._(
            "Price: {unit_price} per credit · total <b>{total}</b>",
            unit_price=r.price(request.unit_price),
            total=r.price(request.total_price),
        ),
        t._("Method: {method}", method=r.name(request.method_name)),
    ]
    if request.proof.kind == ProofKind.REFERENCE:
        lines.append(
            t._(
                "Reference: <code>{reference}</code>",
                reference=escape(request.proof.reference or ""),
            )
        )
    lines.append(t._("Reseller balance: {balance}", balance=r.money(balance)))
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
        name=r.name(request.reseller_name),
        credits=r.money(request.credits),
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
