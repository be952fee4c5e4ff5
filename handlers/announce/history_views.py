"""Past announcements: the list (a page at a time, newest first), one announcement's card
with Cancel while it is scheduled, and how an audience and a state are worded."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import LANGUAGES, Translator
from bot.services import announcement_authors as authors
from bot.services.announcement_audience import Audience, Segment
from bot.services.announcement_history import HistoryPage, Past
from bot.services.announcements import Template
from handlers import pages
from handlers.announce import callbacks as buttons
from handlers.reader import Reader
from models import AnnouncementStatus

Screen = tuple[str, InlineKeyboardMarkup]
PREVIEW_LENGTH = 600  # of the author's text, on the card


def state(p: Past, r: Reader) -> str:
    t = r.t
    if p.status == AnnouncementStatus.SCHEDULED:
        return t._("🕒 scheduled")
    if p.status == AnnouncementStatus.SENDING:
        return t._("📤 sending")
    if p.refused:
        return t._("⛔ not sent")
    if p.cancelled:
        return t._("✖️ cancelled")
    if p.status == AnnouncementStatus.STOPPED:
        return t._("⏹ stopped")
    return t._("✅ sent")


def audience(p: Past, r: Reader) -> str:
    """Whom it was for, in a few words."""
    t, name = r.t, r.name(p.value_name or p.value or "?")
    days = int(p.value or 0) if (p.value or "").isdecimal() else 0
    language = r.name(LANGUAGES.get(p.value or "", p.value or "?"))
    if p.audience == Audience.RESELLERS:
        if p.segment == Segment.LANGUAGE:
            words = t._("resellers who read {language}", language=language)
        else:
            words = t._("every reseller")
    elif p.segment == Segment.RESELLER:
        words = t._("customers of {name}", name=name)
    elif p.segment == Segment.PLAN:
        words = t._("customers on the plan {name}", name=name)
    elif p.segment == Segment.PANEL:
        words = t._("customers on the panel {name}", name=name)
    elif p.segment == Segment.EXPIRING:
        words = t.n_("customers whose subscription expires within {n} day",
                     "customers whose subscription expires within {n} days", days)  # fmt: skip
    elif p.segment == Segment.EXPIRED:
        words = t.n_("customers whose subscription expired within {n} day",
                     "customers whose subscription expired within {n} days", days)  # fmt: skip
    elif p.segment == Segment.LANGUAGE:
        words = t._("customers who read {language}", language=language)
    else:
        words = t._("every customer")
    if p.service and p.audience == Audience.CUSTOMERS:
        words = t._("{audience} (service notice)", audience=words)
    return words


def _counts(p: Past, r: Reader) -> str:
    c, n = p.counts, r.number
    return r.t._("Sent: {sent} · Failed: {failed} · Blocked: {blocked}",
                 sent=n(c.sent), failed=n(c.failed), blocked=n(c.blocked))  # fmt: skip


def _when(p: Past, r: Reader) -> str:
    return f"{r.date(p.when)} {r.time(p.when)}"


def _item(p: Past, r: Reader) -> str:
    lines = [f"<b>#{r.number(p.id)}</b> · {state(p, r)} · {_when(p, r)}", f"   {audience(p, r)}"]
    if p.status != AnnouncementStatus.SCHEDULED and not p.cancelled:
        lines.append(f"   {_counts(p, r)}")
    return "\n".join(lines)


def history(found: HistoryPage, r: Reader) -> Screen:
    t = r.t
    new = [keyboards.button(t._("📣 New announcement"), buttons.NEW.build())]
    if not found.items:
        text = t._("📜 <b>Past announcements</b>\nNone yet.")
        menu = keyboards.back_to_menu(t).inline_keyboard
        return text, InlineKeyboardMarkup([new, *map(list, menu)])
    head = t._("📜 <b>Past announcements</b> ({total}, page {page} of {pages})",
               total=r.number(found.total), page=r.number(found.page + 1),
               pages=r.number(found.pages))  # fmt: skip
    text = pages.fit([head, *(_item(p, r) for p in found.items)], separator="\n\n")
    rows = [
        [keyboards.button(f"#{p.id} · {state(p, r)}", buttons.CARD.build(p.id, found.page))]
        for p in found.items
    ]
    nav = keyboards.pager(buttons.HISTORY.prefix(), found.page, found.pages, t)
    return text, InlineKeyboardMarkup([*rows, new, *map(list, nav.inline_keyboard)])


def card(p: Past, page: int, r: Reader, note: str = "") -> Screen:
    t = r.t
    lines = [
        t._("📣 <b>Announcement #{id}</b>: {state}", id=r.number(p.id), state=state(p, r)),
        t._("For: {audience}", audience=audience(p, r)),
    ]
    if p.status == AnnouncementStatus.SCHEDULED:
        lines.append(t._("Goes out: {when}", when=_when(p, r)))
    else:
        lines.append(t._("Went out: {when}", when=_when(p, r)) if not p.cancelled
                     else t._("Was due: {when}", when=_when(p, r)))  # fmt: skip
    if p.refused:
        lines.append(why_refused(p.refused, t))
    if p.status != AnnouncementStatus.SCHEDULED and not p.cancelled:
        lines.append(t.n_("Reached {n} chat.", "Reached {n} chats.", p.recipients))
        if p.status == AnnouncementStatus.SENDING:
            c, n = p.counts, r.number
            lines.append(t._("Sent: {sent} · Failed: {failed} · Blocked: {blocked} · "
                             "Remaining: {remaining}", sent=n(c.sent), failed=n(c.failed),
                             blocked=n(c.blocked), remaining=n(c.remaining)))  # fmt: skip
        else:
            lines.append(_counts(p, r))
        if p.counts.stopped:
            lines.append(t._("Not sent because of the Stop: {n}", n=r.number(p.counts.stopped)))
    if p.template == Template.MAINTENANCE:
        body = t._("🛠 Maintenance notice: {when}", when=r.name(p.text))
    else:
        body = pages.truncate(p.text, PREVIEW_LENGTH)
    lines += ["", (t._("🖼 With a photo.") + "\n" if p.has_photo else "") + body]
    if note:
        lines += ["", note]
    rows = []
    if p.cancellable:
        cancel = t._("✖️ Cancel it")
        rows.append([keyboards.button(cancel, buttons.CANCEL_SCHEDULED.build(p.id, page))])
    rows.append([keyboards.button(t._("⬅️ Past announcements"), buttons.HISTORY.build(page))])
    return pages.fit(lines), InlineKeyboardMarkup(rows)


def why_refused(code: str, t: Translator) -> str:
    """Why a scheduled announcement was not sent when its time came, on its card."""
    if code == authors.NO_PERMISSION:
        return t._("Not sent: its author may no longer send announcements.")
    if code == authors.NOT_STAFF:
        return t._("Not sent: its author is no longer an admin.")
    if code == authors.RESELLER_SUSPENDED:
        return t._("Not sent: its author's reseller account is suspended.")
    return t._("Not sent: its author is no longer a reseller.")


def refused_notice(p: dict[str, Any], r: Reader) -> tuple[str, InlineKeyboardMarkup | None]:
    """Told to the author of a scheduled announcement that was not sent, and why."""
    t, code = r.t, str(p["reason"])
    head = t._("⛔ Your scheduled announcement #{id} was not sent.",
               id=r.number(int(p["announcement"])))  # fmt: skip
    if code == authors.NO_PERMISSION:
        why = t._("You may no longer send announcements.")
    elif code == authors.NOT_STAFF:
        why = t._("You are no longer an admin.")
    elif code == authors.RESELLER_SUSPENDED:
        why = t._("Your reseller account is suspended.")
    else:
        why = t._("You are no longer a reseller.")
    return f"{head}\n{why}", None


def cancelled_note(t: Translator) -> str:
    return t._("✖️ Cancelled: nothing of it will go out.")


def refusal(code: str, t: Translator) -> str:
    if code == "not_scheduled":
        return t._("Only a scheduled announcement can be cancelled; this one has gone out "
                   "already.")  # fmt: skip
    return t._("There is no such announcement of yours.")
