"""The texts and keyboards of the customers list, the customer card and its invite link:
pure functions of the service's views and the reader (see views.py for the flow's)."""

from __future__ import annotations

import datetime as dt
from html import escape

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.customer_links import LinkChange
from bot.services.customers import CustomerPage, CustomerView, Filter
from handlers import pages
from handlers.portal import callbacks as portal_buttons
from handlers.reader import Reader
from handlers.sale import callbacks
from handlers.sale.views import Screen
from models import CustomerStatus


def _state(c: CustomerView, now: dt.datetime, t: Translator) -> str:
    if c.status == CustomerStatus.PAUSED:
        return t._("paused")
    if c.status == CustomerStatus.CANCELLED:
        return t._("cancelled")
    return t._("expired") if c.is_expired(now) else t._("active")


def _filter_labels(t: Translator) -> dict[Filter, str]:
    return {
        Filter.ALL: t._("All"),
        Filter.ACTIVE: t._("Active"),
        Filter.EXPIRING: t._("Expiring"),
        Filter.EXPIRED: t._("Expired"),
    }


def _filter_heading(flt: Filter, t: Translator) -> str:
    return {
        Filter.ALL: t._("all"),
        Filter.ACTIVE: t._("active"),
        Filter.EXPIRING: t._("expiring"),
        Filter.EXPIRED: t._("expired"),
    }[flt]


def listing(
    found: CustomerPage, flt: Filter, search: str | None, now: dt.datetime, r: Reader
) -> Screen:
    t = r.t
    values = {"filter": _filter_heading(flt, t), "total": t.number(found.total)}
    if search:
        heading = t._(
            "👥 <b>Customers</b> · {filter} matching “{search}” ({total})",
            search=escape(search),
            **values,
        )
    else:
        heading = t._("👥 <b>Customers</b> · {filter} ({total})", **values)
    lines = [heading]
    if not found.customers:
        lines.append(t._("None."))
    rows = []
    for c in found.customers:
        lines.append(f"• {r.name(c.username)} · {r.date(c.expires_at)} · {_state(c, now, t)}")
        rows.append([keyboards.button(c.username, callbacks.CARD.build(c.id))])
    nav = []
    if found.page > 0:
        nav.append(keyboards.button("◀️", callbacks.LIST.build(flt, found.page - 1)))
    if found.page < found.pages - 1:
        nav.append(keyboards.button("▶️", callbacks.LIST.build(flt, found.page + 1)))
    if nav:
        rows.append(nav)
    rows.append(
        [
            keyboards.button(("• " if f == flt else "") + label, callbacks.LIST.build(f, 0))
            for f, label in _filter_labels(t).items()
        ]
    )
    rows.append(
        [
            keyboards.button(t._("⏸ Pausing"), portal_buttons.POLICY_OWN.build()),
            keyboards.button(t._("⬅️ Menu"), keyboards.MENU),
        ]
    )
    # A page is a fixed number of customers: the longest lines are cut if it must fit.
    return pages.fit(lines), InlineKeyboardMarkup(rows)


def _linked(c: CustomerView, r: Reader) -> str:
    if c.linked_at is not None:
        return r.t._("Telegram: linked since {date}", date=r.date(c.linked_at))
    return r.t._("Telegram: linked") if c.linked else r.t._("Telegram: not linked")


def card(c: CustomerView, now: dt.datetime, r: Reader) -> Screen:
    t = r.t
    expiry = r.date(c.expires_at)
    lines = [
        f"👤 <b>{r.name(c.username)}</b>",
        t._(
            "Plan: {plan} ({days}, {price})",
            plan=escape(c.plan.name),
            days=t.n_("{n} day", "{n} days", c.plan.days),
            price=r.money(c.plan.price),
        ),
        t._("Status: {state}", state=_state(c, now, t)),
        t._("Expires: {date}", date=expiry)
        if c.is_expired(now)
        else t.n_(
            "Expires: {date} ({n} day left)",
            "Expires: {date} ({n} days left)",
            c.days_left(now),
            date=expiry,
        ),
        _linked(c, r),
        t._("Invite link: active") if c.link_token else t._("Invite link: revoked"),
    ]
    if c.external_id:
        lines.append(t._("Panel id: <code>{id}</code>", id=escape(c.external_id)))
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button(t._("🔁 Renew"), callbacks.RENEW_CUSTOMER.build(c.id)),
                keyboards.button(t._("🔗 Invite link"), callbacks.INVITE.build(c.id)),
            ],
            [
                keyboards.button(t._("🔄 New link"), callbacks.NEW_LINK.build(c.id)),
                keyboards.button(t._("🚫 Revoke link"), callbacks.REVOKE_LINK.build(c.id)),
            ],
            [keyboards.button(t._("⬅️ Customers"), callbacks.LIST.build(Filter.ALL, 0))],
        ]
    )
    return "\n".join(lines), keyboard


def _back_to_card(customer_id: int, t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[keyboards.button(t._("⬅️ Customer card"), callbacks.CARD.build(customer_id))]]
    )


def _invite(username: str, link: str, r: Reader) -> str:
    return r.t._(
        "🔗 Invite link for <b>{username}</b>:\n{link}\n\n"
        "Send it to the customer. It links one Telegram chat; make a new link if it leaks.",
        username=r.name(username),
        link=escape(link),
    )


def invite(c: CustomerView, link: str, r: Reader) -> Screen:
    return _invite(c.username, link, r), _back_to_card(c.id, r.t)


def replaced_invite(change: LinkChange, link: str, r: Reader) -> Screen:
    t = r.t
    lines = [t._("🔄 The old link no longer works."), _invite(change.customer.username, link, r)]
    if change.unlinked_chat:
        lines.append(
            "\n"
            + t._(
                "The chat linked through the old link was unlinked and told so; "
                "it gets no more reminders."
            )
        )
    return "\n".join(lines), _back_to_card(change.customer.id, t)


def revoked_invite(change: LinkChange, r: Reader) -> Screen:
    t = r.t
    lines = [
        t._(
            "🚫 The invite link of <b>{username}</b> no longer works.",
            username=r.name(change.customer.username),
        )
    ]
    if change.unlinked_chat:
        lines.append(
            t._("The chat linked through it was unlinked and told so; it gets no more reminders.")
        )
    lines.append(t._("On the customer card, 🔗 Invite link makes a new one."))
    return "\n".join(lines), _back_to_card(change.customer.id, t)
