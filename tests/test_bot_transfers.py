"""Transfers in chat: a reseller sends credits to another (recipient, amount, note,
a confirmation that says it cannot be undone, Send once), both are told and both
histories show it; the credits keep their expiry (the receiver's /balance lists the
expiring ones, and they expire on their day); an admin allows or forbids transfers, sets
a daily limit and reverses a transfer while the receiver still has the credits."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

import jobs
from bot.context import BotApplication
from bot.db import Database
from bot.services import ledger, resellers, roles, transfer_admin, transfers, wallet
from bot.services.roles import Permission
from bot.settings import Settings
from handlers.admin import callbacks
from handlers.admin import transfer_callbacks as admin_buttons
from handlers.transfer import callbacks as buttons
from models import AdminAction, CreditTransfer, ResellerStatus, TransferKind, TxType
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, key, make_reseller, now
from tests.test_jobs import drain

ALICE, BOB, CAROL = 1001, 1002, 1003


@pytest.fixture
async def alice(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, ALICE, name="Alice", credit=10_000, username="alice_sells")
    await make_reseller(db, BOB, name="Bob", username="bob_sells")
    return fake_api.user(ALICE, "Alice")


@pytest.fixture
def bob(alice: User, fake_api: FakeBotAPI) -> User:
    return fake_api.user(BOB, "Bob")


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    return fake_api.user(ADMIN_ID, "Boss")


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def _refused(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> dict[str, Any]:
    """A tap answered with an alert and nothing else."""
    answered = await fake_api.answer(await fake_api.tap(user, event, data))
    assert answered.get("show_alert"), answered
    assert fake_api.unread(user.id) == []
    return answered


async def _say(fake_api: FakeBotAPI, user: User, text: str) -> Event:
    await fake_api.send(user, text)
    return await fake_api.next_event(user.id)


async def _start(fake_api: FakeBotAPI, user: User) -> Event:
    menu = await _say(fake_api, user, "/start")
    screen = await _tap(fake_api, user, menu, menu.button("💸 Transfer"))
    assert "Who gets them?" in screen.text
    return screen


async def _to_confirm(
    fake_api: FakeBotAPI, user: User, to: str, amount: str, note: str | None = None
) -> Event:
    await _start(fake_api, user)
    screen = await _say(fake_api, user, to)
    assert "How many credits" in screen.text, screen.text
    screen = await _say(fake_api, user, amount)
    assert "Send a note" in screen.text, screen.text
    if note is None:
        return await _tap(fake_api, user, screen, buttons.SKIP.build())
    return await _say(fake_api, user, note)


def _send_data(event: Event) -> str:
    found = [d for _, d in event.buttons if d.startswith("xf:send:")]
    assert len(found) == 1, event.buttons
    return found[0]


async def _balance(db: Database, telegram_id: int) -> ledger.Balance:
    async with db.transaction() as session:
        reseller = await resellers.require_by_telegram_id(session, telegram_id)
        return await ledger.balance(session, reseller.account_id)


async def _count(db: Database, kind: TransferKind = TransferKind.TRANSFER) -> int:
    async with db.transaction() as session:
        found = await session.scalar(
            select(func.count()).select_from(CreditTransfer).where(CreditTransfer.kind == kind)
        )
    return int(found or 0)


async def test_a_transfer_with_a_note_reaches_the_receiver_and_both_histories(
    bot: BotApplication,
    db: Database,
    settings: Settings,
    fake_api: FakeBotAPI,
    alice: User,
    bob: User,
) -> None:
    summary = await _to_confirm(fake_api, alice, "@BOB_SELLS", "25.50", "for <the> weekend")
    assert "From: Alice (@alice_sells)" in summary.text
    assert "To: Bob (@bob_sells)" in summary.text
    assert "Amount: <b>25.50 credits</b>" in summary.text
    assert "Note: for &lt;the&gt; weekend" in summary.text
    assert "Your available credit: 100.00 credits → <b>74.50 credits</b>" in summary.text
    assert "You cannot undo a transfer" in summary.text
    assert (await _balance(db, ALICE)).balance == 10_000  # nothing moved before Send

    done = await _tap(fake_api, alice, summary, _send_data(summary))
    assert "✅ Sent 25.50 credits to Bob." in done.text
    assert "Your balance: 74.50 credits (available 74.50 credits)." in done.text
    assert (await _balance(db, BOB)).balance == 2_550

    await drain(bot, db, settings, now())
    told = await fake_api.next_event(BOB)
    assert "Alice (@alice_sells) sent you 25.50 credits." in told.text
    assert "Note: for &lt;the&gt; weekend" in told.text

    mine = await _say(fake_api, alice, "/history")
    assert "-25.50</code>  Transfer to Bob · for &lt;the&gt; weekend" in mine.text
    theirs = await _say(fake_api, bob, "/history")
    assert "+25.50</code>  Transfer from Alice · for &lt;the&gt; weekend" in theirs.text
    await assert_audit_ok(db)


async def test_a_second_tap_on_send_sends_nothing_again(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    summary = await _to_confirm(fake_api, alice, str(BOB), "10")
    await _tap(fake_api, alice, summary, _send_data(summary))
    answered = await _refused(fake_api, alice, summary, _send_data(summary))
    assert "already sent" in answered["text"]
    assert await _count(db) == 1
    assert (await _balance(db, ALICE)).balance == 9_000
    await assert_audit_ok(db)


async def test_a_forged_send_text_on_the_summary_and_cancel_move_nothing(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    summary = await _to_confirm(fake_api, alice, "@bob_sells", "10")
    answered = await _refused(fake_api, alice, summary, buttons.SEND.build("forged-nonce"))
    assert "no longer valid" in answered["text"]
    said = await _say(fake_api, alice, "yes please")
    assert "Tap ✅ Send or ✖️ Cancel" in said.text
    left = await _tap(fake_api, alice, summary, buttons.CANCEL.build())
    assert "No credits were moved." in left.text
    answered = await _refused(fake_api, alice, summary, _send_data(summary))
    assert "no longer valid" in answered["text"]
    assert await _count(db) == 0
    assert (await _balance(db, ALICE)).balance == 10_000


async def test_send_checks_again_what_changed_since_the_confirmation(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    summary = await _to_confirm(fake_api, alice, "@bob_sells", "10")
    await resellers.set_status(
        db, telegram_id=BOB, status=ResellerStatus.SUSPENDED, actor="test", now=now()
    )
    again = await _tap(fake_api, alice, summary, _send_data(summary))
    assert "Bob is suspended and cannot receive credits now." in again.text
    assert "Who gets them?" in again.text
    await resellers.set_status(
        db, telegram_id=BOB, status=ResellerStatus.ACTIVE, actor="test", now=now()
    )
    await _tap(fake_api, alice, again, buttons.CANCEL.build())
    summary = await _to_confirm(fake_api, alice, "@bob_sells", "10")
    await transfer_admin.set_allowed(
        db, telegram_id=ALICE, allowed=False, actor="tg:900", now=now()
    )
    ended = await _tap(fake_api, alice, summary, _send_data(summary))
    assert "An admin has not allowed you to send transfers." in ended.text
    assert await _count(db) == 0
    assert (await _balance(db, ALICE)).balance == 10_000


async def test_unknown_suspended_and_own_recipients_are_refused_and_asked_again(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    await make_reseller(db, CAROL, name="Carol")
    await resellers.set_status(
        db, telegram_id=CAROL, status=ResellerStatus.SUSPENDED, actor="test", now=now()
    )
    await _start(fake_api, alice)
    screen = await _say(fake_api, alice, "@nobody_here")
    assert "No reseller @nobody_here is registered" in screen.text
    assert "Who gets them?" in screen.text
    screen = await _say(fake_api, alice, str(CAROL))
    assert "Carol is suspended and cannot receive credits now." in screen.text
    screen = await _say(fake_api, alice, "@alice_sells")
    assert "You cannot send credits to yourself." in screen.text
    screen = await _say(fake_api, alice, "what?")
    assert "Send an @username" in screen.text
    await fake_api.send_sticker(alice)
    said = await fake_api.next_event(ALICE)
    assert "Send the answer as a text message, or tap Cancel." in said.text
    assert await _count(db) == 0


async def test_over_the_available_credit_a_bad_amount_and_a_long_note_are_refused(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    await _start(fake_api, alice)
    await _say(fake_api, alice, "@bob_sells")
    screen = await _say(fake_api, alice, "100.01")
    assert "You have 100.00 credits available to send; that is 0.01 credits short." in (screen.text)
    screen = await _say(fake_api, alice, "1.234")
    assert "How many credits" in screen.text
    screen = await _say(fake_api, alice, "-5")
    assert "How many credits" in screen.text
    screen = await _say(fake_api, alice, "100")
    screen = await _say(fake_api, alice, "x" * 256)
    assert "The note is 256 characters long; at most 255 are allowed." in screen.text
    summary = await _say(fake_api, alice, "x" * 255)
    assert "You cannot undo a transfer" in summary.text
    await _tap(fake_api, alice, summary, _send_data(summary))
    assert (await _balance(db, ALICE)).balance == 0
    await assert_audit_ok(db)


async def test_the_daily_limit_says_what_is_left_today(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    await transfer_admin.set_daily_limit(
        db, telegram_id=ALICE, limit=3_000, actor="tg:900", now=now()
    )
    summary = await _to_confirm(fake_api, alice, "@bob_sells", "20")
    await _tap(fake_api, alice, summary, _send_data(summary))
    screen = await _start(fake_api, alice)
    assert "Your daily limit leaves 10.00 credits today." in screen.text
    await _say(fake_api, alice, "@bob_sells")
    screen = await _say(fake_api, alice, "15")
    assert "That passes your daily transfer limit of 30.00 credits: 10.00 credits left" in (
        screen.text
    )
    assert await _count(db) == 1


async def test_a_reseller_an_admin_forbade_to_transfer_is_told_so(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    await transfer_admin.set_allowed(
        db, telegram_id=ALICE, allowed=False, actor="tg:900", now=now()
    )
    said = await _say(fake_api, alice, "/transfer")
    assert "An admin has not allowed you to send transfers." in said.text
    await _say(fake_api, alice, "@bob_sells")  # no flow is under way: nothing happens
    assert await _count(db) == 0


# --- the admin's side --------------------------------------------------------------------


async def _screen(fake_api: FakeBotAPI, boss: User, telegram_id: int = ALICE) -> Event:
    await fake_api.send(boss, "/resellers")
    listing = await fake_api.next_event(boss.id)
    card = await _tap(fake_api, boss, listing, callbacks.CARD.build(telegram_id))
    screen = await _tap(fake_api, boss, card, card.button("💸 Transfers"))
    assert "Transfers of" in screen.text, screen.text
    return screen


async def _sent(db: Database, amount: int) -> int:
    """Alice sends Bob ``amount``, as her Send would."""
    done = await transfers.send(
        db,
        sender_telegram_id=ALICE,
        recipient=BOB,
        amount=amount,
        note="oops",
        key=key(),
        now=now(),
        zone=ZoneInfo("UTC"),
    )
    return done.transfer_id


async def test_an_admin_forbids_transfers_and_sets_then_clears_a_daily_limit(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User
) -> None:
    screen = await _screen(fake_api, boss)
    assert "Sending transfers: <b>allowed</b>" in screen.text
    screen = await _tap(fake_api, boss, screen, screen.button("Forbid"))
    assert "Sending transfers: <b>forbidden</b>" in screen.text
    screen = await _tap(fake_api, boss, screen, screen.button("Daily limit"))
    assert "Send the most they may send a day" in screen.text
    screen = await _say(fake_api, boss, "12.345")
    assert "two decimals" in screen.text
    screen = await _say(fake_api, boss, "50")
    assert "Daily limit: 50.00 credits" in screen.text
    screen = await _tap(fake_api, boss, screen, screen.button("Clear the limit"))
    assert "Daily limit: none" in screen.text
    async with db.transaction() as session:
        actions = list(
            await session.scalars(
                select(AdminAction.action)
                .where(AdminAction.action.like("transfer_%"))
                .order_by(AdminAction.id)
            )
        )
    assert actions == ["transfer_allowed", "transfer_limit", "transfer_limit"]


async def test_an_admin_reverses_a_transfer_once_with_a_reason_and_both_are_told(
    bot: BotApplication,
    db: Database,
    settings: Settings,
    fake_api: FakeBotAPI,
    alice: User,
    bob: User,
    boss: User,
) -> None:
    for user in (alice, bob):  # their chats with the bot exist
        await _say(fake_api, user, "/start")
    transfer_id = await _sent(db, 4_000)
    screen = await _screen(fake_api, boss)
    assert "40.00 credits to Bob" in screen.text
    ask = await _tap(fake_api, boss, screen, screen.button("Reverse"))
    assert "Why" in ask.text
    again = await _say(fake_api, boss, "x" * 256)
    assert "The reason is 256 characters long; at most 255 are allowed." in again.text
    confirm = await _say(fake_api, boss, "sent to the wrong reseller")
    assert "Bob has 40.00 credits available" in confirm.text
    said = await _say(fake_api, boss, "ok")
    assert "Tap ↩️ Confirm the reversal or ✖️ Cancel above." in said.text
    yes = confirm.button("Confirm")
    done = await _tap(fake_api, boss, confirm, yes)
    assert "Reversed" in done.text
    answered = await _refused(fake_api, boss, confirm, yes)
    assert "already reversed" in answered["text"]
    assert await _count(db, TransferKind.REVERSAL) == 1
    assert (await _balance(db, ALICE)).balance == 10_000
    assert (await _balance(db, BOB)).balance == 0

    await drain(bot, db, settings, now())
    to_bob = [(await fake_api.next_event(BOB)).text for _ in range(2)]
    assert "Alice (@alice_sells) sent you 40.00 credits." in to_bob[0]
    assert "reversed the transfer of 40.00 credits from Alice" in to_bob[1]
    assert "Reason: sent to the wrong reseller" in to_bob[1]
    to_alice = (await fake_api.next_event(ALICE)).text
    assert "reversed your transfer of 40.00 credits to Bob" in to_alice
    page = await wallet.history_page(db, ALICE, page=0)
    assert (page.entries[0].comment, page.entries[0].other) == ("sent to the wrong reseller", "Bob")
    history = await _say(fake_api, alice, "/history")
    assert "+40.00</code>  Transfer reversed, back from Bob · sent to the wrong reseller" in (
        history.text
    )
    async with db.transaction() as session:
        reversal = await session.scalar(
            select(CreditTransfer).where(CreditTransfer.kind == TransferKind.REVERSAL)
        )
        logged = await session.scalar(
            select(AdminAction).where(AdminAction.action == "transfer_reversed")
        )
    assert reversal is not None and reversal.reverses_id == transfer_id
    assert reversal.actor_telegram_id == ADMIN_ID
    assert logged is not None and logged.reason == "sent to the wrong reseller"
    await assert_audit_ok(db)


async def test_a_reversal_is_refused_when_the_receiver_spent_the_credits(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User
) -> None:
    await _sent(db, 4_000)
    await wallet.remove_credit(
        db, telegram_id=BOB, amount=3_000, tx_type=TxType.ADJUSTMENT, actor="t", key=key()
    )
    screen = await _screen(fake_api, boss)
    ask = await _tap(fake_api, boss, screen, screen.button("Reverse"))
    confirm = await _say(fake_api, boss, "wrong reseller")
    assert "Bob has 10.00 credits available now." in confirm.text
    done = await _tap(fake_api, boss, confirm, confirm.button("Confirm"))
    assert "Bob has only 10.00 credits available now, 30.00 credits short" in done.text
    assert "Why is it reversed?" in ask.text
    assert await _count(db, TransferKind.REVERSAL) == 0
    assert (await _balance(db, BOB)).balance == 1_000
    await assert_audit_ok(db)


async def test_a_reseller_forging_the_admins_transfer_buttons_changes_nothing(
    db: Database, fake_api: FakeBotAPI, alice: User, bob: User, boss: User
) -> None:
    transfer_id = await _sent(db, 4_000)
    menu = await _say(fake_api, bob, "/start")
    for data in (
        admin_buttons.SCREEN.build(ALICE, 0),
        admin_buttons.ALLOW.build(ALICE, False),
        admin_buttons.CLEAR.build(ALICE),
        admin_buttons.LIMIT.build(ALICE),
        admin_buttons.REVERSE.build(ALICE, transfer_id),
        admin_buttons.CONFIRM.build(ALICE, transfer_id),
    ):
        answered = await _refused(fake_api, bob, menu, data)
        assert "Only admins" in answered["text"]
    # A staff admin without the credits permission is refused too.
    await roles.add_staff(
        db,
        telegram_id=2001,
        name="Sam",
        permissions=[Permission.RESELLERS],
        owner_ids={ADMIN_ID},
        actor="cli",
        now=now(),
    )
    sam = fake_api.user(2001, "Sam")
    staff_menu = await _say(fake_api, sam, "/start")
    answered = await _refused(
        fake_api, sam, staff_menu, admin_buttons.CONFIRM.build(ALICE, transfer_id)
    )
    assert "permission" in answered["text"]
    # An admin's button naming a transfer of another reseller is refused.
    screen = await _screen(fake_api, boss, BOB)
    answered = await _refused(fake_api, boss, screen, admin_buttons.REVERSE.build(BOB, transfer_id))
    assert "no such transfer" in answered["text"].lower()
    assert await _count(db, TransferKind.REVERSAL) == 0
    async with db.transaction() as session:
        allowed = await session.scalar(
            select(func.count()).where(AdminAction.action.like("transfer_%"))
        )
    assert allowed == 0
    assert (await _balance(db, BOB)).balance == 4_000


async def test_credits_received_expire_when_the_senders_would_have(
    bot: BotApplication,
    db: Database,
    settings: Settings,
    fake_api: FakeBotAPI,
    alice: User,
    bob: User,
) -> None:
    soon = now() + dt.timedelta(days=10)
    await wallet.add_credit(
        db,
        telegram_id=ALICE,
        amount=2_050,
        tx_type=TxType.PURCHASE,
        actor="test",
        key=key(),
        now=now(),
        expires_at=soon,
    )
    mine = await _say(fake_api, alice, "/balance")
    assert f"20.50 credits on {soon:%Y-%m-%d}" in mine.text

    summary = await _to_confirm(fake_api, alice, "@bob_sells", "30")
    done = await _tap(fake_api, alice, summary, _send_data(summary))
    assert "✅ Sent 30.00 credits to Bob." in done.text
    await drain(bot, db, settings, now())
    told = await fake_api.next_event(BOB)
    assert "sent you 30.00 credits" in told.text
    assert f"20.50 credits of them expire on {soon:%Y-%m-%d}." in told.text

    # The 20.50 about to expire went first, and still expire on their day, now Bob's.
    theirs = await _say(fake_api, bob, "/balance")
    assert "Balance: 30.00 credits" in theirs.text
    assert f"20.50 credits on {soon:%Y-%m-%d}" in theirs.text
    mine = await _say(fake_api, alice, "/balance")
    assert "Balance: 90.50 credits" in mine.text
    assert "Expiring within 30 days" not in mine.text

    await jobs.run_alerts(db, settings, soon)
    await drain(bot, db, settings, soon)
    told = await fake_api.next_event(BOB)
    assert "⌛ 20.50 credits of your credits expired and were removed." in told.text
    assert fake_api.unread(ALICE) == []
    theirs = await _say(fake_api, bob, "/balance")
    assert "Balance: 9.50 credits" in theirs.text
    assert "Expiring within 30 days" not in theirs.text
    assert (await _balance(db, ALICE)).balance == 9_050
    await assert_audit_ok(db)


async def test_an_admin_whose_own_reseller_is_suspended_is_told_so_before_any_step(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, alice: User, boss: User
) -> None:
    """An admin's own reseller sells and transfers as a reseller does, and is refused as
    one is while suspended: at the first step, not at the last."""
    await make_reseller(db, ADMIN_ID, name="Boss shop")
    await wallet.add_credit(
        db, telegram_id=ADMIN_ID, amount=50, tx_type=TxType.PURCHASE, actor="test",
        key=key(), now=now(),
    )  # fmt: skip
    await resellers.set_status(
        db, telegram_id=ADMIN_ID, status=ResellerStatus.SUSPENDED, actor="test", now=now()
    )
    for command in ("/transfer", "/topup"):
        refused = await _say(fake_api, boss, command)
        assert "suspended" in refused.text, command
    await resellers.set_status(
        db, telegram_id=ADMIN_ID, status=ResellerStatus.ACTIVE, actor="test", now=now()
    )
    asked = await _say(fake_api, boss, "/transfer")
    assert "Who gets them?" in asked.text
    assert await _count(db) == 0
