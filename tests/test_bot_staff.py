"""Staff admins in chat: an owner adds one (by the user picker or a typed id), allows and
forbids each permission, removes them; a staff admin does what their permissions allow
and is refused the rest; nobody gets an admin screen by typing a button's words or by
forging its data."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select

from bot import i18n, keyboards
from bot.context import BotApplication
from bot.db import Database
from bot.services import ledger, pricing, roles, topup_reads, topups
from bot.services.resellers import require_by_telegram_id
from bot.services.roles import Permission
from bot.services.topup_reads import Proof
from bot.services.topups import Limits
from bot.settings import Settings
from handlers.admin import callbacks
from handlers.topup import callbacks as topup_callbacks
from models import AdminAction, ProofKind, TopUpStatus
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID, OTHER_ADMIN_ID, running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, now, setup_topups

SAM = 700
LIMITS = Limits(min_credits=1_000, max_credits=10_000_000, max_pending=3, currency="USD")
NO_PERMISSION = "You do not have permission for that. Ask an owner."
ONLY_ADMINS = "Only admins can do that."
UNEXPECTED = "I didn't expect that here."


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    """An owner (ADMIN_IDS), with the bot running."""
    return fake_api.user(ADMIN_ID, "Boss")


@pytest.fixture
def sam(fake_api: FakeBotAPI) -> User:
    return fake_api.user(SAM, "Sam", "sam_staff")


async def _staff(db: Database, *permissions: Permission, telegram_id: int = SAM) -> None:
    await roles.add_staff(
        db, telegram_id=telegram_id, name="Sam", permissions=permissions,
        owner_ids={ADMIN_ID, OTHER_ADMIN_ID}, actor="test", now=now(),
    )  # fmt: skip


async def _permissions(db: Database) -> set[Permission] | None:
    view = await roles.staff(db, SAM)
    return None if view is None else set(view.permissions)


async def _actions(db: Database) -> list[tuple[str, str, dict[str, Any]]]:
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(AdminAction.actor, AdminAction.action, AdminAction.details)
                .where(AdminAction.action.like("staff%"))
                .order_by(AdminAction.id)
            )
        ).all()
    return [(actor, action, json.loads(details or "null")) for actor, action, details in rows]


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    """Tap a button that shows a screen; the screen."""
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def _refused(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> str:
    """Tap (or forge) a button that must be refused: its alert, and nothing else."""
    answer = await fake_api.answer(await fake_api.tap(user, event, data))
    assert str(answer.get("show_alert")).lower() == "true"
    assert fake_api.unread(user.id) == []
    return str(answer["text"])


def _data(event: Event) -> list[str]:
    return [data for _, data in event.buttons]


async def _menu(fake_api: FakeBotAPI, user: User) -> Event:
    await fake_api.send(user, "/start")
    return await fake_api.next_event(user.id)


async def _staff_list(fake_api: FakeBotAPI, boss: User) -> Event:
    menu = await _menu(fake_api, boss)
    assert callbacks.STAFF.build(0) in _data(menu)
    return await _tap(fake_api, boss, menu, callbacks.STAFF.build(0))


async def _ask_who(fake_api: FakeBotAPI, boss: User) -> Event:
    listing = await _staff_list(fake_api, boss)
    await fake_api.answer(await fake_api.tap(boss, listing, callbacks.STAFF_ADD.build()))
    prompt = await fake_api.next_event(boss.id)
    assert prompt.method == "sendMessage" and "New staff admin" in prompt.text
    [[picker]] = prompt.message["reply_keyboard"]["keyboard"]
    assert picker["request_users"] == {
        "request_id": callbacks.STAFF_PICKER, "user_is_bot": False, "max_quantity": 1,
        "request_name": True, "request_username": True,
    }  # fmt: skip
    return prompt


def _took_the_picker_down(event: Event) -> bool:
    return event.message.get("reply_keyboard") == {"remove_keyboard": True}


async def _pending_request(db: Database) -> int:
    await make_reseller(db, 1001, name="Alice", credit=1_000)
    await setup_topups(db)
    method_id = next(m.id for m in await pricing.list_methods(db) if m.code == "bank")
    request, _ = await topups.create_request(
        db, telegram_id=1001, credits=10_000, method_id=method_id,
        proof=Proof(ProofKind.REFERENCE, reference="TX-1"), key="k1", limits=LIMITS,
    )  # fmt: skip
    return request.id


async def _status(db: Database, request_id: int) -> TopUpStatus:
    request = await topup_reads.get_request(db, request_id)
    assert request is not None
    return request.status


async def _balance(db: Database, telegram_id: int = 1001) -> int:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return (await ledger.balance(session, reseller.account_id)).balance


# --- adding ------------------------------------------------------------------------------


async def test_an_owner_adds_a_staff_admin_by_sharing_their_contact(
    db: Database, fake_api: FakeBotAPI, boss: User, sam: User
) -> None:
    await _ask_who(fake_api, boss)
    await fake_api.send_users_shared(boss, callbacks.STAFF_PICKER, [sam])
    added = await fake_api.next_event(boss.id)
    assert "Sam (<code>700</code>) is now a staff admin" in added.text
    assert _took_the_picker_down(added)
    card = await fake_api.next_event(boss.id)
    assert "Sam" in card.text and "Telegram id: <code>700</code>" in card.text
    assert callbacks.STAFF_TOGGLE.build(SAM, Permission.TOPUPS, True) in _data(card)
    assert await _permissions(db) == set()  # nothing allowed until an owner says so
    assert [(a, action) for a, action, _ in await _actions(db)] == [
        (f"tg:{ADMIN_ID}", "staff_added")
    ]
    await fake_api.send(boss, "701")  # the flow is over: a number is just a message now
    assert UNEXPECTED in (await fake_api.next_event(boss.id)).text
    assert await roles.staff(db, 701) is None
    # Their chat was given the admin commands their permissions allow: none of the
    # permission-bound ones yet (before the owner's next update was read).
    menu = {c["command"] for c in fake_api.command_menus[("chat", SAM, "")]}
    assert "language" in menu and not {"pending", "resellers", "audit"} & menu
    await fake_api.answer(
        await fake_api.tap(boss, card, callbacks.STAFF_TOGGLE.build(SAM, Permission.TOPUPS, True))
    )
    await fake_api.next_event(boss.id)
    for _ in range(50):  # the menu follows the owner's answer
        menu = {c["command"] for c in fake_api.command_menus[("chat", SAM, "")]}
        if "pending" in menu:
            break
        await asyncio.sleep(0.05)
    assert "pending" in menu and not {"resellers", "audit"} & menu


async def test_an_owner_adds_a_staff_admin_by_typing_their_id_and_bad_ids_are_explained(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    await _staff(db, Permission.REPORTS)
    await _ask_who(fake_api, boss)
    for typed, said in (
        ("abc", "That is not a Telegram id"),
        ("123456789012345678901", "That is not a Telegram id"),
        ("0", "That is not a Telegram id"),
        (str(OTHER_ADMIN_ID), "is an owner"),
        (str(SAM), "is already a staff admin"),
    ):
        await fake_api.send(boss, typed)
        reply = await fake_api.next_event(boss.id)
        assert said in reply.text and not _took_the_picker_down(reply)
    await fake_api.send(boss, "۷۰۱")  # Persian digits
    added = await fake_api.next_event(boss.id)
    assert "(<code>701</code>) is now a staff admin" in added.text
    assert _took_the_picker_down(added)
    await fake_api.next_event(boss.id)  # the card
    view = await roles.staff(db, 701)
    assert view is not None and view.name == "701" and view.permissions == frozenset()
    assert await _permissions(db) == {Permission.REPORTS}  # Sam as he was


async def test_cancelling_or_starting_over_adds_nobody_and_takes_the_picker_down(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    await _ask_who(fake_api, boss)
    await fake_api.send(boss, "/cancel")
    cancelled = await fake_api.next_event(boss.id)
    assert "No staff admin was added." in cancelled.text and _took_the_picker_down(cancelled)

    await _ask_who(fake_api, boss)
    await fake_api.send(boss, "/start")
    replaced = await fake_api.next_event(boss.id)
    assert "you started something else" in replaced.text and _took_the_picker_down(replaced)
    assert "Admin menu" in (await fake_api.next_event(boss.id)).text
    assert await roles.list_staff(db) == []


async def test_a_picker_left_waiting_times_out_and_takes_itself_down(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    quick = settings.model_copy(update={"conversation_timeout_minutes": 0.02})  # 1.2 s
    async with running_bot(quick, db):
        boss = fake_api.user(ADMIN_ID, "Boss")
        await _ask_who(fake_api, boss)
        ended = await fake_api.next_event(boss.id, within=15)
        assert "nobody was chosen in time" in ended.text and _took_the_picker_down(ended)
    assert await roles.list_staff(db) == []


# --- permissions -------------------------------------------------------------------------


async def test_each_toggle_is_one_logged_change_and_a_double_tap_changes_nothing(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    await _staff(db)
    listing = await _staff_list(fake_api, boss)
    assert "Sam (<code>700</code>): no permissions yet" in listing.text
    card = await _tap(fake_api, boss, listing, callbacks.STAFF_CARD.build(SAM))
    allow = callbacks.STAFF_TOGGLE.build(SAM, Permission.TOPUPS, True)
    allowed = await _tap(fake_api, boss, card, allow)
    assert "✅ <b>Top-ups</b>" in allowed.text and "Top-ups: allowed" in allowed.text
    assert callbacks.STAFF_TOGGLE.build(SAM, Permission.TOPUPS, False) in _data(allowed)
    # The old button again (a double tap): the same request, nothing changes.
    await fake_api.answer(await fake_api.tap(boss, card, allow))
    assert await _permissions(db) == {Permission.TOPUPS}

    forbid = callbacks.STAFF_TOGGLE.build(SAM, Permission.TOPUPS, False)
    forbidden = await _tap(fake_api, boss, allowed, forbid)
    assert "▫️ <b>Top-ups</b>" in forbidden.text and "Top-ups: forbidden" in forbidden.text
    assert await _permissions(db) == set()
    changes = [(d["before"], d["after"]) for _, a, d in await _actions(db) if a != "staff_added"]
    assert changes == [
        ({"telegram_id": SAM, "permissions": ""}, {"telegram_id": SAM, "permissions": "topups"}),
        ({"telegram_id": SAM, "permissions": "topups"}, {"telegram_id": SAM, "permissions": ""}),
    ]


async def test_a_staff_admin_with_topups_approves_but_is_refused_resellers_and_the_audit(
    db: Database, fake_api: FakeBotAPI, boss: User, sam: User
) -> None:
    request_id = await _pending_request(db)
    await _staff(db, Permission.TOPUPS)
    menu = await _menu(fake_api, sam)
    assert "Admin menu" in menu.text
    assert keyboards.TOPUP_PENDING in _data(menu)
    for hidden in (callbacks.RESELLERS.build(0), callbacks.AUDIT.build(), callbacks.STAFF.build(0)):
        assert hidden not in _data(menu)

    await fake_api.send(sam, "/pending")
    pending = await fake_api.next_event(sam.id)
    answer = await fake_api.answer(
        await fake_api.tap(sam, pending, topup_callbacks.APPROVE.build(request_id, 0))
    )
    assert "approved" in answer["text"]
    assert "No top-ups are waiting" in (await fake_api.next_event(sam.id)).text  # redrawn
    assert await _status(db, request_id) == TopUpStatus.APPROVED
    assert await _balance(db) == 1_000 + 10_000

    for command in ("/resellers", "/audit"):
        await fake_api.send(sam, command)
        assert (await fake_api.next_event(sam.id)).text == NO_PERMISSION
    for forged in (
        callbacks.RESELLERS.build(0),
        callbacks.CARD.build(1001),
        callbacks.SUSPEND_NOW.build(1001),
        callbacks.AUDIT.build(),
        callbacks.STAFF.build(0),
        callbacks.STAFF_TOGGLE.build(SAM, Permission.RESELLERS, True),
        callbacks.STAFF_REMOVE_YES.build(SAM),
    ):
        assert await _refused(fake_api, sam, menu, forged) == NO_PERMISSION
    assert await _permissions(db) == {Permission.TOPUPS}
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, 1001)
    assert reseller.status == "active"


async def test_a_staff_admin_without_topups_is_refused_approve_and_nothing_moves(
    db: Database, fake_api: FakeBotAPI, boss: User, sam: User
) -> None:
    request_id = await _pending_request(db)
    await _staff(db, Permission.REPORTS)
    menu = await _menu(fake_api, sam)
    assert keyboards.TOPUP_PENDING not in _data(menu)
    assert callbacks.AUDIT.build() in _data(menu)
    for forged in (
        topup_callbacks.APPROVE.build(request_id),
        topup_callbacks.REJECT.build(request_id),
        topup_callbacks.REJECT_WITHOUT_REASON.build(request_id),
        keyboards.TOPUP_PENDING,
    ):
        assert await _refused(fake_api, sam, menu, forged) == NO_PERMISSION
    await fake_api.send(sam, "/pending")
    assert (await fake_api.next_event(sam.id)).text == NO_PERMISSION
    assert await _status(db, request_id) == TopUpStatus.PENDING
    assert await _balance(db) == 1_000
    # What REPORTS allows, they may.
    await fake_api.send(sam, "/audit")
    assert "Ledger audit: OK" in (await fake_api.next_event(sam.id)).text


async def test_removal_takes_effect_on_the_staff_admins_next_tap(
    db: Database, fake_api: FakeBotAPI, boss: User, sam: User
) -> None:
    request_id = await _pending_request(db)
    await _staff(db, Permission.TOPUPS)
    await _menu(fake_api, sam)  # they are given the admin commands
    await fake_api.send(sam, "/pending")
    pending = await fake_api.next_event(sam.id)

    listing = await _staff_list(fake_api, boss)
    card = await _tap(fake_api, boss, listing, callbacks.STAFF_CARD.build(SAM))
    confirm = await _tap(fake_api, boss, card, callbacks.STAFF_REMOVE.build(SAM))
    assert "Remove <b>Sam</b> from the staff?" in confirm.text
    assert callbacks.STAFF_CARD.build(SAM) in _data(confirm)  # Keep
    done = await _tap(fake_api, boss, confirm, callbacks.STAFF_REMOVE_YES.build(SAM))
    assert "Sam is no longer staff." in done.text and "None yet" in done.text
    again = await _tap(fake_api, boss, done, callbacks.STAFF_REMOVE_YES.build(SAM))
    assert "not a staff admin (any more)" in again.text
    assert [a for _, a, _ in await _actions(db)] == ["staff_added", "staff_removed"]
    assert ("chat", SAM, "") not in fake_api.command_menus  # back to the default menu

    approve = topup_callbacks.APPROVE.build(request_id, 0)
    assert await _refused(fake_api, sam, pending, approve) == ONLY_ADMINS
    assert await _status(db, request_id) == TopUpStatus.PENDING
    assert "Admin menu" not in (await _menu(fake_api, sam)).text


# --- nobody else -------------------------------------------------------------------------


async def test_typing_an_admin_buttons_words_opens_nothing_for_a_reseller_or_a_stranger(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    await make_reseller(db, 1001, name="Alice")
    alice, stranger = fake_api.user(1001, "Alice"), fake_api.user(5555, "Eve")
    t = i18n.load().get("en")
    labels = [t._("👥 Resellers"), t._("🧮 Ledger audit"), t._("🧾 Pending top-ups"),
              t._("👮 Staff")]  # fmt: skip
    for user in (alice, stranger):
        for label in labels:
            await fake_api.send(user, label)
            reply = await fake_api.next_event(user.id)
            assert reply.text == t._("I didn't expect that here. Send /start for the menu.")
            assert reply.buttons == []
        assert fake_api.unread(user.id) == []


async def test_forged_staff_buttons_from_a_reseller_are_refused_and_change_nothing(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await _staff(db, Permission.REPORTS)
    alice = fake_api.user(1001, "Alice")
    menu = await _menu(fake_api, alice)
    for forged in (
        callbacks.STAFF.build(0),
        callbacks.STAFF_CARD.build(SAM),
        callbacks.STAFF_ADD.build(),
        callbacks.STAFF_TOGGLE.build(SAM, Permission.TOPUPS, True),
        callbacks.STAFF_REMOVE.build(SAM),
        callbacks.STAFF_REMOVE_YES.build(SAM),
        callbacks.RESELLERS.build(0),
        callbacks.AUDIT.build(),
    ):
        assert await _refused(fake_api, alice, menu, forged) == ONLY_ADMINS
    await fake_api.send_users_shared(alice, callbacks.STAFF_PICKER, [fake_api.user(702, "X")])
    assert UNEXPECTED in (await fake_api.next_event(alice.id)).text
    assert await _permissions(db) == {Permission.REPORTS}
    assert [s.telegram_id for s in await roles.list_staff(db)] == [SAM]
    assert [a for _, a, _ in await _actions(db)] == ["staff_added"]


async def test_the_admin_groups_language_is_for_those_who_may_decide_top_ups(
    db: Database, fake_api: FakeBotAPI, boss: User, sam: User
) -> None:
    await _staff(db, Permission.REPORTS)
    await fake_api.send(sam, "/language", chat_id=ADMIN_CHAT_ID)
    assert (await fake_api.next_event(ADMIN_CHAT_ID)).text == NO_PERMISSION
    await fake_api.send(boss, "/language", chat_id=ADMIN_CHAT_ID)
    choices = await fake_api.next_event(ADMIN_CHAT_ID)
    assert await _refused(fake_api, sam, choices, "lang:fa") == NO_PERMISSION
    await roles.set_permission(
        db, telegram_id=SAM, permission=Permission.TOPUPS, allowed=True, actor="test", now=now()
    )
    await fake_api.answer(await fake_api.tap(sam, choices, "lang:fa"))
    assert "فارسی" in (await fake_api.next_event(ADMIN_CHAT_ID)).text
