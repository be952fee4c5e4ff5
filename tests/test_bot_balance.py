"""/balance and /history journeys, and who may see what."""

from __future__ import annotations

import datetime as dt

from bot.context import BotApplication
from bot.db import Database
from bot.services import ledger_holds, ledger_postings, wallet
from models import Billing, EntryKind, TxType
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import FakeBotAPI, units, visible_text
from tests.helpers import assert_audit_ok, key, make_reseller, now


async def test_balance_shows_held_available_expiring_and_threshold(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    alice = await make_reseller(db, 1001, threshold=5_000, credit=10_000)
    soon = now() + dt.timedelta(days=10)
    await wallet.add_credit(
        db,
        telegram_id=1001,
        amount=2_050,
        tx_type=TxType.PURCHASE,
        actor="test",
        key=key(),
        now=now(),
        expires_at=soon,
    )
    await wallet.add_credit(  # expires beyond the 30-day window: not listed
        db,
        telegram_id=1001,
        amount=100,
        tx_type=TxType.PURCHASE,
        actor="test",
        key=key(),
        now=now(),
        expires_at=now() + dt.timedelta(days=60),
    )
    async with db.transaction() as session:
        await ledger_holds.place_hold(
            session,
            account_id=alice.account_id,
            amount=1_000,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key="h",
        )
    user = fake_api.user(1001, "Alice")
    await fake_api.send(user, "/balance")
    text = (await fake_api.next_event(user.id)).text
    assert "Balance: 121.50 credits" in text
    assert "Held for pending sales: 10.00 credits" in text
    assert "Available: <b>111.50 credits</b>" in text
    # The hold reserves 10.00 of the soonest-expiring grant: 10.50 of it is left to expire.
    assert f"10.50 credits on {soon:%Y-%m-%d}" in text
    assert "1.00 credits on" not in text
    assert "Low-balance alert below: 50.00 credits" in text
    assert "Collection limit" not in text
    assert "below your low-balance threshold" not in text


async def test_postpaid_balance_shows_limit_and_what_is_owed(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    bob = await make_reseller(db, 1002, billing=Billing.POSTPAID, credit_limit=50_000)
    async with db.transaction() as session:
        await ledger_postings.spend(
            session,
            account_id=bob.account_id,
            amount=12_000,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key="s",
        )
    user = fake_api.user(1002, "Bob")
    await fake_api.send(user, "/balance")
    text = (await fake_api.next_event(user.id)).text
    assert "Balance: -120.00 credits" in text
    assert "Collection limit: 500.00 credits" in text
    assert "Owed: 120.00 credits" in text
    assert "Can still spend: 380.00 credits" in text


async def test_balance_and_history_refused_to_strangers(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, credit=10_000)
    eve = fake_api.user(4242, "Eve")
    await fake_api.send(eve, "/balance")
    assert "not registered" in (await fake_api.next_event(eve.id)).text
    await fake_api.send(eve, "/history")
    assert "not registered" in (await fake_api.next_event(eve.id)).text
    # A stranger replaying a reseller's buttons sees nothing of theirs.
    await fake_api.send(eve, "/start")
    menu = await fake_api.next_event(eve.id)
    answer = await fake_api.answer(await fake_api.tap(eve, menu, "bal"))
    assert "not registered" in answer["text"]
    answer = await fake_api.answer(await fake_api.tap(eve, menu, "hist:0"))
    assert "not registered" in answer["text"]
    assert fake_api.unread(eve.id) == []


async def test_history_pages_through_own_movements_only(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    alice = await make_reseller(db, 1001, credit=100_000)
    await make_reseller(db, 1002, name="Bob", credit=777)
    async with db.transaction() as session:
        for i in range(12):
            await ledger_postings.spend(
                session,
                account_id=alice.account_id,
                amount=100 + i,
                kind=EntryKind.RENEWAL,
                actor="test",
                key=f"r{i}",
                comment="<b>sale</b>",
            )
    user = fake_api.user(1001, "Alice")
    await fake_api.send(user, "/history")
    first = await fake_api.next_event(user.id)
    assert "page 1 of 2" in first.text
    assert "-1.11" in first.text and "Renewal" in first.text
    assert "&lt;b&gt;sale&lt;/b&gt;" in first.text
    assert "7.77" not in first.text  # Bob's grant is not Alice's
    tap = await fake_api.tap(user, first, first.key("Older ▶️"))
    await fake_api.answer(tap)
    second = await fake_api.next_event(user.id)
    assert second.method == "editMessageText" and "page 2 of 2" in second.text
    assert "+1,000.00" in second.text  # grouped as English writes it
    # A forged page number past the end shows the last page, never an error.
    tap = await fake_api.tap(user, second, "hist:999999")
    await fake_api.answer(tap)
    assert fake_api.unread(user.id) == []  # same screen: nothing to edit
    await assert_audit_ok(db)


async def test_admin_screens_are_for_admins_only(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, name="Alice", credit=2_500)
    admin = fake_api.user(ADMIN_ID, "Boss")
    await fake_api.send(admin, "/start")
    menu = await fake_api.next_event(admin.id)
    await fake_api.answer(await fake_api.tap(admin, menu, menu.key("👥 Resellers")))
    listing = await fake_api.next_event(admin.id)
    assert "Alice (<code>1001</code>): 25.00 credits available" in listing.text
    await fake_api.answer(await fake_api.tap(admin, listing, "menu"))
    menu = await fake_api.next_event(admin.id)
    await fake_api.answer(await fake_api.tap(admin, menu, menu.key("🧮 Ledger audit")))
    assert "Ledger audit: OK" in (await fake_api.next_event(admin.id)).text

    alice = fake_api.user(1001, "Alice")
    await fake_api.send(alice, "/start")
    alice_menu = await fake_api.next_event(alice.id)
    for forged in ("adm:res:0", "adm:audit"):
        answer = await fake_api.answer(await fake_api.tap(alice, alice_menu, forged))
        assert answer["text"] == "Only admins can do that."
    await fake_api.send(alice, "/audit")
    assert (await fake_api.next_event(alice.id)).text == "Only admins can do that."
    assert fake_api.unread(alice.id) == []


def _units(event_text: str) -> int:
    return units(visible_text(event_text, "HTML"))


async def test_balance_with_two_hundred_expiring_grants_fits_in_one_message(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, credit=10_000)
    start = now()
    for n in range(200):  # several a day for 30 days, each at its own time
        await wallet.add_credit(
            db, telegram_id=1001, amount=100 + n, tx_type=TxType.PURCHASE, actor="test",
            key=key(), now=start, expires_at=start + dt.timedelta(days=1, hours=3 * n + 1),
        )  # fmt: skip
    user = fake_api.user(1001, "Alice")
    await fake_api.send(user, "/balance")
    shown = await fake_api.next_event(user.id)
    assert shown.method == "sendMessage" and _units(shown.text) <= 4096
    assert "Available: <b>" in shown.text and "Low-balance alert below" in shown.text
    days = [line for line in shown.text.split("\n") if line.startswith("• ")]
    assert len(days) == len({line.rsplit(" on ", 1)[1] for line in days}) <= 31
    # One line a day, each the sum of that day's grants: nothing is left out.
    listed = sum(int(line[2:].split(" ")[0].replace(".", "")) for line in days)
    assert listed == sum(100 + n for n in range(200))  # all end within 26 days


async def test_history_page_with_long_comments_fits_in_one_message(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001)
    for n in range(12):
        await wallet.add_credit(
            db, telegram_id=1001, amount=100 + n, tx_type=TxType.PURCHASE, actor="test",
            key=key(), now=now(), comment=f"{n}:" + "🧾" * 252,
        )  # fmt: skip
    user = fake_api.user(1001, "Alice")
    await fake_api.send(user, "/history")
    first = await fake_api.next_event(user.id)
    assert first.method == "sendMessage" and _units(first.text) <= 4096
    assert "page 1 of 2" in first.text and first.text.endswith("Amounts in credits.")
    entries = [line for line in first.text.split("\n") if "Adjustment" in line]
    assert len(entries) == 10 and all(line.endswith("…") for line in entries)
    assert [line.split("· ")[1].split(":")[0] for line in entries] == [
        str(n) for n in range(11, 1, -1)
    ]
    await fake_api.answer(await fake_api.tap(user, first, first.key("Older ▶️")))
    second = await fake_api.next_event(user.id)
    assert "page 2 of 2" in second.text and _units(second.text) <= 4096
    assert "· 1:" in second.text and "· 0:" in second.text
