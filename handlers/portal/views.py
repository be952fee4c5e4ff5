"""The portal's home, the subscription, its access, its payments, the chat's list of
subscriptions and "this is not me": pure functions of the services' views and the reader.

Refusals come here as the service's code, never as its English message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.services.customers import CustomerView
from bot.services.live_status import Live
from bot.services.portal import Entry, PaymentItem, Payments, Subscription, whole_days
from bot.services.provisioning import SUBSCRIPTION_URL
from handlers import pages
from handlers.customer.views import live_lines
from handlers.payments.views import stars_amount
from handlers.portal import callbacks
from handlers.reader import Reader
from models import CustomerStatus

Screen = tuple[str, InlineKeyboardMarkup]
PAYMENTS_PAGE_ITEMS = 25


def refusal(code: str, params: Mapping[str, object], r: Reader) -> str:
    """A refusal of the portal's services, in the reader's words."""
    t = r.t
    simple = {
        "not_linked": t._(
            "This subscription is not linked to this chat. Send /start to see yours."
        ),
        "already_paused": t._("Your subscription is already paused."),
        "not_paused": t._("Your subscription is not paused."),
        "cancelled": t._("This subscription was cancelled."),
        "not_active": t._("Only an active subscription can be paused."),
        "pause_not_allowed": t._("Your reseller does not offer pausing."),
        "panel_unavailable": t._(
            "The service could not be reached just now; nothing "
            "changed. Please try again in a few minutes."
        ),
        "already_cancelled": t._("Your subscription is already cancelled."),
        "resume_first": t._("Please resume your subscription first."),
        "reason_invalid": t._("Please pick one of the reasons."),
        "note_empty": t._("Please write a few words, or pick a reason above."),
        "plan_unavailable": t._("That package is not available. Please pick another one."),
        "change_pending": t._(
            "You already asked for a change; your reseller has not answered yet."
        ),
        "already_requested": t._("Your reseller was already asked. Please wait for them."),
        "reseller_unreachable": t._(
            "Your reseller could not be reached. Please contact them directly."
        ),
    }
    if code in simple:
        return simple[code]
    if code == "pause_over_allowance":
        left = int(str(params.get("left", 0)))
        return t.n_(
            "You can pause for at most {n} more day this year.",
            "You can pause for at most {n} more days this year.",
            left,
        )
    if code == "note_too_long":
        return t._("That is too long: at most {limit} characters, please.",
                   limit=r.number(int(str(params.get("limit", 255)))))  # fmt: skip
    return t._("That did not work. Please try again later.")


# --- the state of a subscription ---------------------------------------------------------


def state_line(sub: Subscription, now: dt.datetime, r: Reader) -> str:
    t = r.t
    c = sub.customer
    if c.status == CustomerStatus.CANCELLED:
        return t._("Status: cancelled")
    if sub.pause is not None and c.status == CustomerStatus.PAUSED:
        kept = whole_days(c.expires_at - sub.pause.started_at)
        return t.n_("Status: ⏸ paused until {date} ({n} day kept for later)",
                    "Status: ⏸ paused until {date} ({n} days kept for later)", kept,
                    date=r.date(sub.pause.until))  # fmt: skip
    if c.is_expired(now):
        return t._("Status: expired on {date}", date=r.date(c.expires_at))
    return t.n_("Status: active until {date} ({n} day left)",
                "Status: active until {date} ({n} days left)", c.days_left(now),
                date=r.date(c.expires_at))  # fmt: skip


def _summary(sub: Subscription, now: dt.datetime, r: Reader) -> list[str]:
    t = r.t
    c = sub.customer
    return [
        t._("Username: <code>{username}</code>", username=r.name(c.username)),
        t.n_(
            "Plan: {plan} ({n} day)",
            "Plan: {plan} ({n} days)",
            c.plan.days,
            plan=r.name(c.plan.name),
        ),
        state_line(sub, now, r),
    ]


def _row(*buttons: InlineKeyboardButton | None) -> list[InlineKeyboardButton]:
    return [b for b in buttons if b is not None]


def home(sub: Subscription, now: dt.datetime, r: Reader, *, linked: bool = False) -> Screen:
    """The portal's home: the subscription in three lines and what one can do with it."""
    t = r.t
    c = sub.customer
    greeting = t._("✅ Linked! You will get renewal reminders here.") + "\n\n" if linked else ""
    text = "\n".join(
        [
            greeting + t._("🏠 <b>Your subscription</b>"),
            *_summary(sub, now, r),
            "",
            t._("Your reseller: {name}", name=r.name(sub.reseller_name)),
        ]
    )
    cid = c.id
    button = keyboards.button
    pause = None
    if sub.paused:
        pause = button(t._("▶️ Resume"), callbacks.RESUME.build(cid))
    elif sub.allowance.max_days > 0 and not sub.cancelled and not c.is_expired(now):
        pause = button(t._("⏸ Pause"), callbacks.PAUSE.build(cid))
    rows = [
        _row(
            button(t._("📺 Subscription"), callbacks.SUBSCRIPTION.build(cid)),
            button(t._("🔑 Link and QR"), callbacks.ACCESS.build(cid)),
        ),
        _row(
            button(t._("🧾 Payments"), callbacks.PAYMENTS.build(cid, 0)),
            button(t._("🔁 Request renewal"), callbacks.RENEWAL.build(cid)),
        ),
        _row(
            pause,
            None
            if sub.cancelled
            else button(t._("🔄 Change package"), callbacks.CHANGE.build(cid)),
        ),
        _row(
            None
            if sub.cancelled
            else button(t._("❌ Cancel subscription"), callbacks.CANCEL.build(cid))
        ),
        _row(
            button(t._("👥 My subscriptions"), callbacks.LIST.build()) if sub.others else None,
            button(t._("🙅 This is not me"), callbacks.UNLINK.build(cid)),
        ),
    ]
    return text, InlineKeyboardMarkup([row for row in rows if row])


