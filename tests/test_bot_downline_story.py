"""Issue 13's story as a new business would try it, all in chat: an admin allows reseller
Alpha sub-resellers; Alpha registers Bravo, prices Bravo's plan above its own cost and
gives Bravo 30 credits; Bravo activates a customer at Bravo's price (Alpha earns the
difference); Alpha's screens show Bravo's balance and sale; Alpha sends 10 credits to
reseller Charlie; then the operator's ``python -m bot audit`` passes."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.context import BotApplication
from bot.db import Database
from bot.services import ledger, plans
from handlers.downline import callbacks as downline_buttons
from models import CreditTransfer, Reseller, SubscriptionOrder, TransferKind, TxType
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller, say, tap
from tests.test_bot_admin_story import _audit
from tests.test_bot_downline import _enable, _form

A, B, C = 4001, 4002, 4003


async def _available(db: Database, telegram_id: int) -> int:
    async with db.transaction() as session:
        reseller = await session.scalar(select(Reseller).where(Reseller.telegram_id == telegram_id))
        assert reseller is not None
        account = await ledger.reseller_account_id(session, reseller.id)
        return (await ledger.balance(session, account)).available


async def test_a_parent_registers_prices_funds_and_sees_its_sub_reseller_then_transfers(
    bot: BotApplication,
    db: Database,
    fake_api: FakeBotAPI,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await make_reseller(db, A, name="Alpha", credit=10_000)
    await make_reseller(db, C, name="Charlie", username="charlie_shop")
    await plans.add_plan(db, code="m1", name="1 month", days=30, price=1_000)
    boss = fake_api.user(ADMIN_ID, "Boss")
    alpha = fake_api.user(A, "Alpha")
    bravo = fake_api.user(B, "Bravo")
    await say(fake_api, bravo, "/start")  # Bravo has started the bot

    # 1. The admin allows Alpha one level of sub-resellers, from Alpha's card.
    assert "Sub-reseller levels set to 1" in (await _enable(fake_api, boss, A, 1)).text

    # 2. Alpha registers Bravo by typed id, from the menu's Sub-resellers button.
    menu = await say(fake_api, alpha, "/start")
    listing = await tap(fake_api, alpha, menu, menu.button("👥 Sub-resellers"))
    await fake_api.answer(await fake_api.tap(alpha, listing, downline_buttons.NEW.build()))
    await fake_api.next_event(A)  # who? (the user picker, or a typed id)
    await fake_api.send(alpha, str(B))
    await fake_api.next_event(A)  # chosen (the picker's keyboard taken away)
    assert "What is the name of" in (await fake_api.next_event(A)).text
    assert "threshold" in (await say(fake_api, alpha, "Bravo")).text
    summary = await say(fake_api, alpha, "0")
    save = next(d for _, d in summary.buttons if d.startswith("dl:ns:"))
    card = await tap(fake_api, alpha, summary, save)
    assert "Registered" in card.text

    # 3. Alpha prices Bravo's plan at 12.00 (its own cost is 10.00) and puts Bravo on it.
    listing = await say(fake_api, alpha, "/subresellers")
    home = await tap(fake_api, alpha, listing, listing.button("🏷 Prices"))
    assert "1 month: 10.00 credits" in home.text
    await tap(fake_api, alpha, home, home.button("New price list"))
    await say(fake_api, alpha, "For Bravo")
    prices = await say(fake_api, alpha, "0")  # no percentage off
    await tap(fake_api, alpha, prices, prices.button("1 month"))
    assert "now costs 12.00 credits" in (await say(fake_api, alpha, "12")).text
    home = await say(fake_api, alpha, "/prices")
    chooser = await tap(fake_api, alpha, home, home.button("Bravo:"))
    assert (
        "Bravo is now on For Bravo"
        in (await tap(fake_api, alpha, chooser, chooser.button("For Bravo"))).text
    )

    # 4. Alpha gives Bravo 30 credits.
    listing = await say(fake_api, alpha, "/subresellers")
    card = await tap(fake_api, alpha, listing, downline_buttons.CARD.build(B))
    form = await _form(fake_api, alpha, card, "add", TxType.PURCHASE)
    form = await say(fake_api, alpha, "30")
    form = await tap(fake_api, alpha, form, downline_buttons.SKIP.build(B))
    summary = await tap(fake_api, alpha, form, downline_buttons.SKIP.build(B))
    save = next(d for _, d in summary.buttons if d.startswith("dl:as:"))
    assert "Gave 30.00 credits" in (await tap(fake_api, alpha, summary, save)).text

    # 5. Bravo activates a customer at Bravo's price.
    await say(fake_api, bravo, "/activate")
    picker = await say(fake_api, bravo, "bravo.viewer")
    confirm = await tap(fake_api, bravo, picker, picker.button("1 month"))
    assert "12.00 credits" in confirm.text
    done = await tap(fake_api, bravo, confirm, confirm.key("✅ Confirm"))
    assert "bravo.viewer" in done.text
    async with db.transaction() as session:
        assert list(await session.scalars(select(SubscriptionOrder.price))) == [1_200]

    # 6. Alpha sees Bravo's balance and the sale.
    listing = await say(fake_api, alpha, "/subresellers")
    assert "Bravo: balance 18.00 credits" in listing.text
    card = await tap(fake_api, alpha, listing, downline_buttons.CARD.build(B))
    assert "Sales this month: 1 (12.00 credits)" in card.text
    sales = await tap(fake_api, alpha, card, downline_buttons.SALES.build(B, 0))
    assert "bravo.viewer" in sales.text
    history = (await say(fake_api, alpha, "/history")).text
    assert "+2.00" in history and "Margin on a sub-reseller's sale" in history

    # 7. Alpha sends 10 credits to Charlie, another reseller.
    menu = await say(fake_api, alpha, "/start")
    await tap(fake_api, alpha, menu, menu.button("💸 Transfer"))
    await say(fake_api, alpha, "@charlie_shop")
    note = await say(fake_api, alpha, "10")
    check = await tap(fake_api, alpha, note, note.button("⏭ Skip"))
    assert "Charlie" in check.text and "Alpha" in check.text
    send = next(d for _, d in check.buttons if d.startswith("xf:send:"))
    await tap(fake_api, alpha, check, send)
    # Alpha earned its margin on Bravo's sale: 12.00 paid, 10.00 its own price.
    assert await _available(db, A) == 10_000 - 3_000 + 200 - 1_000
    assert await _available(db, B) == 3_000 - 1_200
    assert await _available(db, C) == 1_000
    async with db.transaction() as session:
        kinds = list(await session.scalars(select(CreditTransfer.kind).order_by(CreditTransfer.id)))
    assert kinds == [TransferKind.ALLOCATE, TransferKind.TRANSFER]

    # 8. The operator's audit on the same database.
    assert await asyncio.to_thread(_audit, monkeypatch, database_url) == 0
    assert "Ledger audit OK" in capsys.readouterr().out
