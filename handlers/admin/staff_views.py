"""Every text and keyboard of the owners' staff screens: the list, a staff admin's card
with a toggle per permission, removing one, and adding one with the user picker or a
typed id. Pure functions of the roles service's frozen views and the reader."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import (
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonRequestUsers,
    ReplyKeyboardMarkup,
)

from bot import keyboards
from bot.i18n import Translator
from bot.services.admin_log import ActionError
from bot.services.roles import Permission, StaffView
from handlers import pages
from handlers.admin import callbacks
from handlers.common import clip
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup]
STAFF_PAGE_SIZE = 15  # one button per staff admin on a page
ALLOWED, FORBIDDEN = "✅", "▫️"


def permission_name(permission: Permission, t: Translator) -> str:
    names = {
        Permission.TOPUPS: t._("Top-ups"),
        Permission.CREDITS: t._("Credits"),
        Permission.RESELLERS: t._("Resellers"),
        Permission.CATALOGUE: t._("Plans and prices"),
        Permission.REPORTS: t._("Reports"),
        Permission.ANNOUNCEMENTS: t._("Announcements"),
    }
    return names[permission]


def _what_it_allows(permission: Permission, t: Translator) -> str:
    allows = {
        Permission.TOPUPS: t._("approve and reject top-ups"),
        Permission.CREDITS: t._("add and remove credits, record cash received"),
        Permission.RESELLERS: t._("register, edit, suspend and reactivate resellers"),
        Permission.CATALOGUE: t._("plans, price tiers, payment methods, panels"),
        Permission.REPORTS: t._("the ledger audit, the action log, statements"),
        Permission.ANNOUNCEMENTS: t._("announce to resellers and customers"),
    }
    return allows[permission]


def _permissions(view: StaffView, t: Translator) -> str:
    """What a staff admin may do, in a few words."""
    if not view.permissions:
        return t._("no permissions yet")
    return ", ".join(permission_name(p, t) for p in Permission if p in view.permissions)


# --- the list ----------------------------------------------------------------------------


def staff_list(rows: Sequence[StaffView], page: int, r: Reader, note: str = "") -> Screen:
    """The staff admins, a page at a time; ``note`` (what was just done) goes under it."""
    t = r.t
    add = [keyboards.button(t._("➕ Add a staff admin"), callbacks.STAFF_ADD.build())]
    if not rows:
        text = t._(
            "👮 <b>Staff admins</b>\nNone yet. A staff admin does what the permissions you "
            "give them allow; the owners (ADMIN_IDS) may do everything."
        )
        if note:
            text += "\n\n" + note
        return text, InlineKeyboardMarkup(
            [add, *map(list, keyboards.back_to_menu(t).inline_keyboard)]
        )

    def header(at: int, count: int) -> str:
        return t._(
            "👮 <b>Staff admins</b> ({total}, page {page} of {pages})",
            total=r.number(len(rows)),
            page=r.number(at + 1),
            pages=r.number(count),
        )

    lines = [
        t._(
            "• {name} (<code>{id}</code>): {permissions}",
            name=r.name(row.name),
            id=row.telegram_id,
            permissions=_permissions(row, t),
        )
        for row in rows
    ]
    shown = pages.paginate(lines, page, header=header, footer=note, max_items=STAFF_PAGE_SIZE)
    people = [
        [keyboards.button(f"👮 {clip(row.name, 30)}", callbacks.STAFF_CARD.build(row.telegram_id))]
        for row in rows[shown.start : shown.stop]
    ]
    nav = keyboards.pager(keyboards.ADMIN_STAFF, shown.page, shown.pages, t)
    return shown.text, InlineKeyboardMarkup([*people, add, *map(list, nav.inline_keyboard)])


# --- one staff admin ---------------------------------------------------------------------


def card(view: StaffView, r: Reader, note: str = "") -> Screen:
    """A staff admin and a toggle per permission: a tap asks for the opposite of what the
    button shows, so a second tap on the same button asks for the same and changes nothing."""
    t = r.t
    lines = [
        f"👮 <b>{r.name(view.name)}</b>",
        t._("Telegram id: <code>{id}</code>", id=view.telegram_id),
        t._("Staff admin since {date}", date=r.date(view.created_at)),
        "",
        t._(
            "Tap a permission to allow ({allowed}) or forbid ({forbidden}) it:",
            allowed=ALLOWED,
            forbidden=FORBIDDEN,
        ),
    ]
    toggles = []
    for permission in Permission:
        allowed = permission in view.permissions
        mark, name = ALLOWED if allowed else FORBIDDEN, permission_name(permission, t)
        lines.append(f"{mark} <b>{name}</b>: {_what_it_allows(permission, t)}")
        # The button asks for the opposite of what it shows.
        data = callbacks.STAFF_TOGGLE.build(view.telegram_id, permission, not allowed)
        toggles.append(keyboards.button(f"{mark} {name}", data))
    if note:
        lines += ["", note]
    rows = [toggles[i : i + 2] for i in range(0, len(toggles), 2)]
    rows += [
        [keyboards.button(t._("🗑 Remove"), callbacks.STAFF_REMOVE.build(view.telegram_id))],
        [keyboards.button(t._("⬅️ Staff"), callbacks.STAFF.build(0))],
    ]
    return pages.fit(lines), InlineKeyboardMarkup(rows)


def changed(permission: Permission, allowed: bool, t: Translator) -> str:
    """The note under the card after a toggle."""
    name = permission_name(permission, t)
    if allowed:
        return t._("✅ {permission}: allowed.", permission=name)
    return t._("▫️ {permission}: forbidden.", permission=name)


def confirm_removal(view: StaffView, r: Reader) -> Screen:
    t = r.t
    text = t._(
        "🗑 Remove <b>{name}</b> from the staff?\n"
        "They lose every permission at once; what they already did stays done.",
        name=r.name(view.name),
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button(
                    t._("🗑 Yes, remove"), callbacks.STAFF_REMOVE_YES.build(view.telegram_id)
                )
            ],
            [keyboards.button(t._("✖️ Keep"), callbacks.STAFF_CARD.build(view.telegram_id))],
        ]
    )
    return text, keyboard


def removed(view: StaffView, r: Reader) -> str:
    return r.t._("🗑 {name} is no longer staff.", name=r.name(view.name))


def refusal(exc: ActionError, r: Reader) -> str:
    """The roles service's refusals, in the reader's words."""
    t = r.t
    telegram_id = exc.params.get("telegram_id")
    if exc.code == "already_owner":
        return t._(
            "<code>{id}</code> is an owner (ADMIN_IDS) and may do everything already.",
            id=telegram_id,
        )
    if exc.code == "already_staff":
        return t._("<code>{id}</code> is already a staff admin.", id=telegram_id)
    if exc.code == "bad_telegram_id":
        return not_an_id(t)
    return not_staff(t)


def not_staff(t: Translator) -> str:
    return t._("They are not a staff admin (any more).")


# --- adding one --------------------------------------------------------------------------


def ask_who(t: Translator) -> tuple[str, ReplyKeyboardMarkup]:
    """The prompt, with the button that opens Telegram's user picker."""
    text = t._(
        "➕ <b>New staff admin</b>\n"
        "Choose them with the button below, or send their numeric Telegram id (the bot "
        "tells them theirs when they send it /start). Send /cancel to stop."
    )
    picker = KeyboardButtonRequestUsers(
        request_id=callbacks.STAFF_PICKER,
        user_is_bot=False,
        max_quantity=1,
        request_name=True,
        request_username=True,
    )
    button = KeyboardButton(t._("👤 Choose a person"), request_users=picker)
    return text, ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)


def not_an_id(t: Translator) -> str:
    return t._(
        "That is not a Telegram id. Send a number like <code>123456789</code>, or choose "
        "them with the button below."
    )


def added(view: StaffView, r: Reader) -> str:
    return r.t._(
        "✅ {name} (<code>{id}</code>) is now a staff admin. Choose what they may do:",
        name=r.name(view.name),
        id=view.telegram_id,
    )


def adding_cancelled(t: Translator) -> str:
    return t._("No staff admin was added.")


def adding_timed_out(t: Translator) -> str:
    return t._("⏱ No staff admin was added: nobody was chosen in time.")


def adding_replaced(t: Translator) -> str:
    return t._("⏹ No staff admin was added: you started something else.")
