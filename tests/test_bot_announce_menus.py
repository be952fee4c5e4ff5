"""/announce and /announcements are in a command menu only where the rule of who may
announce lets its person announce: owners, staff admins with the announcements
permission, active resellers; not a staff admin without the permission nor a suspended
reseller, who would be refused on use. An owner allowing or forbidding it, or suspending
or reactivating the reseller, changes the menu at once. /help lists what the menu does."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from bot.context import BotApplication
from bot.db import Database
from bot.services import announcement_authors, resellers, roles
from bot.services.roles import Permission
from bot.settings import Settings
from handlers.admin import callbacks as admin_buttons
from models import ResellerStatus
from tests.conftest import ADMIN_ID, running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, say

SAM, PAT, ALICE = 4242, 4343, 1001
ANNOUNCING = {"announce", "announcements"}
REFUSED = "Only admins and active resellers can send announcements."
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


async def add_staff(db: Database, telegram_id: int, *permissions: Permission) -> None:
    await roles.add_staff(
        db, telegram_id=telegram_id, name="Staff", permissions=permissions,
        owner_ids={ADMIN_ID}, actor="test", now=NOW,
    )  # fmt: skip


def menu(fake_api: FakeBotAPI, chat_id: int) -> set[str]:
    return {c["command"] for c in fake_api.command_menus.get(("chat", chat_id, ""), [])}


def published(fake_api: FakeBotAPI, chat_id: int) -> int:
    """How many times the chat's own menu was set."""
    scopes = [params.get("scope") for method, params in fake_api.requests
              if method == "setMyCommands"]  # fmt: skip
    read = [json.loads(s) if isinstance(s, str) else s for s in scopes]
    return sum(1 for scope in read if scope and int(scope.get("chat_id", 0)) == chat_id)


async def menu_after(fake_api: FakeBotAPI, chat_id: int, done: bool) -> set[str]:
    """The chat's menu once it lists /announce (``done``) or not: it follows the answer."""
    for _ in range(50):
        shown = menu(fake_api, chat_id)
        if shown and (shown >= ANNOUNCING) is done:
            return shown
        await asyncio.sleep(0.05)
    return menu(fake_api, chat_id)


def helped(text: str) -> set[str]:
    """The commands a /help answer lists, one ``/command - what it does`` a line."""
    lines = (line.split(" - ", 1)[0] for line in text.splitlines() if " - " in line)
    return {line[1:] for line in lines if line.startswith("/")}


async def owner_taps(fake_api: FakeBotAPI, owner: User, on: Event, data: str) -> Event:
    """The owner taps ``data`` (a button of the reseller's card); what then shows."""
    await fake_api.answer(await fake_api.tap(owner, on, data))
    return await fake_api.next_event(owner.id)


async def started(fake_api: FakeBotAPI, user: User) -> None:
    """``user`` sends /start; their menu is set after the answer."""
    await say(fake_api, user, "/start")
    for _ in range(50):
        if ("chat", user.id, "") in fake_api.command_menus:
            return
        await asyncio.sleep(0.05)


