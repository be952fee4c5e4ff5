"""The customers feature's lists at Telegram's length limit, through the fake Bot API
(which refuses a message over 4,096 characters, counted as Telegram counts them)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.context import BotApplication
from bot.db import Database
from bot.services import plans, sales
from bot.services.provisioning import LocalProvider
from handlers import pages
from models import Customer, CustomerStatus
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import key, make_reseller, now
from tests.test_bot_customers import _tap

# 100 characters, each two UTF-16 code units: the longest plan name, as Telegram counts it.
LONG_PLAN = "📺" * 100


async def test_the_status_history_pages_by_length_and_every_entry_is_reachable(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, credit=1_000_000)
    plan = await plans.add_plan(db, code="long", name=LONG_PLAN, days=30, price=100)
    sold = await sales.sell(
        db, LocalProvider(), telegram_id=1001, plan_id=plan.id, key=key(), now=now(),
        provider_seconds=5, username="carol",
    )  # fmt: skip
    for _ in range(30):
        await sales.sell(
            db, LocalProvider(), telegram_id=1001, plan_id=plan.id, key=key(), now=now(),
            provider_seconds=5, customer_id=sold.customer.id,
        )  # fmt: skip
    carol = fake_api.user(5001, "Carol")
    await fake_api.send(carol, f"/start {sold.customer.link_token}")
    shown = await fake_api.next_event(carol.id)
    assert "Linked!" in shown.text
    entries: list[str] = []
    for page in range(1, 10):
        assert f"(page {page} of 3)" in shown.text, shown.text
        lines = [x for x in shown.text.split("\n") if x.startswith("• ")]
        entries += lines
        if page == 3:
            assert [label for label, _ in shown.buttons if "Older" in label] == []
            break
        # Filled up to the limit, not to a count: one more entry would not have fitted.
        assert 4096 - pages.length(lines[0]) < pages.length(shown.text) <= 4096
        await _tap(fake_api, carol, shown, shown.key("Older ▶️"))
        shown = await fake_api.next_event(carol.id)
    assert len(entries) == len(set(entries)) == 31  # the activation and 30 renewals
    assert "activation" in entries[-1] and all("renewal" in e for e in entries[:-1])
    untils = [re.search(r"until (\S+)$", e).group(1) for e in entries]  # type: ignore[union-attr]
    assert untils == sorted(untils, reverse=True)  # newest first
    await _tap(fake_api, carol, shown, shown.key("◀️ Newer"))
    assert "(page 2 of 3)" in (await fake_api.next_event(carol.id)).text


async def _many_customers(db: Database, count: int) -> list[str]:
    """``count`` customers of reseller 1001 with the longest usernames, straight into the
    database (the list only reads them)."""
    reseller = await make_reseller(db, 1001, credit=10_000)
    plan = await plans.add_plan(db, code="m1", name="IPTV 1 month", days=30, price=1_000)
    names = [f"{i:03d}" + "x" * 29 for i in range(count)]
    async with db.transaction() as session:
        for i, name in enumerate(names):
            session.add(
                Customer(
                    reseller_id=reseller.id, username=name, plan_id=plan.id,
                    expires_at=now() + dt.timedelta(days=10 + i), status=CustomerStatus.ACTIVE,
                )
            )  # fmt: skip
    return names


@pytest.mark.parametrize("command", ["/customers", "/customers xxxx"])
async def test_a_page_of_customers_past_the_limit_is_cut_to_fit_and_keeps_every_button(
    bot: BotApplication,
    fake_api: FakeBotAPI,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    # Eighty of the longest lines (the real page is eight) come to about 4,600 characters.
    monkeypatch.setattr("handlers.sale.views.PAGE_SIZE", 80)
    names = await _many_customers(db, 80)
    alice = fake_api.user(1001, "Alice")
    await fake_api.send(alice, command)
    listing = await fake_api.next_event(alice.id)
    assert "<b>Customers</b>" in listing.text and "(80)" in listing.text
    assert pages.TEXT_LIMIT - 100 < pages.length(listing.text) <= pages.TEXT_LIMIT
    assert len([x for x in listing.text.split("\n") if x.startswith("• ")]) == 80
    labels = [label for label, _ in listing.buttons]
    assert all(name in labels for name in names)


async def test_the_renewal_picker_at_the_limit_lists_customers_as_buttons_within_it(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("handlers.sale.views.PAGE_SIZE", 80)
    names = await _many_customers(db, 80)
    alice = fake_api.user(1001, "Alice")
    await fake_api.send(alice, "/renew")
    picker = await fake_api.next_event(alice.id)
    assert "page 1 of 1" in picker.text and pages.length(picker.text) <= pages.TEXT_LIMIT
    assert [label.split(" · ")[0] for label, _ in picker.buttons[:80]] == names
    # The longest search a user can send is clipped, escaped, and the screen still fits.
    await fake_api.send(alice, "<&📺" * 1365)
    found = await fake_api.next_event(alice.id)
    assert "No customers matching" in found.text
    assert pages.length(found.text) <= pages.TEXT_LIMIT
