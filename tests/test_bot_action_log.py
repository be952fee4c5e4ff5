"""The action log screen through the real bot: newest first, a page at a time, filtered
by admin, reseller, kind and days (presets or typed); only for those allowed reports,
and a forged or stale button is refused without showing anything."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot import keyboards
from bot.context import BotApplication
from bot.db import Database
from bot.services import resellers, roles, wallet
from bot.services.roles import Permission
from handlers.admin.action_log import PAGE_SIZE
from handlers.admin.action_log_callbacks import PAGE, PICK, Filters, Pick
from models import AdminAction, ResellerStatus, TxType
from tests.conftest import ADMIN_ID, OTHER_ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import key, make_reseller, now

STAFF_ID = 960


@pytest.fixture
async def logged(db: Database) -> dict[str, int]:
    """Alice and Bob registered from the shell; ten additions of 1.00 to 10.00 credits to
    Alice by the first owner; Bob suspended by the second owner, with a reason."""
    alice = await make_reseller(db, 1001, name="Alice")
    bob = await make_reseller(db, 1002, name="Bob")
    for n in range(1, 11):
        await wallet.add_credit(
            db, telegram_id=1001, amount=n * 100, tx_type=TxType.PURCHASE,
            actor=f"tg:{ADMIN_ID}", key=key(), now=now(), comment=f"order {n}",
        )  # fmt: skip
    await resellers.set_status(
        db, telegram_id=1002, status=ResellerStatus.SUSPENDED, actor=f"tg:{OTHER_ADMIN_ID}",
        now=now(), reason="unpaid <bills>",
    )  # fmt: skip
    return {"alice": alice.id, "bob": bob.id}


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    return fake_api.user(ADMIN_ID, "Boss")


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def _log(fake_api: FakeBotAPI, user: User) -> Event:
    await fake_api.send(user, "/log")
    return await fake_api.next_event(user.id)


async def _nothing_else(fake_api: FakeBotAPI, user: User) -> None:
    """The bot did nothing more in the chat: the next thing it does answers a new /log."""
    await fake_api.send(user, "/log")
    reply = await fake_api.next_event(user.id)
    assert reply.method == "sendMessage" and "📜" in reply.text


def _entries(event: Event) -> list[str]:
    return [part for part in event.text.split("\n\n") if part.startswith("🕓")]


async def test_an_owner_opens_the_log_from_the_menu_newest_first_and_pages_through_it(
    db: Database, fake_api: FakeBotAPI, boss: User, logged: dict[str, int]
) -> None:
    await fake_api.send(boss, "/start")
    menu = await fake_api.next_event(boss.id)
    assert keyboards.ADMIN_LOG in [data for _, data in menu.buttons]
    first = await _tap(fake_api, boss, menu, keyboards.ADMIN_LOG)
    assert first.message["message_id"] == menu.message["message_id"]  # edited in place
    assert "(13, page 1 of 2)" in first.text
    entries = _entries(first)
    assert len(entries) == PAGE_SIZE
    # Newest first: Bob's suspension, by the second owner, with its reason escaped.
    assert f"<code>{OTHER_ADMIN_ID}</code>" in entries[0]
    assert "Reseller suspended" in entries[0] and "Bob" in entries[0]
    assert "💬 unpaid &lt;bills&gt;" in entries[0]
    assert "Credits added: 10.00 credits · 👤 Alice" in entries[1]
    assert "💬 order 10" in entries[1]
    assert PAGE.build(0, Filters()) == keyboards.ADMIN_LOG
    second = await _tap(fake_api, boss, first, PAGE.build(1, Filters()))
    assert "(13, page 2 of 2)" in second.text
    rest = _entries(second)
    assert len(rest) == 5
    assert "Credits added: 3.00 credits" in rest[0]
    assert [("cli" in e, "Reseller registered" in e) for e in rest[-2:]] == [(True, True)] * 2
    assert PAGE.build(0, Filters()) in [data for _, data in second.buttons]  # Previous
    # A page past the end shows the last one: the same screen, so nothing is edited.
    await fake_api.answer(await fake_api.tap(boss, second, PAGE.build(9, Filters())))
    await _nothing_else(fake_api, boss)


async def test_each_filter_narrows_the_log_and_clearing_them_shows_everything(
    db: Database, fake_api: FakeBotAPI, boss: User, logged: dict[str, int]
) -> None:
    screen = await _log(fake_api, boss)
    # By admin: the picker lists who acted; the second owner did one thing.
    admins = await _tap(fake_api, boss, screen, PICK.build(Pick.ADMIN, Filters()))
    by_other = PAGE.build(0, Filters(actor=f"tg:{OTHER_ADMIN_ID}"))
    assert by_other in [data for _, data in admins.buttons]
    assert PAGE.build(0, Filters(actor="cli")) in [data for _, data in admins.buttons]
    mine = await _tap(fake_api, boss, admins, by_other)
    assert "(1, page 1 of 1)" in mine.text and "Filtered by:" in mine.text
    # By reseller, keeping the admin: Alice was never touched by the second owner.
    resellers_ = await _tap(fake_api, boss, mine, PICK.build(Pick.RESELLER, mine_filters()))
    both = mine_filters().with_reseller(logged["alice"])
    assert PAGE.build(0, both) in [data for _, data in resellers_.buttons]
    none = await _tap(fake_api, boss, resellers_, PAGE.build(0, both))
    assert "Nothing matches these filters." in none.text
    # By reseller alone, then by kind.
    alice = Filters(reseller_id=logged["alice"])
    hers = await _tap(fake_api, boss, none, PAGE.build(0, alice))
    assert "(11, page 1 of 2)" in hers.text and "Bob" not in hers.text
    kinds = await _tap(fake_api, boss, hers, PICK.build(Pick.KIND, alice))
    registered = alice.with_kind("reseller_registered")
    assert PAGE.build(0, registered) in [data for _, data in kinds.buttons]
    assert PAGE.build(0, alice.with_kind("credit_removed")) not in [d for _, d in kinds.buttons]
    one = await _tap(fake_api, boss, kinds, PAGE.build(0, registered))
    assert "(1, page 1 of 1)" in one.text and "Reseller registered" in one.text
    cleared = await _tap(fake_api, boss, one, PAGE.build(0, Filters()))
    assert "(13, page 1 of 2)" in cleared.text and "Filtered by:" not in cleared.text


def mine_filters() -> Filters:
    return Filters(actor=f"tg:{OTHER_ADMIN_ID}")


async def test_days_are_picked_as_presets_or_typed_and_bad_dates_are_asked_again(
    db: Database, fake_api: FakeBotAPI, boss: User, logged: dict[str, int]
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    screen = await _log(fake_api, boss)
    picker = await _tap(fake_api, boss, screen, PICK.build(Pick.DATES, Filters()))
    assert "yyyy-mm-dd yyyy-mm-dd" in picker.text
    week = Filters().with_days(today - dt.timedelta(days=6), today)
    assert PAGE.build(0, week) in [data for _, data in picker.buttons]
    shown = await _tap(fake_api, boss, picker, PAGE.build(0, Filters().with_days(today, today)))
    assert "(13, page 1 of 2)" in shown.text and "📅" in shown.text
    # Typed: a day that does not exist, reversed days and words are asked again.
    picker = await _tap(fake_api, boss, shown, PICK.build(Pick.DATES, Filters()))
    for typed, says in (
        ("2026-02-30 2026-03-01", "does not exist"),
        ("2026-03-02 2026-03-01", "first date is after"),
        ("last week", "Send two dates like"),
    ):
        await fake_api.send(boss, typed)
        again = await fake_api.next_event(boss.id)
        assert again.message["message_id"] == picker.message["message_id"]
        assert says in again.text and "yyyy-mm-dd yyyy-mm-dd" in again.text
    await fake_api.send(boss, "۲۰۲۰-۰۱-۰۱ 2020-01-31")  # Persian digits too
    old = await fake_api.next_event(boss.id)
    assert "(0, page 1 of 1)" in old.text and "Nothing matches these filters." in old.text
    # The flow ended with the answer: dates typed now are not taken for the log.
    await fake_api.send(boss, f"{today - dt.timedelta(days=1)} {today}")
    stray = await fake_api.next_event(boss.id)
    assert stray.method == "sendMessage" and "📜" not in stray.text


async def test_an_unknown_kind_from_a_later_version_still_shows(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    async with db.transaction() as session:
        session.add(AdminAction(actor="tg:5", action="time_travel", created_at=now()))
    screen = await _log(fake_api, boss)
    assert "Other action (time_travel)" in screen.text and "<code>5</code>" in screen.text


async def test_a_staff_admin_needs_the_reports_permission_and_a_reseller_gets_nothing(
    db: Database, fake_api: FakeBotAPI, boss: User, logged: dict[str, int]
) -> None:
    await roles.add_staff(
        db, telegram_id=STAFF_ID, name="Sam", permissions={Permission.CREDITS},
        owner_ids={ADMIN_ID}, actor=f"tg:{ADMIN_ID}", now=now(),
    )  # fmt: skip
    sam = fake_api.user(STAFF_ID, "Sam")
    refused = await _log(fake_api, sam)
    assert "📜" not in refused.text and "Alice" not in refused.text
    await fake_api.send(sam, "/start")
    menu = await fake_api.next_event(sam.id)
    assert keyboards.ADMIN_LOG not in [data for _, data in menu.buttons]
    for data in (keyboards.ADMIN_LOG, PICK.build(Pick.ADMIN, Filters())):
        query = await fake_api.tap(sam, menu, data)
        answer = await fake_api.answer(query)
        assert answer.get("show_alert") and "Alice" not in answer.get("text", "")
    alice = fake_api.user(1001, "Alice")
    await fake_api.send(alice, "📜 Action log")  # the button's text, typed
    stray = await fake_api.next_event(alice.id)
    assert "Action log" not in stray.text and "Bob" not in stray.text
    # Allowed reports, the same staff admin sees it, named in the log as who added them.
    await roles.set_permission(
        db, telegram_id=STAFF_ID, permission=Permission.REPORTS, allowed=True,
        actor=f"tg:{ADMIN_ID}", now=now(),
    )  # fmt: skip
    allowed = await _log(fake_api, sam)
    assert "Staff permissions changed" in allowed.text and "Sam" in allowed.text


@pytest.mark.parametrize(
    "data",
    [
        "alg:0:x::::",  # an admin that is not an id
        "alg:0:::::20261399:",  # a day that does not exist
        "alg:0::::20260105:20260101",  # days reversed
        "alp:k:::99::",  # a kind this version does not know
        "alp:d::::2026010:",  # a day too short
        "alp:z:::::",  # no such picker
        "alg:9999999:::::",  # a page number too long
        "alg:" + "9" * 60,
    ],
)
async def test_a_forged_or_garbled_log_button_is_refused_and_shows_nothing(
    db: Database, fake_api: FakeBotAPI, boss: User, logged: dict[str, int], data: str
) -> None:
    screen = await _log(fake_api, boss)
    answer = await fake_api.answer(await fake_api.tap(boss, screen, data))
    assert answer.get("show_alert") and "out of date" in answer["text"]
    await _nothing_else(fake_api, boss)


def test_the_filters_travel_whole_in_at_most_64_bytes() -> None:
    widest = Filters(
        actor="tg:" + "9" * 19, reseller_id=9_999_999_999, kind="panel_customers_resumed",
        first=dt.date(2026, 1, 1), last=dt.date(2026, 12, 31),
    )  # fmt: skip
    for chosen in (Filters(), Filters(actor="cli"), widest):
        data = PAGE.build(999_999, chosen)
        assert len(data.encode()) <= keyboards.MAX_CALLBACK_BYTES
        match = re.match(PAGE.pattern(), data)
        assert match is not None
        assert Filters.decode(match.groups()[1:]) == chosen
        assert re.match(PICK.pattern(Pick.DATES), PICK.build(Pick.DATES, chosen))
