"""Every text and keyboard of the customer's own view: pure functions of a view model (the
service's frozen views) and the reader, so a screen's words live in one place.

The service's refusals come here as a code, never as their English message.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.adapters.panels.base import GIB, UserState
from bot.services import customers
from bot.services.customers import CustomerStatusView, CustomerView
from bot.services.live_status import Live, Source
from bot.services.resellers import Identity, Role
from handlers import pages
from handlers.customer import callbacks, notice_views
from handlers.portal import callbacks as portal_buttons
from handlers.reader import Reader
from models import OrderKind

Screen = tuple[str, InlineKeyboardMarkup]
HISTORY_PAGE_ITEMS = 25


# --- refusals ----------------------------------------------------------------------------


def not_linked(r: Reader) -> str:
    return r.t._(
        "This chat is not linked to a subscription. Open the invite link your reseller sent you."
    )


def refusal(code: str, r: Reader) -> str:
    """A refusal of the customer service (its ``CustomerError.code``), in the reader's words."""
    t = r.t
    if code == "invite_invalid":
        return t._("This invite link is not valid (it may have been revoked). "
                   "Ask your reseller for a new one.")  # fmt: skip
    if code == "invite_used":
        return t._("This invite link was already used by someone else. "
                   "Ask your reseller for a new one.")  # fmt: skip
    if code == "chat_linked_elsewhere":
        return t._("This chat is already linked to another subscription. "
                   "Send /unlink first to link it to this one.")  # fmt: skip
    if code == "already_requested":
        return t._("Your reseller was already asked. Please wait for them.")
    if code == "reseller_unreachable":
        return t._("Your reseller could not be reached. Please contact them directly.")
    if code == "not_linked":
        return not_linked(r)
    return t._("That did not work. Please try again later.")


def pay_button(stars: int, r: Reader) -> InlineKeyboardButton:
    """⭐ Pay and renew, where the reseller lets its customers pay their renewal in Stars."""
    label = r.t.n_("⭐ Pay and renew ({n} Star)", "⭐ Pay and renew ({n} Stars)", stars)
    return keyboards.button(label, callbacks.PAY_RENEWAL.build())


def auto_renewal_line(stars: int, until: dt.datetime | None, r: Reader) -> str:
    """A Stars subscription renewing the customer every 30 days."""
    t = r.t
    every = t.n_("{n} Star every 30 days", "{n} Stars every 30 days", stars)
    if until is None:
        return t._("🔁 Renewed automatically with Telegram Stars ({every}).", every=every)
    return t._("🔁 Renewed automatically with Telegram Stars ({every}); paid until {date}.",
               every=every, date=r.date(until))  # fmt: skip


def payment_pending_line(r: Reader) -> str:
    """Why ⭐ Pay and renew is missing for now."""
    return r.t._(
        "⏳ Your last payment is still being processed; paying a renewal here is possible "
        "again once it is done."
    )


# --- the status --------------------------------------------------------------------------


def _panel_state(state: UserState, r: Reader) -> str:
    t = r.t
    names = {
        UserState.ACTIVE: t._("active"),
        UserState.DISABLED: t._("suspended"),
        UserState.EXPIRED: t._("expired"),
        UserState.LIMITED: t._("traffic limit reached"),
        UserState.ON_HOLD: t._("not started yet"),
    }
    # A state the bot has no word for is shown as the panel says it.
    return names.get(state, r.name(state.value))


def gigabytes(size: int, r: Reader) -> str:
    """Bytes in the panels' gigabytes (GiB), one decimal."""
    return r.t._("{size} GB", size=r.t.decimal(Decimal(size) / GIB))


def live_lines(live: Live, r: Reader) -> list[str]:
    """The lines the panel's live state adds to the status."""
    t = r.t
    if live.source == Source.MISSING:
        return [t._("⚠️ The panel does not have this subscription right now. "
                    "Please tell your reseller.")]  # fmt: skip
    if live.state is None:
        return [t._("⚠️ Live data from the panel is unavailable right now; "
                    "shown is what the bot has.")]  # fmt: skip
    s = live.state
    state = _panel_state(s.state, r)
    if s.online is None:
        line = t._("📡 <b>On the panel</b>: {state}", state=state)
    elif s.online:
        line = t._("📡 <b>On the panel</b>: {state} · online now", state=state)
    else:
        line = t._("📡 <b>On the panel</b>: {state} · offline", state=state)
    if s.expires_at:
        expires = t._("Expires there: {date}", date=r.date(s.expires_at))
    else:
        expires = t._("Expires there: never")
    used = gigabytes(s.used_bytes, r)
    if s.data_limit_bytes:
        traffic = t._("Traffic: {used} used of {limit}", used=used,
                      limit=gigabytes(s.data_limit_bytes, r))  # fmt: skip
    else:
        traffic = t._("Traffic: {used} used (no limit)", used=used)
    return [line, expires, traffic]


def _history_line(item: customers.HistoryItem, r: Reader) -> str:
    t = r.t
    values = {"date": r.date(item.at), "plan": r.name(item.plan_name)}
    renewal = item.kind == OrderKind.RENEWAL
    if item.expires_after is None:
        if renewal:
            return t._("• {date} renewal: {plan}", **values)
        return t._("• {date} activation: {plan}", **values)
    until = r.date(item.expires_after)
    if renewal:
        return t._("• {date} renewal: {plan}, until {until}", until=until, **values)
    return t._("• {date} activation: {plan}, until {until}", until=until, **values)


