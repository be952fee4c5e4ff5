"""Cancelling and changing package, the customer's side and the reseller's answer."""

from __future__ import annotations

from collections.abc import Mapping

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.customers import CustomerView, PlanView
from bot.services.plan_changes import DECLINE_REASONS, MAX_NOTE, Approved, ChangeRequest
from handlers.payments.views import stars_amount
from handlers.portal import callbacks
from handlers.portal.views import back, back_only
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup]


def reason_name(code: str, r: Reader) -> str:
    t = r.t
    names = {
        "price": t._("💸 Too expensive"),
        "unused": t._("💤 I do not use it"),
        "quality": t._("🛠 It does not work well"),
        "moving": t._("🔀 I am switching to something else"),
        "other": t._("✏️ Something else"),
    }
    return names.get(code, code)


def ask_reason(customer: CustomerView, r: Reader, problem: str | None = None) -> Screen:
    t = r.t
    text = "\n".join(
        [
            *([problem, ""] if problem else []),
            t._("❌ <b>Cancel</b> <code>{username}</code>?", username=r.name(customer.username)),
            t._("Why are you leaving? Pick a reason, or type it in your own words."),
        ]
    )
    cid = customer.id
    rows = [
        [keyboards.button(reason_name(code, r), callbacks.CANCEL_REASON.build(cid, code))]
        for code in ("price", "unused", "quality", "moving")
    ]
    rows.append([keyboards.button(t._("⬅️ Keep my subscription"), callbacks.CANCEL_KEEP.build())])
    return text, InlineKeyboardMarkup(rows)


def confirm(customer: CustomerView, reason: str, note: str, r: Reader) -> Screen:
    t = r.t
    why = r.name(note) if note else reason_name(reason, r)
    text = "\n".join(
        [
            t._("❌ Cancel <code>{username}</code>?", username=r.name(customer.username)),
            t._("Reason: {reason}", reason=why),
            t._("Your reseller will be told, and you will get no more reminders about it."),
        ]
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button(
                    t._("❌ Yes, cancel it"), callbacks.CANCEL_CONFIRM.build(customer.id)
                )
            ],
            [keyboards.button(t._("⬅️ Keep my subscription"), callbacks.CANCEL_KEEP.build())],
        ]
    )
    return text, keyboard


def cancelled(customer: CustomerView, r: Reader) -> Screen:
    text = r.t._(
        "Your subscription <code>{username}</code> is cancelled and your reseller was told. "
        "To come back, ask them to renew it.",
        username=r.name(customer.username),
    )
    return text, back_only(customer.id, r)


def kept(r: Reader) -> str:
    return r.t._("Good: your subscription stays as it is.")


def timed_out(r: Reader) -> str:
    return r.t._("⏱ Cancelling timed out; your subscription stays as it is.")


def replaced(t: Translator) -> str:
    return t._("⏹ Cancelling stopped: you started something else. Your subscription stays "
               "as it is.")  # fmt: skip


def stale(r: Reader) -> str:
    return r.t._("This button is no longer valid. Send /start to begin again.")


# --- changing package -------------------------------------------------------------------


def plans(
    customer: CustomerView,
    found: list[PlanView],
    r: Reader,
    stars: dict[int, int] | None = None,
    payment_pending: bool = False,
) -> Screen:
    """The packages one may change to: those paid here with their price in Stars (the
    customer's own price); never what the reseller pays. ``payment_pending``: none is
    paid here until the customer's last payment is settled; asking the reseller is."""
    t = r.t
    cid = customer.id
    stars = stars or {}
    if not found:
        return t._("There is no other package to change to right now."), back_only(cid, r)
    if payment_pending:
        how = t._(
            "⏳ Your last payment is still being processed, so no change can be paid here "
            "until it is done. You can ask your reseller for a package below instead."
        )
    elif stars:
        how = t._(
            "Pick the package you would like: one with a price in ⭐ is paid here and changed "
            "at once; for the others your reseller confirms the change and the price with you."
        )
    else:
        how = t._(
            "Pick the package you would like; your reseller confirms the change and "
            "the price with you."
        )
    text = "\n".join(
        [
            t._("🔄 <b>Change package</b>"),
            t.n_(
                "Now: {plan} ({n} day)",
                "Now: {plan} ({n} days)",
                customer.plan.days,
                plan=r.name(customer.plan.name),
            ),
            how,
        ]
    )
    rows = []
    for p in found:
        label = t.n_("{plan} ({n} day)", "{plan} ({n} days)", p.days, plan=p.name)
        if p.id in stars:
            label = f"{label} · {stars_amount(r, stars[p.id])}"
        rows.append([keyboards.button(label[:60], callbacks.CHANGE_TO.build(cid, p.id))])
    return text, InlineKeyboardMarkup([*rows, [back(cid, r)]])