async def test_a_staff_admins_menu_lists_announcing_only_with_the_announcements_permission(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await add_staff(db, SAM, Permission.TOPUPS)
    await add_staff(db, PAT, Permission.ANNOUNCEMENTS)
    await make_reseller(db, ALICE, name="Alice")
    sam, pat = fake_api.user(SAM, "Sam"), fake_api.user(PAT, "Pat")
    alice = fake_api.user(ALICE, "Alice")
    for user in (sam, pat, alice):
        await started(fake_api, user)
    shown = menu(fake_api, SAM)
    assert "pending" in shown and not ANNOUNCING & shown
    # No reseller account of his own: /balance would tell him he is not registered.
    assert "balance" not in shown and "register" in (await say(fake_api, sam, "/balance")).text
    assert REFUSED in (await say(fake_api, sam, "/announce")).text  # as the menu says
    assert menu(fake_api, PAT) >= ANNOUNCING and "pending" not in menu(fake_api, PAT)
    assert "Who should get it?" in (await say(fake_api, pat, "/announce")).text
    assert menu(fake_api, ALICE) >= ANNOUNCING  # a reseller keeps them
    assert menu(fake_api, ADMIN_ID) >= ANNOUNCING  # and an owner


async def test_an_owner_allowing_and_forbidding_announcements_changes_the_staff_menu(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await add_staff(db, SAM, Permission.TOPUPS)
    sam, owner = fake_api.user(SAM, "Sam"), fake_api.user(ADMIN_ID, "Owner")
    await started(fake_api, sam)
    assert not ANNOUNCING & menu(fake_api, SAM)
    home = await say(fake_api, owner, "/start")
    await fake_api.tap(owner, home, admin_buttons.STAFF_CARD.build(SAM))
    card = await fake_api.next_event(owner.id)
    for allowed in (True, False, True):
        toggle = admin_buttons.STAFF_TOGGLE.build(SAM, Permission.ANNOUNCEMENTS, allowed)
        await fake_api.answer(await fake_api.tap(owner, card, toggle))
        card = await fake_api.next_event(owner.id)
        shown = await menu_after(fake_api, SAM, allowed)
        assert (shown >= ANNOUNCING) is allowed and "pending" in shown
    # Sam's next /start finds the menu as shown: the cache knows it by the permission.
    calls = published(fake_api, SAM)
    assert calls == 4  # at /start, and at each of the owner's three answers
    await started(fake_api, sam)
    await asyncio.sleep(0.2)
    assert published(fake_api, SAM) == calls
    assert menu(fake_api, SAM) >= ANNOUNCING


async def test_a_staff_admin_who_is_also_a_reseller_is_listed_what_the_composer_allows(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    """A staff admin without the permission who is also an active reseller announces to
    their own customers, as any active reseller; the menu and the composer answer from
    the one rule (announcement_authors)."""
    await make_reseller(db, SAM, name="Sam's shop")
    await add_staff(db, SAM, Permission.TOPUPS)
    sam = fake_api.user(SAM, "Sam")
    await started(fake_api, sam)
    identity = await resellers.identify(db, SAM, settings.admin_ids)
    allowed = announcement_authors.may_announce(identity)
    assert allowed
    author = await announcement_authors.author_of(db, SAM, settings.admin_ids)
    assert identity.reseller is not None and author is not None
    assert author.reseller_id == identity.reseller.id  # its own customers only
    assert (menu(fake_api, SAM) >= ANNOUNCING) is allowed
    assert "activate" in menu(fake_api, SAM)  # an admin's own reseller sells
    opened = await say(fake_api, sam, "/announce")
    assert (REFUSED not in opened.text) is allowed
    help_text = (await say(fake_api, sam, "/help")).text
    assert ("/announce - " in help_text) is allowed and "/activate - " in help_text
    await resellers.set_status(
        db, telegram_id=SAM, status=ResellerStatus.SUSPENDED, actor="test", now=NOW
    )
    suspended = await resellers.identify(db, SAM, settings.admin_ids)
    assert not announcement_authors.may_announce(suspended)


async def test_the_admins_menus_published_at_start_follow_the_permission(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    await add_staff(db, SAM, Permission.TOPUPS)
    await add_staff(db, PAT, Permission.ANNOUNCEMENTS)
    async with running_bot(settings, db):
        assert "pending" in menu(fake_api, SAM) and not ANNOUNCING & menu(fake_api, SAM)
        assert menu(fake_api, PAT) >= ANNOUNCING
        assert menu(fake_api, ADMIN_ID) >= ANNOUNCING


async def test_who_may_announce_is_whoever_author_of_makes_an_author(
    db: Database, settings: Settings
) -> None:
    """``may_announce`` is ``author_of``'s rule: owners, staff with the permission, active
    resellers; not staff without it, a suspended reseller, a stranger."""
    await make_reseller(db, ALICE, name="Alice")
    await make_reseller(db, 1002, name="Bob")
    await resellers.set_status(
        db, telegram_id=1002, status=ResellerStatus.SUSPENDED, actor="test", now=NOW
    )
    await add_staff(db, SAM, Permission.TOPUPS)
    await add_staff(db, PAT, Permission.ANNOUNCEMENTS)
    owners = settings.admin_ids
    expected = {ADMIN_ID: True, PAT: True, ALICE: True, SAM: False, 1002: False, 777: False}
    for telegram_id, allowed in expected.items():
        identity = await resellers.identify(db, telegram_id, owners)
        assert announcement_authors.may_announce(identity) is allowed, telegram_id
        author = await announcement_authors.author_of(db, telegram_id, owners)
        assert (author is not None) is allowed, telegram_id


async def test_a_suspended_resellers_menu_drops_announcing_and_gets_it_back_when_reactivated(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    """Suspended, Alice would be refused /announce: her menu stops listing it as the owner
    suspends her, and lists it again as the owner reactivates her; her next /start finds
    the menu as shown and publishes nothing more."""
    await make_reseller(db, ALICE, name="Alice")
    alice, owner = fake_api.user(ALICE, "Alice"), fake_api.user(ADMIN_ID, "Owner")
    await started(fake_api, alice)
    assert menu(fake_api, ALICE) >= ANNOUNCING
    card = await owner_taps(fake_api, owner, await say(fake_api, owner, "/start"),
                            admin_buttons.CARD.build(ALICE))  # fmt: skip
    prompt = await owner_taps(fake_api, owner, card, admin_buttons.SUSPEND.build(ALICE))
    card = await owner_taps(fake_api, owner, prompt, admin_buttons.SUSPEND_NOW.build(ALICE))
    shown = await menu_after(fake_api, ALICE, False)
    assert not ANNOUNCING & shown and {"balance", "history"} <= shown
    assert REFUSED in (await say(fake_api, alice, "/announce")).text  # as the menu says
    assert not ANNOUNCING & helped((await say(fake_api, alice, "/help")).text)
    calls = published(fake_api, ALICE)
    await started(fake_api, alice)
    await asyncio.sleep(0.2)
    assert published(fake_api, ALICE) == calls

    await owner_taps(fake_api, owner, card, admin_buttons.REACTIVATE.build(ALICE))
    assert await menu_after(fake_api, ALICE, True) >= ANNOUNCING
    assert published(fake_api, ALICE) == calls + 1


async def test_a_reseller_suspended_elsewhere_gets_the_menu_of_use_at_their_next_start(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    """Suspended from the operator's command line, nothing tells this process: Alice's
    next /start shows her the menu without announcing, and reactivated, with it again."""
    await make_reseller(db, ALICE, name="Alice")
    alice = fake_api.user(ALICE, "Alice")
    await started(fake_api, alice)
    for status, listed in ((ResellerStatus.SUSPENDED, False), (ResellerStatus.ACTIVE, True)):
        await resellers.set_status(db, telegram_id=ALICE, status=status, actor="cli", now=NOW)
        await say(fake_api, alice, "/start")
        assert (await menu_after(fake_api, ALICE, listed) >= ANNOUNCING) is listed


async def test_help_lists_exactly_the_commands_of_the_menu_for_every_kind_of_person(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    """One rule for both: an owner's /help lists /announce as their menu does; a staff
    admin without the permission, a suspended reseller, a staff admin who also sells: each
    /help names the commands of their menu, no more, no fewer."""
    await add_staff(db, SAM, Permission.TOPUPS)
    await add_staff(db, PAT, Permission.ANNOUNCEMENTS)
    await make_reseller(db, ALICE, name="Alice")
    await make_reseller(db, 1002, name="Bob")
    await resellers.set_status(
        db, telegram_id=1002, status=ResellerStatus.SUSPENDED, actor="test", now=NOW
    )
    await make_reseller(db, 4444, name="Kim's shop")
    await add_staff(db, 4444, Permission.REPORTS)
    owner_help = helped((await say(fake_api, fake_api.user(ADMIN_ID, "Owner"), "/help")).text)
    assert owner_help >= ANNOUNCING
    for telegram_id in (ADMIN_ID, SAM, PAT, ALICE, 1002, 4444):
        user = fake_api.user(telegram_id, "Someone")
        await started(fake_api, user)
        listed = helped((await say(fake_api, user, "/help")).text)
        assert listed == menu(fake_api, telegram_id), telegram_id