def status(
    view: CustomerStatusView,
    now: dt.datetime,
    r: Reader,
    page: int = 0,
    *,
    linked: bool = False,
    live: Live | None = None,
    pay_stars: int | None = None,
    auto_renewal: tuple[int, dt.datetime | None] | None = None,
    payment_pending: bool = False,
) -> Screen:
    """The subscription, its live state on the panel (if it is on one) and one page of its
    history, newest first, within Telegram's limit. ``linked``: greet a chat just linked;
    ``payment_pending``: ⭐ Pay and renew is not offered while the customer's last payment
    is still being processed, and the screen says so."""
    t = r.t
    c = view.customer
    expires = r.date(c.expires_at)
    if c.is_expired(now):
        state = t._("Status: expired on {date}", date=expires)
    else:
        days = c.days_left(now)
        state = t.n_("Status: active until {date} ({n} day left)",
                     "Status: active until {date} ({n} days left)", days, date=expires)  # fmt: skip
    plan = t.n_("Plan: {plan} ({n} day)", "Plan: {plan} ({n} days)", c.plan.days,
                plan=r.name(c.plan.name))  # fmt: skip
    greeting = t._("✅ Linked! You will get renewal reminders here.") + "\n\n" if linked else ""
    summary = "\n".join(
        [
            greeting + t._("📺 <b>Your subscription</b>"),
            t._("Username: <code>{username}</code>", username=r.name(c.username)),
            plan,
            state,
            *(live_lines(live, r) if live is not None else []),
            *([auto_renewal_line(*auto_renewal, r)] if auto_renewal else []),
            *([payment_pending_line(r)] if payment_pending and not auto_renewal else []),
        ]
    )
    items = [_history_line(item, r) for item in view.history]

    def header(at: int, of: int) -> str:
        if not items:
            return summary
        if of > 1:
            title = t._("<b>History</b> (page {page} of {pages})",
                        page=r.number(at + 1), pages=r.number(of))  # fmt: skip
        else:
            title = t._("<b>History</b>")
        return f"{summary}\n\n{title}"

    shown = pages.paginate(items, page, header=header, max_items=HISTORY_PAGE_ITEMS)
    rows = [[keyboards.button(t._("🔁 Request renewal"), callbacks.RENEWAL_REQUEST.build())]]
    if auto_renewal is not None:
        stop = keyboards.button(t._("✖️ Stop automatic renewal"), callbacks.UNSUBSCRIBE.build())
        rows.insert(0, [stop])
    elif pay_stars is not None:
        rows.insert(0, [pay_button(pay_stars, r)])
    nav = []
    if shown.page > 0:
        nav.append(keyboards.button(t._("◀️ Newer"), callbacks.STATUS.build(shown.page - 1)))
    if shown.page < shown.pages - 1:
        nav.append(keyboards.button(t._("Older ▶️"), callbacks.STATUS.build(shown.page + 1)))
    if nav:
        rows.append(nav)
    rows.append([notice_views.button(t, c.id)])
    rows.append(
        [
            keyboards.button(t._("🏠 All options"), portal_buttons.HOME.build(c.id)),
            keyboards.button(t._("🔓 Unlink this chat"), callbacks.UNLINK.build()),
        ]
    )
    return shown.text, InlineKeyboardMarkup(rows)


def renewal_requested(r: Reader) -> str:
    return r.t._("Your reseller has been asked to renew your subscription.")


# --- an invite link opened by a reseller or an admin -------------------------------------


def invite_explained(identity: Identity, customer: CustomerView | None, r: Reader) -> Screen:
    """What a reseller's or an admin's own tap on a customer's invite link is told."""
    t = r.t
    if customer is None:
        what = t._("🔗 This invite link is not valid any more (it was revoked or replaced).")
    elif identity.role == Role.ADMIN or (
        identity.reseller is not None and identity.reseller.id == customer.reseller_id
    ):
        what = t._("🔗 This is the invite link of the customer <b>{username}</b>.",
                   username=r.name(customer.username))  # fmt: skip
    else:
        what = t._("🔗 This is a customer's invite link.")
    text = (
        what
        + "\n"
        + t._(
            "It is meant for the customer: opening it links their Telegram chat to their "
            "subscription, for its status and renewal reminders. Your chat was not linked."
        )
    )
    return text, keyboards.back_to_menu(t)


# --- unlinking ---------------------------------------------------------------------------


def ask_unlink(view: CustomerStatusView, r: Reader) -> Screen:
    """What unlinking does, and a button to confirm."""
    t = r.t
    text = t._(
        "Unlink this chat from the subscription <code>{username}</code>?\n"
        "You will get no more reminders here. Open the invite link again to link it back.",
        username=r.name(view.customer.username),
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button(t._("🔓 Yes, unlink"), callbacks.UNLINK_CONFIRM.build()),
                keyboards.button(t._("⬅️ Keep it"), callbacks.STATUS.build()),
            ]
        ]
    )
    return text, keyboard


def unlinked(customer: CustomerView, r: Reader) -> str:
    return r.t._(
        "🔓 This chat is no longer linked to <code>{username}</code>; no more reminders will "
        "come here. Open the invite link again to link it back.",
        username=r.name(customer.username),
    )