def back(customer_id: int, r: Reader) -> InlineKeyboardButton:
    return keyboards.button(r.t._("⬅️ Back"), callbacks.HOME.build(customer_id))


def back_only(customer_id: int, r: Reader) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[back(customer_id, r)]])


def subscription(sub: Subscription, now: dt.datetime, live: Live | None, r: Reader) -> Screen:
    """Plan, state and expiry, and what the panel says now (traffic, online)."""
    t = r.t
    lines = [t._("📺 <b>Your subscription</b>"), *_summary(sub, now, r)]
    if live is not None:
        lines += live_lines(live, r)
    keyboard = InlineKeyboardMarkup(
        [
            [keyboards.button(t._("🔑 Link and QR"), callbacks.ACCESS.build(sub.customer.id))],
            [back(sub.customer.id, r)],
        ]
    )
    return "\n".join(lines), keyboard


def access(customer: CustomerView, r: Reader) -> Screen:
    """The subscription link or the credentials the panel gave, again."""
    t = r.t
    labels = {
        SUBSCRIPTION_URL: t._("Subscription link"),
        "username": t._("Username"),
        "password": t._("Password"),
    }
    if not customer.details:
        text = t._("🔑 Your reseller has not left a link or credentials here. "
                   "Please ask them.")  # fmt: skip
        return text, back_only(customer.id, r)
    lines = [
        f"{r.name(labels.get(key, key))}: <code>{r.name(value)}</code>"
        for key, value in customer.details.items()
    ]
    head = t._("🔑 <b>Your access</b> ({username})", username=r.name(customer.username))
    room = pages.TEXT_LIMIT - pages.length(head) - 1
    return f"{head}\n{pages.fit(lines, room)}", back_only(customer.id, r)


def qr_caption(r: Reader) -> str:
    return r.t._("Scan this QR code in your app to add the subscription.")


