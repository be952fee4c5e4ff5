"""📊 Charts in chat, end to end on the known ledger (tests/chart_ledger.py): an admin asks
for last month's sales chart from the admin menu and gets a picture whose caption has the
ledger's figures, then the same numbers as a table, once; a reseller opens its charts from
its balance and /charts, a parent with or without its sub-resellers; a forged button for
another reseller's data or an admin chart is refused and draws nothing; /charts is in the
command menus and /help; ``python -m bot chart`` prints what the chat shows."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from bot import cli, keyboards
from bot.context import BotApplication
from bot.db import Database
from bot.services.charts_data import Chart, Step, Window
from handlers.admin import callbacks as admin_callbacks
from handlers.charts import callbacks as buttons
from handlers.charts.callbacks import Drawing, Whose
from tests.chart_ledger import ALPHA, BRAVO, ECHO, NOW, world
from tests.conftest import ADMIN_ID, database_from_url
from tests.fake_bot_api import Event, FakeBotAPI, User, visible_text
from tests.helpers import say, tap

EVERYONE = Whose(0, True)


def _at_now(bot: BotApplication) -> None:
    bot.bot_data["clock"] = lambda: NOW


async def _photo(fake_api: FakeBotAPI, user: User) -> tuple[Event, bytes]:
    sent = await fake_api.next_event(user.id)
    assert sent.method == "sendPhoto", sent
    content = fake_api.file_content(sent.message["photo"][-1]["file_id"])
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(content)) as image:
        image.verify()
    return sent, content


async def test_an_admin_gets_last_months_sales_chart_and_its_table(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI
) -> None:
    await world(db)
    _at_now(bot)
    boss = fake_api.user(ADMIN_ID, "Boss")
    menu = await say(fake_api, boss, "/start")
    which = await tap(fake_api, boss, menu, keyboards.CHARTS)
    assert "Charts" in which.text
    assert [data for _, data in which.buttons][:3] == [
        buttons.PICK.build(Chart.SALES, EVERYONE),
        buttons.PICK.build(Chart.CREDITS, EVERYONE),
        buttons.PICK.build(Chart.TOP, EVERYONE),
    ]
    prompt = await tap(fake_api, boss, which, buttons.PICK.build(Chart.SALES, EVERYONE))
    assert "Which period?" in prompt.text
    last_month = Drawing(Chart.SALES, Window.LAST_MONTH, Step.DAY, EVERYONE)
    await fake_api.answer(await fake_api.tap(boss, prompt, buttons.PICTURE.build(last_month)))
    photo, _ = await _photo(fake_api, boss)
    assert photo.text.split("\n") == [
        "📊 <b>Sales</b>, 2026-10-01 to 2026-10-31",
        "Activations: 3 (period before: 1, +200%)",
        "Renewals: 1 (period before: 0)",
        "Amount: 40.00 credits (period before: 10.00 credits, +300%)",
    ]
    weekly = Drawing(Chart.SALES, Window.LAST_MONTH, Step.WEEK, EVERYONE)
    assert buttons.PICTURE.build(weekly) in [data for _, data in photo.buttons]
    table = await tap(fake_api, boss, photo, buttons.TABLE.build(last_month))
    rows = [line.split() for line in visible_text(table.text, "HTML").split("\n")]
    assert ["10-06", "1", "1", "20.00"] in rows and ["10-28", "1", "0", "10.00"] in rows
    assert rows[-1] == ["Total", "3", "1", "40.00"]
    # The same table button again: told so, nothing sent twice.
    again = await fake_api.answer(await fake_api.tap(boss, photo, buttons.TABLE.build(last_month)))
    assert str(again.get("text")).startswith("That was already sent")
    # Another step from under the picture: a new picture, weekly.
    await fake_api.answer(await fake_api.tap(boss, photo, buttons.PICTURE.build(weekly)))
    await _photo(fake_api, boss)
    # Back to the charts from under a picture: a new message (a photo cannot become text).
    back = await tap(fake_api, boss, photo, buttons.MENU.build(EVERYONE))
    assert back.method == "sendMessage" and "Charts" in back.text
    await asyncio.sleep(0.2)
    assert fake_api.unread(boss.id) == []


async def test_a_parent_sees_its_charts_with_or_without_its_sub_resellers(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI
) -> None:
    await world(db)
    _at_now(bot)
    alpha = fake_api.user(ALPHA, "Alpha")
    balance = await say(fake_api, alpha, "/balance")
    which = await tap(fake_api, alpha, balance, keyboards.CHARTS)
    offered = [data for _, data in which.buttons]
    assert buttons.PICK.build(Chart.BALANCE, EVERYONE) in offered
    assert buttons.PICK.build(Chart.CREDITS, EVERYONE) not in offered
    alone = Whose(0, False)
    assert buttons.MENU.build(alone) in offered  # the sub-resellers switch
    states = Drawing(Chart.STATES, Window.NEXT_30, Step.DAY, EVERYONE)
    await fake_api.answer(await fake_api.tap(alpha, which, buttons.PICTURE.build(states)))
    photo, _ = await _photo(fake_api, alpha)
    # a.one, a.two, a.three and Bravo's b.one
    assert photo.text.split("\n")[1:] == ["Customers: 4", "active: 1", "expired: 3"]
    only_me = await tap(fake_api, alpha, which, buttons.MENU.build(alone))
    mine = Drawing(Chart.STATES, Window.NEXT_30, Step.DAY, alone)
    await fake_api.answer(await fake_api.tap(alpha, only_me, buttons.PICTURE.build(mine)))
    photo, _ = await _photo(fake_api, alpha)
    assert "Customers: 3" in photo.text
    echo = fake_api.user(ECHO, "Echo")
    listed = await say(fake_api, echo, "/charts")
    assert buttons.PICK.build(Chart.SALES, EVERYONE) in [data for _, data in listed.buttons]
    assert buttons.MENU.build(alone) not in [data for _, data in listed.buttons]  # no children


async def test_a_forged_chart_button_is_refused_and_draws_nothing(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI
) -> None:
    await world(db)
    _at_now(bot)
    echo = fake_api.user(ECHO, "Echo")
    shown = await say(fake_api, echo, "/charts")
    alphas = Whose(ALPHA, True)
    forged = [
        buttons.MENU.build(alphas),
        buttons.PICK.build(Chart.SALES, alphas),
        buttons.PICTURE.build(Drawing(Chart.SALES, Window.LAST_MONTH, Step.DAY, alphas)),
        buttons.TABLE.build(Drawing(Chart.BALANCE, Window.DAYS_30, Step.DAY, Whose(BRAVO, True))),
        buttons.PICTURE.build(Drawing(Chart.CREDITS, Window.LAST_MONTH, Step.DAY, EVERYONE)),
        buttons.PICK.build(Chart.DEBT, EVERYONE),
    ]
    for data in forged:
        answer = await fake_api.answer(await fake_api.tap(echo, shown, data))
        assert answer.get("text") == "You may not see that chart.", data
    nonsense = Drawing(Chart.SALES, Window.NEXT_30, Step.DAY, EVERYONE)  # no such button
    tapped = await fake_api.tap(echo, shown, buttons.PICTURE.build(nonsense))
    assert (await fake_api.answer(tapped)).get("text") == "That button is no longer valid."
    stranger = fake_api.user(4242, "Eve")
    await say(fake_api, stranger, "/charts")
    tapped = await fake_api.tap(stranger, shown, buttons.MENU.build(EVERYONE))
    answer = await fake_api.answer(tapped)
    assert answer.get("text") == "You may not see that chart."
    await asyncio.sleep(0.2)
    assert fake_api.unread(echo.id) == []
    assert all(e.method != "sendPhoto" for e in fake_api.events(echo.id))


async def test_charts_is_in_the_command_menus_and_help(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI
) -> None:
    await world(db)
    boss = fake_api.user(ADMIN_ID, "Boss")
    assert "/charts - " in (await say(fake_api, boss, "/help")).text
    alpha = fake_api.user(ALPHA, "Alpha")
    assert "/charts - " in (await say(fake_api, alpha, "/help")).text
    for commands in fake_api.command_menus.values():
        names = [c["command"] for c in commands]
        assert len(names) == len(set(names)), names


async def test_the_chats_table_matches_python_m_bot_chart(
    bot: BotApplication,
    db: Database,
    fake_api: FakeBotAPI,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await world(db)
    _at_now(bot)
    boss = fake_api.user(ADMIN_ID, "Boss")
    shown = await say(fake_api, boss, "/charts")
    monthly = Drawing(Chart.CREDITS, Window.LAST_MONTH, Step.WEEK, EVERYONE)
    await fake_api.answer(await fake_api.tap(boss, shown, buttons.PICTURE.build(monthly)))
    photo, _ = await _photo(fake_api, boss)
    table = await tap(fake_api, boss, photo, buttons.TABLE.build(monthly))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setattr("bot.db.Database.from_url", staticmethod(database_from_url))
    args = ["chart", "credits", "--period", "lm", "--step", "w", "--today", "2026-11-15"]
    assert await asyncio.to_thread(cli.main, args) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(visible_text(photo.text, "HTML") + "\n\n")
    assert printed.endswith(visible_text(table.text, "HTML") + "\n")
    rows = [line.split() for line in printed.splitlines()]
    assert ["10-26", "0.00", "10.00", "50.00"] in rows  # the week from Monday 10-26
    assert ["Total", "220.00", "40.00", "50.00"] in rows
    args = ["chart", "balance", "--reseller", "4242"]
    assert await asyncio.to_thread(cli.main, args) == 1
    assert "no reseller" in capsys.readouterr().err


async def test_an_admin_sees_one_resellers_balance_from_its_card(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI
) -> None:
    await world(db)
    _at_now(bot)
    boss = fake_api.user(ADMIN_ID, "Boss")
    menu = await say(fake_api, boss, "/start")
    await fake_api.answer(await fake_api.tap(boss, menu, admin_callbacks.CARD.build(ECHO)))
    card = await fake_api.next_event(boss.id)
    echos = Whose(ECHO, True)
    which = await tap(fake_api, boss, card, buttons.MENU.build(echos))
    assert "Charts: Echo" in which.text
    assert buttons.PICK.build(Chart.CREDITS, echos) not in [d for _, d in which.buttons]
    prompt = await tap(fake_api, boss, which, buttons.PICK.build(Chart.BALANCE, echos))
    october = Drawing(Chart.BALANCE, Window.LAST_MONTH, Step.DAY, echos)
    await fake_api.answer(await fake_api.tap(boss, prompt, buttons.PICTURE.build(october)))
    photo, _ = await _photo(fake_api, boss)
    assert photo.text.split("\n")[1:] == [
        "At the end: -10.00 credits",  # e.one sold on credit on 10-28
        "At the start: 0.00 credits",
    ]
