"""Every text and keyboard of announcements: the composer's steps, the preview, the copy
each recipient gets, the progress message and the refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.announcement_audience import MAX_DAYS, Audience, Segment
from bot.services.announcements import ButtonKind, Message, Progress, Template
from handlers import pages
from handlers.announce import callbacks as buttons
from handlers.common import clip
from handlers.customer import callbacks as customer_buttons
from handlers.reader import Reader
from models import AnnouncementStatus

Screen = tuple[str, InlineKeyboardMarkup]
VALUES_PER_PAGE = 20  # value buttons on one page of the picker
Copy = tuple[str, InlineKeyboardMarkup | None]


def _cancel_row(t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("✖️ Cancel"), buttons.CANCEL.build())]


def _with_problem(problem: str, text: str) -> str:
    return f"⚠️ {problem}\n\n{text}" if problem else text


def _past_row(t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("📜 Past announcements"), buttons.HISTORY.build(0))]


def _title(t: Translator) -> str:
    return t._("📣 <b>New announcement</b>")


# --- the composer's steps ------------------------------------------------------------------


def ask_audience(r: Reader, problem: str = "") -> Screen:
    t = r.t
    text = _title(t) + "\n" + t._("Who should get it?")
    rows = [
        [keyboards.button(t._("👤 Customers"), buttons.AUDIENCE.build(Audience.CUSTOMERS))],
        [keyboards.button(t._("🧑‍💼 Resellers"), buttons.AUDIENCE.build(Audience.RESELLERS))],
        _past_row(t),
        _cancel_row(t),
    ]
    return _with_problem(problem, text), InlineKeyboardMarkup(rows)


def ask_segment(audience: Audience, admin: bool, r: Reader, problem: str = "") -> Screen:
    t = r.t
    if audience == Audience.RESELLERS:
        text = _title(t) + "\n" + t._("Which resellers?")
        shown = [Segment.EVERYONE, Segment.LANGUAGE]
    else:
        text = _title(t) + "\n" + t._("Which customers?")
        shown = [s for s in Segment if admin or s != Segment.RESELLER]
    names = {
        Segment.EVERYONE: t._("Everyone"),
        Segment.RESELLER: t._("By reseller"),
        Segment.PLAN: t._("By plan"),
        Segment.PANEL: t._("By panel"),
        Segment.EXPIRING: t._("Expiring within N days"),
        Segment.EXPIRED: t._("Expired within N days"),
        Segment.LANGUAGE: t._("By language"),
    }
    rows = [[keyboards.button(names[s], buttons.SEGMENT.build(s))] for s in shown]
    if not admin:  # a reseller's first screen: its past announcements are a tap away
        rows.append(_past_row(t))
    return _with_problem(problem, text), InlineKeyboardMarkup([*rows, _cancel_row(t)])


def pick_value(
    choices: Sequence[tuple[str, str]], page: int, r: Reader, problem: str = ""
) -> Screen:
    """A segment's value by button: ``choices`` are (value, label) pairs, a page of them
    at a time (a page number past the last shows the last)."""
    t = r.t
    if not choices:
        text = t._("There is nothing to choose from here. Pick another group.")
        return _with_problem(problem, _title(t) + "\n" + text), InlineKeyboardMarkup(
            [_cancel_row(t)]
        )

    def header(at: int, count: int) -> str:
        return _title(t) + "\n" + t._("Pick one (page {page} of {pages}):",
                                      page=r.number(at + 1), pages=r.number(count))  # fmt: skip

    lines = [f"• {r.name(label)}" for _, label in choices]
    shown = pages.paginate(lines, page, header=header, max_items=VALUES_PER_PAGE)
    rows = [
        [keyboards.button(clip(label, 40), buttons.VALUE.build(value))]
        for value, label in choices[shown.start : shown.stop]
    ]
    nav = []
    if shown.page > 0:
        nav.append(keyboards.button(t._("◀️ Previous"), buttons.VALUES_PAGE.build(shown.page - 1)))
    if shown.page < shown.pages - 1:
        nav.append(keyboards.button(t._("Next ▶️"), buttons.VALUES_PAGE.build(shown.page + 1)))
    return _with_problem(problem, shown.text), InlineKeyboardMarkup(
        [*rows, *([nav] if nav else []), _cancel_row(t)]
    )


def ask_days(segment: Segment, r: Reader, problem: str = "") -> Screen:
    t = r.t
    if segment == Segment.EXPIRING:
        text = t._("Customers whose subscription expires within how many days? Send a number "
                   "from 1 to {max}.", max=r.number(MAX_DAYS))  # fmt: skip
    else:
        text = t._("Customers whose subscription expired within how many days? Send a number "
                   "from 1 to {max}.", max=r.number(MAX_DAYS))  # fmt: skip
    return _with_problem(problem, _title(t) + "\n" + text), InlineKeyboardMarkup([_cancel_row(t)])


def ask_text(r: Reader, problem: str = "") -> Screen:
    t = r.t
    text = t._(
        "Send the message: text with formatting (bold, italic, links), or a photo with a "
        "caption. It is sent exactly as you write it.\n"
        "Or use the maintenance notice, written in each reader's language."
    )
    rows = [
        [keyboards.button(t._("🛠 Maintenance notice"), buttons.MAINTENANCE.build())],
        _cancel_row(t),
    ]
    return _with_problem(problem, _title(t) + "\n" + text), InlineKeyboardMarkup(rows)


def ask_when(r: Reader, problem: str = "") -> Screen:
    t = r.t
    text = t._(
        "🛠 When is the maintenance? Send it as readers should see it, for example: "
        "<code>tonight 02:00-04:00 UTC</code>"
    )
    return _with_problem(problem, _title(t) + "\n" + text), InlineKeyboardMarkup([_cancel_row(t)])


def ask_button(audience: Audience, r: Reader, problem: str = "") -> Screen:
    t = r.t
    text = t._("Add a button under the message?")
    rows = [[keyboards.button(t._("No button"), buttons.BUTTON.build("none"))]]
    if audience == Audience.CUSTOMERS:
        rows.append([keyboards.button(t._("🔁 Renew"), buttons.BUTTON.build(ButtonKind.RENEW))])
    rows.append([keyboards.button(t._("🔗 A link"), buttons.BUTTON.build(ButtonKind.URL))])
    return _with_problem(problem, _title(t) + "\n" + text), InlineKeyboardMarkup(
        [*rows, _cancel_row(t)]
    )


def ask_link(r: Reader, problem: str = "") -> Screen:
    t = r.t
    text = t._(
        "Send the button as its label and address: <code>Our channel | https://t.me/example</code>"
    )
    return _with_problem(problem, _title(t) + "\n" + text), InlineKeyboardMarkup([_cancel_row(t)])


def maintenance_text(when: str, r: Reader) -> str:
    return r.t._(
        "🛠 <b>Scheduled maintenance</b>\nThe service may be unavailable {when}. "
        "We are sorry for the inconvenience.",
        when=r.name(when),
    )


def copy(message: Message, audience: Audience, r: Reader) -> Copy:
    """What a recipient gets, in their language (only a template and a button's own
    label are translated: the author's text is sent as written)."""
    t = r.t
    if message.template == Template.MAINTENANCE:
        text = maintenance_text(message.text, r)
    else:
        text = message.text
    if message.button == ButtonKind.RENEW and audience == Audience.CUSTOMERS:
        renew = t._("🔁 Request renewal")
        row = [keyboards.button(renew, customer_buttons.RENEWAL_REQUEST.build())]
        return text, InlineKeyboardMarkup([row])
    if message.button == ButtonKind.URL and message.button_label and message.button_url:
        link = InlineKeyboardButton(message.button_label, url=message.button_url)
        return text, InlineKeyboardMarkup([[link]])
    return text, None


def preview(
    recipients: int,
    audience: Audience,
    service: bool,
    nonce: str,
    r: Reader,
    problem: str = "",
) -> Screen:
    t = r.t
    lines = [
        t._("👆 This is how it will arrive."),
        t.n_("It will reach <b>{n}</b> chat.", "It will reach <b>{n}</b> chats.", recipients),
    ]
    if audience == Audience.CUSTOMERS:
        if service:
            lines.append(t._("🛠 Service notice: it also reaches customers who turned "
                             "promotions off."))  # fmt: skip
        else:
            lines.append(t._("Customers who turned promotions off are left out."))
    rows = [
        [
            keyboards.button(t._("📤 Send now"), buttons.SEND.build(nonce)),
            keyboards.button(t._("🕒 Schedule"), buttons.SCHEDULE.build(nonce)),
        ]
    ]
    if audience == Audience.CUSTOMERS:
        label = t._("🛠 Service notice: on") if service else t._("🛠 Service notice: off")
        rows.append([keyboards.button(label, buttons.SERVICE.build())])
    rows.append(_cancel_row(t))
    return _with_problem(problem, "\n".join(lines)), InlineKeyboardMarkup(rows)


# --- the progress message ----------------------------------------------------------------


def _duration(left: dt.timedelta, r: Reader) -> str:
    t, seconds = r.t, int(left.total_seconds())
    if seconds < 60:
        return t.n_("about {n} second", "about {n} seconds", max(seconds, 1))
    minutes = (seconds + 59) // 60
    return t.n_("about {n} minute", "about {n} minutes", minutes)


def progress(p: Progress, now: dt.datetime, r: Reader) -> Screen:
    t = r.t
    number = r.number
    if p.status == AnnouncementStatus.SCHEDULED and p.scheduled_at is not None:
        head = t._("🕒 Announcement #{id} is scheduled for {date} {time}.", id=number(p.id),
                   date=r.date(p.scheduled_at), time=r.time(p.scheduled_at))  # fmt: skip
        cancel = keyboards.button(t._("✖️ Cancel it"), buttons.STOP.build(p.id))
        return head, InlineKeyboardMarkup([[cancel]])
    if p.status == AnnouncementStatus.SENDING:
        head = t._("📤 Announcement #{id} is being sent.", id=number(p.id))
    elif p.status == AnnouncementStatus.STOPPED:
        head = t._("⏹ Announcement #{id} was stopped.", id=number(p.id))
    else:
        head = t._("✅ Announcement #{id} was sent.", id=number(p.id))
    lines = [
        head,
        t._(
            "Sent: {sent} · Failed: {failed} · Blocked: {blocked} · Remaining: {remaining}",
            sent=number(p.sent),
            failed=number(p.failed),
            blocked=number(p.blocked),
            remaining=number(p.remaining),
        ),
    ]
    if p.stopped:
        lines.append(t._("Not sent because of the Stop: {n}", n=number(p.stopped)))
    eta = p.eta(now) if p.status == AnnouncementStatus.SENDING else None
    if eta is not None:
        lines.append(t._("Time left: {left}", left=_duration(eta, r)))
    if p.status != AnnouncementStatus.SENDING:
        return "\n".join(lines), keyboards.back_to_menu(t)
    stop = keyboards.button(t._("⏹ Stop"), buttons.STOP.build(p.id))
    return "\n".join(lines), InlineKeyboardMarkup([[stop]])


# --- refusals and endings ----------------------------------------------------------------


def refusal(code: str, r: Reader) -> str:
    t = r.t
    if code == "not_your_customers":
        return t._("You can announce to your own customers only.")
    if code == "admins_only":
        return t._("Only admins can announce to resellers.")
    if code in ("bad_days",):
        return t._("Send a whole number of days from 1 to {max}.", max=r.number(MAX_DAYS))
    if code == "bad_text":
        return t._("The message is empty or too long (a photo's caption takes at most 1024 "
                   "characters, a text 4096).")  # fmt: skip
    if code == "bad_when":
        return t._("Send the maintenance time in one line of at most 200 characters.")
    if code == "bad_link":
        return t._("That is not a button: send a label, a | and an address starting with "
                   "https://")  # fmt: skip
    if code == "renew_customers_only":
        return t._("Only customers can ask for a renewal: pick another button.")
    if code == "past":
        return t._("That time has passed. Send a time in the future.")
    if code == "bad_time":
        return t._("That is not a date and time. Send it like 2026-12-31 18:30.")
    if code == "too_many":
        return t._("You have sent as many announcements as allowed in 24 hours. "
                   "Please try again tomorrow.")  # fmt: skip
    if code == "not_yours":
        return t._("This announcement is not yours to stop.")
    return t._("That choice is not available. Pick one of the buttons.")


def not_allowed(t: Translator) -> str:
    return t._("Only admins and active resellers can send announcements.")


def sent_before(t: Translator) -> str:
    return t._("This announcement was already sent.")


def use_buttons(t: Translator) -> str:
    return t._("Please use the buttons.")


def cancelled(t: Translator) -> str:
    return t._("Announcement cancelled. Nothing was sent.")


def timed_out(t: Translator) -> str:
    return t._("The announcement waited too long and was cancelled. Nothing was sent.")


def replaced(t: Translator) -> str:
    return t._("The announcement was left unfinished; nothing was sent.")