def _payment_line(item: PaymentItem, r: Reader) -> str:
    t = r.t
    values = {"date": r.date(item.at), "plan": r.name(item.plan_name)}
    until = r.date(item.expires_after) if item.expires_after else ""
    if item.entry == Entry.REFUNDED:
        stars = stars_amount(r, item.paid_stars or 0)
        if item.refund_pending:
            return t._("• {date} paid {stars} for {plan}: not done, refund on its way",
                       stars=stars, **values)  # fmt: skip
        return t._("• {date} paid {stars} for {plan}: not done, refunded",
                   stars=stars, **values)  # fmt: skip
    if item.entry == Entry.CHANGE:
        line = t.n_("• {date} change of package: {plan}, {n} day, until {until}",
                    "• {date} change of package: {plan}, {n} days, until {until}", item.days,
                    until=until, **values)  # fmt: skip
    elif item.entry == Entry.RENEWAL:
        line = t.n_("• {date} renewal: {plan}, {n} day, until {until}",
                    "• {date} renewal: {plan}, {n} days, until {until}", item.days,
                    until=until, **values)  # fmt: skip
    else:
        line = t.n_("• {date} activation: {plan}, {n} day, until {until}",
                    "• {date} activation: {plan}, {n} days, until {until}", item.days,
                    until=until, **values)  # fmt: skip
    if item.paid_stars is not None:
        return line + t._(" · you paid {stars}", stars=stars_amount(r, item.paid_stars))
    if item.list_stars is not None:
        return line + t._(" · price list: {stars}", stars=stars_amount(r, item.list_stars))
    return line


def payments(view: Payments, page: int, r: Reader) -> Screen:
    """Every activation, renewal and change with the customer's own amount (the Stars
    they paid, or the reseller's Stars price list), and payments refunded; newest first,
    a page at a time."""
    t = r.t
    cid = view.customer.id
    if not view.history:
        return t._("🧾 No payments recorded yet."), back_only(cid, r)
    items = [_payment_line(item, r) for item in view.history]

    def header(at: int, of: int) -> str:
        if of > 1:
            return t._("🧾 <b>Payments</b> (page {page} of {pages})",
                       page=r.number(at + 1), pages=r.number(of))  # fmt: skip
        return t._("🧾 <b>Payments</b>")

    shown = pages.paginate(items, page, header=header, max_items=PAYMENTS_PAGE_ITEMS)
    nav = []
    if shown.page > 0:
        nav.append(keyboards.button(t._("◀️ Newer"), callbacks.PAYMENTS.build(cid, shown.page - 1)))
    if shown.page < shown.pages - 1:
        nav.append(keyboards.button(t._("Older ▶️"), callbacks.PAYMENTS.build(cid, shown.page + 1)))
    rows = [nav] if nav else []
    return shown.text, InlineKeyboardMarkup([*rows, [back(cid, r)]])


def subscriptions(found: list[CustomerView], r: Reader) -> Screen:
    """The chat's subscriptions, one button each."""
    t = r.t
    text = t._("👥 <b>Your subscriptions</b>\nPick one:")
    rows = [
        [keyboards.button(f"{c.username} · {c.plan.name}"[:60], callbacks.HOME.build(c.id))]
        for c in found
    ]
    return text, InlineKeyboardMarkup(rows)


def not_linked(r: Reader) -> str:
    return r.t._(
        "This chat is not linked to a subscription. Open the invite link your reseller sent you."
    )


def renewal_requested(r: Reader) -> str:
    return r.t._("Your reseller has been asked to renew your subscription.")


def ask_unlink(customer: CustomerView, r: Reader) -> Screen:
    t = r.t
    text = t._(
        "🙅 Is <code>{username}</code> not yours? Unlinking removes it from this chat: no "
        "more reminders here. Opening the invite link again links it back.",
        username=r.name(customer.username),
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button(
                    t._("🔓 Yes, unlink"), callbacks.UNLINK_CONFIRM.build(customer.id)
                ),
                keyboards.button(t._("⬅️ Keep it"), callbacks.HOME.build(customer.id)),
            ]
        ]
    )
    return text, keyboard


def unlinked(
    customer: CustomerView, others: bool, r: Reader
) -> tuple[str, InlineKeyboardMarkup | None]:
    text = r.t._(
        "🔓 <code>{username}</code> is no longer linked to this chat; no more reminders "
        "about it will come here.",
        username=r.name(customer.username),
    )
    if others:
        return text, InlineKeyboardMarkup(
            [[keyboards.button(r.t._("👥 My subscriptions"), callbacks.LIST.build())]]
        )
    return text, None