def change_requested(request: ChangeRequest, r: Reader) -> Screen:
    text = r.t._(
        "🔄 Your reseller has been asked to change your package to {plan}. You will hear "
        "back here.",
        plan=r.name(request.plan.name),
    )
    return text, back_only(request.customer.id, r)


def decline_reasons(request_id: int, r: Reader) -> InlineKeyboardMarkup:
    rows = [
        [
            keyboards.button(
                decline_reason(code, r), callbacks.CHANGE_DECLINE_REASON.build(request_id, code)
            )
        ]
        for code in DECLINE_REASONS
    ]
    other = r.t._("✏️ Other reason…")
    rows.append([keyboards.button(other, callbacks.CHANGE_DECLINE_OTHER.build(request_id))])
    return InlineKeyboardMarkup(rows)


def ask_note(request: ChangeRequest, r: Reader, problem: str | None = None) -> Screen:
    t = r.t
    text = "\n".join(
        [
            *([problem, ""] if problem else []),
            t._(
                "Decline the change of <code>{username}</code> to {plan}: type the reason "
                "(at most {limit} characters). The customer reads it as you write it.",
                username=r.name(request.customer.username),
                plan=r.name(request.plan.name),
                limit=r.number(MAX_NOTE),
            ),
        ]
    )
    back = keyboards.button(t._("⬅️ Back"), callbacks.CHANGE_DECLINE.build(request.id))
    return text, InlineKeyboardMarkup([[back]])


def note_timed_out(r: Reader) -> str:
    return r.t._("⏱ Typing the reason timed out; the request still waits for your answer.")


def note_replaced(t: Translator) -> str:
    return t._("⏹ Declining stopped: you started something else. The request still waits "
               "for your answer.")  # fmt: skip


def decline_reason(code: str, r: Reader) -> str:
    t = r.t
    names = {
        "not_offered": t._("That package is not offered to you"),
        "contact_me": t._("Please contact your reseller first"),
        "later": t._("Not now; ask again later"),
    }
    return names.get(code, code)


def ask_decline(r: Reader) -> str:
    return r.t._("Why do you decline? The customer is told the reason you pick.")


def approved(done: Approved, r: Reader) -> str:
    c = done.sale.customer
    return r.t._(
        "✅ Changed <b>{username}</b> to {plan}, until {date}. Charged: {price}.",
        username=r.name(c.username),
        plan=r.name(c.plan.name),
        date=r.date(c.expires_at),
        price=r.money(done.sale.price),
    )


def customer_cancelled(params: Mapping[str, object], r: Reader) -> str:
    return r.t._(
        "⚠️ {username} cancelled the subscription before the change was made, so nothing "
        "was charged and the package stays as it was.",
        username=r.name(str(params.get("username", ""))),
    )


def already_on_plan(params: Mapping[str, object], r: Reader) -> str:
    """Approve of a change already made (a paid one, say): nothing sold, request closed."""
    return r.t._(
        "⚠️ {username} is on {plan} already (changed since they asked), so nothing was "
        "charged and the request is closed.",
        username=r.name(str(params.get("username", ""))),
        plan=r.name(str(params.get("plan", ""))),
    )


def declined(request: ChangeRequest, r: Reader) -> str:
    return r.t._(
        "Declined: {username} stays on {plan}; they were told why.",
        username=r.name(request.customer.username),
        plan=r.name(request.customer.plan.name),
    )
