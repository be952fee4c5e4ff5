"""Sub-resellers in chat: an admin allows a reseller one level of them; the reseller
registers one through the user picker, gives it credits (Save once however often tapped;
the sub-reseller told), cannot take back more than it has nor give more than it has, and
sees its sale; a suspended parent stops its sub-resellers selling; forged buttons for a
sibling's or a parent's card are refused; a reseller without sub-resellers is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.context import BotApplication
from bot.db import Database
from bot.services import downline, ledger, plans
from bot.services.resellers import require_by_telegram_id, set_status
from bot.settings import Settings
from handlers.admin import callbacks as admin_buttons
from handlers.admin import reseller_callbacks as reseller_buttons
from handlers.downline import callbacks as buttons
from models import (
    AdminAction,
    Billing,
    CreditGrant,
    CreditTransfer,
    EntryKind,
    OutboxMessage,
    Reseller,
    ResellerStatus,
    Transfer,
    TxType,
)
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, make_reseller, now
from tests.test_jobs import drain

A, B, C, E = 4001, 4002, 4003, 4005


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    return fake_api.user(ADMIN_ID, "Boss")


@pytest.fixture
async def alpha(bot: BotApplication, db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, A, name="Alpha", credit=10_000)
    return fake_api.user(A, "Alpha")


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    assert data in [d for _, d in event.buttons], f"{data} not on {event.buttons}"
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def _refused(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> str:
    """A (forged) tap answered with an alert and nothing else."""
    answered = await fake_api.answer(await fake_api.tap(user, event, data))
    assert answered.get("show_alert"), answered
    assert fake_api.unread(user.id) == []
    return str(answered.get("text"))


async def _say(fake_api: FakeBotAPI, user: User, text: str) -> Event:
    await fake_api.send(user, text)
    return await fake_api.next_event(user.id)


async def _balance(db: Database, telegram_id: int) -> ledger.Balance:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return await ledger.balance(session, reseller.account_id)


async def _allocations(db: Database) -> int:
    async with db.transaction() as session:
        moved = await session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == EntryKind.ALLOCATION)
        )
        rows = await session.scalar(select(func.count()).select_from(CreditTransfer))
    assert moved == rows
    return moved or 0


async def _enable(fake_api: FakeBotAPI, boss: User, telegram_id: int, depth: int) -> Event:
    """The admin: /resellers, the card, Edit, Sub-reseller levels, a depth."""
    listing = await _say(fake_api, boss, "/resellers")
    card = await _tap(fake_api, boss, listing, admin_buttons.CARD.build(telegram_id))
    menu = await _tap(fake_api, boss, card, reseller_buttons.EDIT_MENU.build(telegram_id))
    levels = await _tap(fake_api, boss, menu, menu.button("Sub-reseller levels"))
    assert "How many levels of sub-resellers" in levels.text
    return await _tap(fake_api, boss, levels, buttons.DEPTH.build(telegram_id, depth))


async def _form(fake_api: FakeBotAPI, alpha: User, card: Event, action: str, tx: TxType) -> Event:
    form = await _tap(fake_api, alpha, card, buttons.CREDITS.build(B))
    assert "Add credits or remove them?" in form.text
    form = await _tap(fake_api, alpha, form, buttons.ACTION.build(B, action))
    form = await _tap(fake_api, alpha, form, buttons.TYPE.build(B, tx))
    assert "How many credits?" in form.text
    return form


async def _card(fake_api: FakeBotAPI, user: User, child: int = B) -> Event:
    listing = await _say(fake_api, user, "/subresellers")
    return await _tap(fake_api, user, listing, buttons.CARD.build(child))


async def test_the_story_enable_register_give_take_back_and_see_the_sale(
    bot: BotApplication,
    db: Database,
    settings: Settings,
    fake_api: FakeBotAPI,
    boss: User,
    alpha: User,
) -> None:
    bravo = fake_api.user(B, "Bravo", username="bravo_sells")
    await fake_api.send(bravo, "/start")  # Bravo has started the bot: not registered yet
    await fake_api.next_event(B)

    # Before the admin allows it, Alpha has no such screen.
    assert "may not have sub-resellers" in (await _say(fake_api, alpha, "/subresellers")).text
    card = await _enable(fake_api, boss, A, 1)
    assert "✅ Sub-reseller levels set to 1." in card.text
    assert "Sub-resellers: 0 (levels allowed: 1)" in card.text
    async with db.transaction() as session:
        assert await session.scalar(
            select(func.count()).select_from(AdminAction).where(
                AdminAction.action == "reseller_depth"
            )
        ) == 1  # fmt: skip

    menu = await _say(fake_api, alpha, "/start")
    listing = await _tap(fake_api, alpha, menu, menu.button("Sub-resellers"))
    assert "None yet" in listing.text
    await fake_api.answer(await fake_api.tap(alpha, listing, buttons.NEW.build()))
    ask = await fake_api.next_event(A)
    [[picker]] = ask.message["reply_keyboard"]["keyboard"]
    assert picker["request_users"]["request_id"] == buttons.PICKER
    await fake_api.send_users_shared(alpha, buttons.PICKER, [bravo])
    chosen = await fake_api.next_event(A)
    assert "Bravo" in chosen.text and chosen.message["reply_keyboard"] == {"remove_keyboard": True}
    threshold = await fake_api.next_event(A)
    assert "Low-balance threshold of <b>Bravo</b>" in threshold.text
    assert "at most two decimals" in (await _say(fake_api, alpha, "5.001")).text
    summary = await _say(fake_api, alpha, "5")
    assert "Register this sub-reseller?" in summary.text and "Type: prepaid" in summary.text
    save = next(d for _, d in summary.buttons if d.startswith("dl:ns:"))
    card = await _tap(fake_api, alpha, summary, save)
    await fake_api.answer(await fake_api.tap(alpha, summary, save))  # a second tap
    assert "✅ Registered; they have been greeted." in card.text and "Bravo" in card.text
    async with db.transaction() as session:
        row = await session.scalar(select(Reseller).where(Reseller.telegram_id == B))
        alpha_id = await session.scalar(select(Reseller.id).where(Reseller.telegram_id == A))
        greeted = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.kind == "subreseller_welcome", OutboxMessage.chat_id == B
            )
        )  # fmt: skip
    assert row is not None and row.parent_id == alpha_id and row.downline_depth == 0
    assert row.billing == Billing.PREPAID and row.low_balance_threshold == 500
    assert greeted == 1

    # Give 30: the summary shows both balances before and after; Save twice moves once.
    form = await _form(fake_api, alpha, card, "add", TxType.PURCHASE)
    assert "You have 100.00 credits available to give." in form.text
    form = await _say(fake_api, alpha, "30")
    form = await _tap(fake_api, alpha, form, buttons.SKIP.build(B))  # no comment
    summary = await _tap(fake_api, alpha, form, buttons.SKIP.build(B))  # no expiry
    assert "Balance: 100.00 credits → <b>70.00 credits</b>" in summary.text
    assert "Balance: 0.00 credits → <b>30.00 credits</b>" in summary.text
    assert (await _balance(db, B)).balance == 0
    save = next(d for _, d in summary.buttons if d.startswith("dl:as:"))
    card = await _tap(fake_api, alpha, summary, save)
    assert "✅ Gave 30.00 credits. Your balance: 100.00 credits → 70.00 credits." in card.text
    assert "already saved" in await _refused(fake_api, alpha, summary, save)
    assert await _allocations(db) == 1
    assert (await _balance(db, A)).balance == 7_000 and (await _balance(db, B)).balance == 3_000
    await drain(bot, db, settings, now())
    told = [e.text for e in fake_api.events(B)]
    assert any("Alpha has registered you as their sub-reseller" in text for text in told), told
    assert any("Alpha gave you 30.00 credits." in text for text in told), told
    while fake_api.unread(B):
        await fake_api.next_event(B)

    # Take back more than Bravo has: refused with how much can be removed.
    form = await _form(fake_api, alpha, card, "remove", TxType.ADJUSTMENT)
    assert "At most 30.00 credits can be removed." in form.text
    refused = await _say(fake_api, alpha, "31")
    assert "at most 30.00 credits can be removed" in refused.text
    assert "How many credits?" in refused.text
    await fake_api.send(alpha, "/cancel")
    await fake_api.next_event(A)

    # Give more than Alpha has: refused with the shortfall.
    card = await _card(fake_api, alpha)
    form = await _form(fake_api, alpha, card, "add", TxType.PURCHASE)
    refused = await _say(fake_api, alpha, "80")
    assert "You have only 70.00 credits available: 10.00 credits more is needed." in refused.text
    await fake_api.send(alpha, "/cancel")
    await fake_api.next_event(A)
    assert await _allocations(db) == 1

    # Bravo sells; Alpha sees Bravo's balance and the sale.
    await plans.add_plan(db, code="m1", name="1 month", days=30, price=1_000)
    await fake_api.send(bravo, "/activate")
    await fake_api.next_event(B)
    plan = await _say(fake_api, bravo, "bravo.customer")
    await fake_api.answer(await fake_api.tap(bravo, plan, plan.button("1 month")))
    confirm = await fake_api.next_event(B)
    await fake_api.answer(await fake_api.tap(bravo, confirm, confirm.key("✅ Confirm")))
    assert "bravo.customer" in (await fake_api.next_event(B)).text
    listing = await _say(fake_api, alpha, "/subresellers")
    assert "Bravo: balance 20.00 credits, held 0.00 credits, available 20.00 credits" in (
        listing.text
    )
    card = await _tap(fake_api, alpha, listing, buttons.CARD.build(B))
    assert "Available: <b>20.00 credits</b>" in card.text
    assert "Sales this month: 1 (10.00 credits)" in card.text
    sold = await _tap(fake_api, alpha, card, buttons.SALES.build(B, 0))
    assert "bravo.customer" in sold.text and "1 month" in sold.text
    back = await _tap(fake_api, alpha, sold, buttons.CARD.build(B))
    customers = await _tap(fake_api, alpha, back, buttons.CUSTOMERS.build(B, 0))
    assert "bravo.customer" in customers.text

    # Both histories name the other side.
    assert "to Bravo" in (await _say(fake_api, alpha, "/history")).text
    assert "from Alpha" in (await _say(fake_api, bravo, "/history")).text
    listing = await _say(fake_api, boss, "/resellers")
    card = await _tap(fake_api, boss, listing, admin_buttons.CARD.build(B))
    assert "Sub-reseller of Alpha" in card.text
    history = await _tap(fake_api, boss, card, reseller_buttons.HISTORY.build(B, 0))
    assert "Sub-reseller credits from Alpha" in history.text
    await assert_audit_ok(db)


async def _family(db: Database) -> None:
    """Alpha (two levels) with Bravo and Charlie; Echo apart."""
    await downline.set_depth(db, telegram_id=A, depth=2, actor="tg:1", now=now())
    for child, name in ((B, "Bravo"), (C, "Charlie")):
        await downline.register_child(
            db,
            parent_telegram_id=A,
            telegram_id=child,
            name=name,
            username=None,
            low_balance_threshold=0,
            now=now(),
        )


async def test_a_suspended_parent_stops_its_sub_resellers_selling(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, alpha: User
) -> None:
    await _family(db)
    await plans.add_plan(db, code="m1", name="1 month", days=30, price=1_000)
    bravo = fake_api.user(B, "Bravo")
    await set_status(db, telegram_id=A, status=ResellerStatus.SUSPENDED, actor="tg:1", now=now())
    await fake_api.send(bravo, "/activate")
    await fake_api.next_event(B)
    refused = await _say(fake_api, bravo, "bravo.customer")
    assert "The reseller above you is suspended, so your sales are paused." in refused.text
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Transfer).where(
            Transfer.kind == EntryKind.ACTIVATION)) == 0  # fmt: skip


async def test_forged_buttons_for_a_sibling_or_a_parent_and_a_reseller_without_downline(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, alpha: User
) -> None:
    await _family(db)  # Bravo may have sub-resellers of its own (one level)
    await make_reseller(db, E, name="Echo", credit=1_000)
    bravo, echo = fake_api.user(B, "Bravo"), fake_api.user(E, "Echo")
    listing = await _say(fake_api, bravo, "/subresellers")
    assert "None yet" in listing.text
    for forged in (
        buttons.CARD.build(C),  # a sibling's card
        buttons.CARD.build(A),  # its own parent's
        buttons.CUSTOMERS.build(C, 0),
        buttons.SALES.build(A, 0),
        buttons.CREDITS.build(C),
    ):
        assert "not one of your sub-resellers" in await _refused(fake_api, bravo, listing, forged)
    # Echo has no downline: the command and a forged button are refused alike.
    refused = await _say(fake_api, echo, "/subresellers")
    assert "may not have sub-resellers" in refused.text
    assert "may not have sub-resellers" in await _refused(
        fake_api, echo, refused, buttons.CARD.build(B)
    )
    # Alpha's own child opens, a stranger's does not.
    card = await _card(fake_api, alpha, B)
    assert "Bravo" in card.text
    assert "not one of your sub-resellers" in await _refused(
        fake_api, alpha, card, buttons.CARD.build(E)
    )
    assert await _allocations(db) == 0


async def test_bad_answers_keep_the_form_on_its_step_and_an_expiry_reaches_the_childs_grant(
    bot: BotApplication, db: Database, settings: Settings, fake_api: FakeBotAPI, alpha: User
) -> None:
    await _family(db)
    card = await _card(fake_api, alpha)
    form = await _form(fake_api, alpha, card, "add", TxType.ADJUSTMENT)
    for typed, problem in (("1.001", "at most two decimals"), ("-5", ""), ("abc", "")):
        shown = await _say(fake_api, alpha, typed)
        assert "How many credits?" in shown.text and "⚠️" in shown.text, shown.text
        assert problem in shown.text
    form = await _say(fake_api, alpha, "12.50")
    assert "Send a comment" in form.text
    shown = await _say(fake_api, alpha, "x" * 256)
    assert "The comment is 256 characters long; at most 255 are allowed." in shown.text
    form = await _say(fake_api, alpha, "for <May>")
    assert "Comment: for &lt;May&gt;" in form.text and "Do these credits expire?" in form.text
    shown = await _say(fake_api, alpha, "2020-01-01")
    assert "That day is in the past" in shown.text
    today = now().astimezone(settings.zone).date()
    summary = await _tap(fake_api, alpha, form, buttons.CALENDAR.day(B, today))
    assert f"Usable until: {today.isoformat()}, included" in summary.text
    # Text where Save is expected asks for the buttons and changes nothing.
    again = await _say(fake_api, alpha, "save")
    assert "Please answer with the buttons." in again.text
    save = next(d for _, d in again.buttons if d.startswith("dl:as:"))
    old = next(d for _, d in summary.buttons if d.startswith("dl:as:"))
    assert old != save  # each summary mints its own nonce
    assert "no longer open" in await _refused(fake_api, alpha, again, old)
    card = await _tap(fake_api, alpha, again, save)
    assert "✅ Gave 12.50 credits." in card.text
    async with db.transaction() as session:
        row = await session.scalar(select(CreditTransfer))
        grant = await session.scalar(
            select(CreditGrant).where(CreditGrant.transfer_id == row.ledger_transfer_id)
        ) if row else None  # fmt: skip
    assert row is not None and row.tx_type == TxType.ADJUSTMENT and row.comment == "for <May>"
    assert grant is not None and grant.expires_at is not None and row.expires_at is not None
    assert (await _balance(db, B)).balance == 1_250
    # A reseller cannot use the admin's depth buttons.
    assert "admin" in await _refused(fake_api, alpha, card, buttons.DEPTH.build(A, 5))
    assert await downline.depth_of(db, A) == 2
