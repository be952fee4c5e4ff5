"""The sale feature in the reader's language: a Persian reseller walks /activate and every
reply is the catalog's, amounts in Persian digits, the Latin username kept whole; the
buttons' data round-trips through their codecs; every code a service raises has words."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from bot import i18n, keyboards
from bot.context import BotApplication
from bot.db import Database
from bot.services import plans
from bot.services.customers import Filter
from handlers.reader import Reader
from handlers.sale import callbacks, views
from tests.fake_bot_api import FakeBotAPI, User
from tests.helpers import make_reseller

CATALOGS = i18n.load()
FA = CATALOGS.get("fa")
CURRENCY = "credits"
ISOLATED = f"{i18n.FSI}john.doe{i18n.PDI}"


@pytest.fixture
async def parisa(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, 1001, name="Parisa", credit=500_000)
    await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=105_000)
    user = fake_api.user(1001, "Parisa")
    user.language_code = "fa"
    return user


async def test_a_persian_reseller_activates_in_persian_with_persian_digits(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, parisa: User
) -> None:
    await fake_api.send(parisa, "/activate")
    ask = await fake_api.next_event(parisa.id)
    r = Reader(FA, CURRENCY, ZoneInfo("UTC"))
    assert ask.text == views.ask_username(r)[0]
    assert [data for _, data in ask.buttons] == [callbacks.CANCEL.build()]

    await fake_api.send(parisa, "John.Doe")
    picker = await fake_api.next_event(parisa.id)
    title = FA._("<b>New customer: {username}</b>", username=ISOLATED)
    assert picker.text.startswith(title) and FA._("Pick a plan:") in picker.text
    plan_button = next(data for _, data in picker.buttons if data.startswith("cu:p:"))

    await fake_api.answer(await fake_api.tap(parisa, picker, plan_button))
    confirm = await fake_api.next_event(parisa.id)
    assert FA.amount(105_000, CURRENCY) in confirm.text
    assert "۱٬۰۵۰٫۰۰" in confirm.text and "1,050.00" not in confirm.text
    assert FA.amount(500_000, CURRENCY) in confirm.text  # available now
    assert "۵٬۰۰۰٫۰۰" in confirm.text
    assert ISOLATED in confirm.text
    expiry = FA.date(dt.datetime.now(dt.UTC) + dt.timedelta(days=30), ZoneInfo("UTC"))
    assert expiry in confirm.text and re.search("[۰-۹]{4}-", confirm.text)

    confirm_data = next(data for _, data in confirm.buttons if data.startswith("cu:c:"))
    answer = await fake_api.answer(await fake_api.tap(parisa, confirm, confirm_data))
    assert answer["text"] == FA._("Working on it…")
    done = await fake_api.next_event(parisa.id)
    head = done.text.split("\n")[0]
    assert head.startswith(FA._("✅ <b>{username} activated</b> until {expiry}",
                                username=ISOLATED, expiry=expiry))  # fmt: skip
    assert FA._("Charged: {price} · available now {available}",
                price=FA.amount(105_000, CURRENCY),
                available=FA.amount(395_000, CURRENCY)) in done.text  # fmt: skip
    assert "۳٬۹۵۰٫۰۰" in done.text


def test_every_button_family_builds_data_its_pattern_routes_and_parses_back() -> None:
    cases: list[tuple[str, str]] = [
        (callbacks.ACTIVATE.build(), callbacks.ACTIVATE.pattern()),
        (callbacks.RENEW.build(), callbacks.RENEW.pattern()),
        (callbacks.CANCEL.build(), callbacks.CANCEL.pattern()),
        (callbacks.CARD.build(123456789), callbacks.CARD.pattern()),
        (callbacks.CONFIRM.build("a-b_c"), callbacks.CONFIRM.pattern()),
        (callbacks.LIST.build(Filter.EXPIRING, 3), callbacks.LIST.pattern()),
        (callbacks.RENEW_REQUESTED.build(7, 9), callbacks.RENEW_REQUESTED.pattern()),
        (callbacks.CUSTOMER_PAGE.build(2), callbacks.CUSTOMER_PAGE.pattern()),
    ]
    for data, pattern in cases:
        assert re.fullmatch(pattern.strip("^$"), data), (data, pattern)
    assert re.match(callbacks.LIST.pattern(), "cu:l:expiring:3").groups() == ("expiring", "3")  # type: ignore[union-attr]
    assert re.match(callbacks.CARD.pattern(), "cu:v:1:2") is None
    assert re.match(callbacks.LIST.pattern(), "cu:l:nope:0") is None
    # The menu's buttons are the ones these codecs route.
    assert callbacks.ACTIVATE.build() == keyboards.SALE_NEW
    assert callbacks.RENEW.build() == keyboards.SALE_RENEW
    assert callbacks.LIST.build(Filter.ALL, 0) == keyboards.SALE_CUSTOMERS


@pytest.mark.parametrize(
    "code",
    ["no_such_customer", "suspended", "username_invalid", "username_taken", "plan_unavailable",
     "sale_in_progress", "renewal_in_progress", "sale_in_doubt", "earlier_sale_failed",
     "panel_missing", "panel_disabled", "panel_down", "panel_username_taken",
     "panel_credentials", "panel_refused", "panel_no_answer", "provider_refused",
     "provider_timeout"],
)  # fmt: skip
def test_every_sale_error_code_has_its_own_words_with_its_values_escaped(code: str) -> None:
    r = Reader(i18n.SOURCE, CURRENCY, ZoneInfo("UTC"))
    fallback = views.error("no-such-code", {}, r)
    text = views.error(code, {"username": "a<b", "panel": "de-1", "status": 500}, r)
    assert text != fallback
    assert "a<b" not in text
