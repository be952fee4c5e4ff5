"""Adding and removing a reseller's credit from its card, as reseller panels do it: the
form (action, type, credits, comment, expiry from a calendar), the summary with the
balance before and after, Save once; every bad answer keeps the form on its step."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.context import BotApplication
from bot.db import Database
from bot.services import credits, ledger, roles, wallet
from bot.services.credits import Action
from bot.services.resellers import require_by_telegram_id
from bot.services.roles import Permission
from bot.settings import Settings
from handlers.admin import callbacks
from handlers.admin import credit_callbacks as buttons
from handlers.calendar_views import shift
from models import AdminAction, Billing, CreditGrant, OutboxMessage, TxType
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, key, make_reseller, now
from tests.test_bot_restart import restartable

ALICE, BOB = 1001, 1002


@pytest.fixture
async def alice(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, ALICE, name="Alice", credit=5_000)
    return fake_api.user(ALICE, "Alice")


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    return fake_api.user(ADMIN_ID, "Boss")


def _has(event: Event, data: str) -> str:
    assert data in [d for _, d in event.buttons], (data, event.buttons)
    return data


def _save(event: Event, telegram_id: int = ALICE) -> str:
    found = [d for _, d in event.buttons if d.startswith(f"adm:crs:{telegram_id}:")]
    assert len(found) == 1, event.buttons
    return found[0]


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def _refused(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> dict[str, Any]:
    """A tap answered with an alert and nothing else."""
    answered = await fake_api.answer(await fake_api.tap(user, event, data))
    assert answered.get("show_alert"), answered
    assert fake_api.unread(user.id) == []
    return answered


async def _say(fake_api: FakeBotAPI, user: User, text: str, form: Event) -> Event:
    """Answer the form by typing: the form's own message shows the next step."""
    await fake_api.send(user, text)
    event = await fake_api.next_event(user.id)
    assert event.method == "editMessageText", event
    assert event.message["message_id"] == form.message["message_id"]
    return event


async def _card(fake_api: FakeBotAPI, user: User, telegram_id: int = ALICE) -> Event:
    await fake_api.send(user, "/resellers")
    listing = await fake_api.next_event(user.id)
    return await _tap(fake_api, user, listing, callbacks.CARD.build(telegram_id))


async def _open(fake_api: FakeBotAPI, user: User, telegram_id: int = ALICE) -> Event:
    card = await _card(fake_api, user, telegram_id)
    form = await _tap(fake_api, user, card, _has(card, buttons.OPEN.build(telegram_id)))
    assert "Add credits or remove them?" in form.text
    return form


async def _to_amount(
    fake_api: FakeBotAPI, user: User, action: Action, tx: TxType, telegram_id: int = ALICE
) -> Event:
    form = await _open(fake_api, user, telegram_id)
    form = await _tap(fake_api, user, form, _has(form, buttons.ACTION.build(telegram_id, action)))
    form = await _tap(fake_api, user, form, _has(form, buttons.TYPE.build(telegram_id, tx)))
    assert "How many credits?" in form.text
    return form


async def _balance(db: Database, telegram_id: int = ALICE) -> ledger.Balance:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return await ledger.balance(session, reseller.account_id)


async def _outbox(db: Database) -> list[tuple[str, int, dict[str, Any]]]:
    async with db.transaction() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(m.kind, m.chat_id, json.loads(m.payload)) for m in rows]


async def test_the_issue_story_add_with_a_comment_and_a_calendar_expiry_then_remove(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User, settings: Settings
) -> None:
    form = await _to_amount(fake_api, boss, Action.ADD, TxType.PURCHASE)
    assert "Action: Add" in form.text and "Transaction type: Purchase" in form.text
    form = await _say(fake_api, boss, "100.50", form)
    assert "Credits: <b>100.50 credits</b>" in form.text and "Send a comment" in form.text
    form = await _say(fake_api, boss, "Bank transfer <ref 42>", form)
    assert "Comment: Bank transfer &lt;ref 42&gt;" in form.text
    today = now().astimezone(settings.zone).date()
    yesterday = today - dt.timedelta(days=1)
    assert buttons.CALENDAR.day(ALICE, today) in [d for _, d in form.buttons]
    assert buttons.CALENDAR.day(ALICE, yesterday) not in [d for _, d in form.buttons]
    assert buttons.CALENDAR.month(ALICE, shift(today.replace(day=1), -1)) not in [
        d for _, d in form.buttons
    ]
    following = shift(today.replace(day=1), 1)
    form = await _tap(fake_api, boss, form, _has(form, buttons.CALENDAR.month(ALICE, following)))
    picked = following.replace(day=15)
    summary = await _tap(fake_api, boss, form, _has(form, buttons.CALENDAR.day(ALICE, picked)))
    assert f"Usable until: {picked.isoformat()}, included" in summary.text
    assert "Balance: 50.00 credits → <b>150.50 credits</b>" in summary.text
    assert "Available: 50.00 credits → <b>150.50 credits</b>" in summary.text
    assert (await _balance(db)).balance == 5_000  # nothing moved before Save

    save = _save(summary)
    card = await _tap(fake_api, boss, summary, save)
    assert card.message["message_id"] == summary.message["message_id"]
    assert "✅ Added 100.50 credits. Balance: 50.00 credits → 150.50 credits." in card.text
    again = await _refused(fake_api, boss, summary, save)  # a second tap
    assert "already saved" in again["text"]
    assert (await _balance(db)).balance == 15_050

    form = await _to_amount(fake_api, boss, Action.REMOVE, TxType.ADJUSTMENT)
    assert "At most 150.50 credits can be removed." in form.text
    form = await _say(fake_api, boss, "20", form)
    summary = await _tap(fake_api, boss, form, _has(form, buttons.SKIP.build(ALICE)))
    assert "Usable until" not in summary.text  # removed credits have no expiry
    assert "Balance: 150.50 credits → <b>130.50 credits</b>" in summary.text
    card = await _tap(fake_api, boss, summary, _save(summary))
    assert "✅ Removed 20.00 credits. Balance: 150.50 credits → 130.50 credits." in card.text
    assert (await _balance(db)).balance == 13_050
    await assert_audit_ok(db)

    async with db.transaction() as session:
        expiry = await session.scalar(
            select(CreditGrant.expires_at).where(CreditGrant.amount == 10_050)
        )
        actions = (
            await session.execute(
                select(AdminAction.actor, AdminAction.action, AdminAction.reason).where(
                    AdminAction.action.in_(("credit_added", "credit_removed")),
                    AdminAction.actor != "test",  # the fixture's funding
                )
            )
        ).all()
    assert expiry is not None
    last_moment = dt.datetime.combine(picked + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    assert expiry.replace(tzinfo=dt.UTC) == last_moment
    assert [tuple(a) for a in actions] == [
        (f"tg:{ADMIN_ID}", "credit_added", "Bank transfer <ref 42>"),
        (f"tg:{ADMIN_ID}", "credit_removed", None),
    ]
    told = await _outbox(db)
    assert [(kind, chat) for kind, chat, _ in told] == [
        ("credit_added", ALICE),
        ("credit_removed", ALICE),
    ]
    assert told[0][2]["amount"] == 10_050 and told[0][2]["comment"] == "Bank transfer <ref 42>"


async def test_the_reseller_is_told_in_their_language_by_the_outbox(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await make_reseller(db, ALICE, name="Alice", credit=5_000)
    sending = settings.model_copy(update={"jobs_enabled": True, "outbox_interval_seconds": 0.3})
    alice = fake_api.user(ALICE, "Alice")
    alice.language_code = "fa"
    async with restartable(sending, db):
        await fake_api.send(alice, "/start")  # Alice's language becomes Persian
        await fake_api.next_event(ALICE)
        boss = fake_api.user(ADMIN_ID, "Boss")
        form = await _to_amount(fake_api, boss, Action.ADD, TxType.ADJUSTMENT)
        form = await _say(fake_api, boss, "12", form)
        form = await _tap(fake_api, boss, form, _has(form, buttons.SKIP.build(ALICE)))
        summary = await _tap(fake_api, boss, form, _has(form, buttons.SKIP.build(ALICE)))
        await _tap(fake_api, boss, summary, _save(summary))
        notice = await fake_api.next_event(ALICE)
    assert notice.method == "sendMessage"
    assert "۱۲٫۰۰" in notice.text and "۶۲٫۰۰" in notice.text  # +12.00, balance 62.00


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("1.999", "at most two decimals"),
        ("0", "greater than zero"),
        ("-5", "must be positive"),
        ("a hundred", "not a number"),
        ("99999999999", "too large"),
    ],
)
async def test_a_bad_amount_is_refused_and_the_form_stays_on_the_credits_step(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User, typed: str, says: str
) -> None:
    form = await _to_amount(fake_api, boss, Action.ADD, TxType.PURCHASE)
    refused = await _say(fake_api, boss, typed, form)
    assert says in refused.text and "How many credits?" in refused.text
    fixed = await _say(fake_api, boss, "۱۰٫۲۵", refused)  # Persian digits are fine
    assert "Credits: <b>10.25 credits</b>" in fixed.text and "Send a comment" in fixed.text


async def test_a_long_comment_is_refused_with_its_length_and_a_bad_or_past_date_too(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User, settings: Settings
) -> None:
    form = await _to_amount(fake_api, boss, Action.ADD, TxType.PURCHASE)
    form = await _say(fake_api, boss, "5", form)
    refused = await _say(fake_api, boss, "x" * 256, form)
    assert "The comment is 256 characters long; at most 255 are allowed." in refused.text
    assert "Send a comment" in refused.text
    form = await _say(fake_api, boss, "y" * 255, refused)
    assert "Do these credits expire?" in form.text
    today = now().astimezone(settings.zone).date()
    for typed, says in [
        ("2020-01-01", "in the past"),
        ("31-12-2030", "not a date"),
        ((today - dt.timedelta(days=1)).isoformat(), "in the past"),
        ("2030-02-30", "not a date"),
        ((today + dt.timedelta(days=366 * 11)).isoformat(), "too far ahead"),
        ("soon", "not a date"),
    ]:
        form = await _say(fake_api, boss, typed, form)
        assert says in form.text and "Do these credits expire?" in form.text, typed
    # A past day the calendar never offered, sent by a modified client.
    past = buttons.CALENDAR.day(ALICE, today - dt.timedelta(days=3))
    form = await _tap(fake_api, boss, form, past)
    assert "in the past" in form.text
    next_year = today.replace(month=1, day=15, year=today.year + 1).isoformat()
    typed = next_year.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))  # Arabic digits
    summary = await _say(fake_api, boss, typed, form)
    assert f"Usable until: {next_year}, included" in summary.text
    assert (await _balance(db)).balance == 5_000


async def test_text_where_a_button_is_expected_asks_for_the_buttons(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User
) -> None:
    form = await _open(fake_api, boss)
    again = await _say(fake_api, boss, "add", form)
    assert "Please answer with the buttons." in again.text
    assert "Add credits or remove them?" in again.text


async def test_removing_more_than_allowed_says_the_most_for_prepaid_and_postpaid(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User
) -> None:
    form = await _to_amount(fake_api, boss, Action.REMOVE, TxType.ADJUSTMENT)
    refused = await _say(fake_api, boss, "50.01", form)
    assert "at most 50.00 credits can be removed" in refused.text
    assert "How many credits?" in refused.text

    await make_reseller(db, BOB, name="Bob", billing=Billing.POSTPAID, credit_limit=10_000)
    await wallet.add_credit(db, telegram_id=BOB, amount=2_000, tx_type=TxType.PURCHASE,
                            actor="test", key=key(), now=now())  # fmt: skip
    form = await _to_amount(fake_api, boss, Action.REMOVE, TxType.ADJUSTMENT, BOB)
    assert "At most 120.00 credits can be removed." in form.text
    refused = await _say(fake_api, boss, "120.01", form)
    assert "at most 120.00 credits can be removed" in refused.text
    form = await _say(fake_api, boss, "100", refused)
    summary = await _tap(fake_api, boss, form, _has(form, buttons.SKIP.build(BOB)))
    # Bob spends meanwhile: Save finds less to remove and says how much.
    await wallet.remove_credit(db, telegram_id=BOB, amount=5_000, tx_type=TxType.ADJUSTMENT,
                               actor="test", key=key())  # fmt: skip
    back = await _tap(fake_api, boss, summary, _save(summary, BOB))
    assert "at most 70.00 credits can be removed" in back.text
    assert "How many credits?" in back.text
    assert (await _balance(db, BOB)).balance == -3_000
    await assert_audit_ok(db)


async def test_a_staff_admin_without_the_credits_permission_is_refused(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User
) -> None:
    await roles.add_staff(db, telegram_id=950, name="Sam", permissions={Permission.RESELLERS},
                          owner_ids={ADMIN_ID}, actor=f"tg:{ADMIN_ID}", now=now())  # fmt: skip
    sam = fake_api.user(950, "Sam")
    card = await _card(fake_api, sam)
    opened = await _refused(fake_api, sam, card, buttons.OPEN.build(ALICE))
    assert "permission" in opened["text"]
    for data in (
        buttons.ACTION.build(ALICE, Action.ADD),
        buttons.SAVE.build(ALICE, "abc"),
        buttons.CALENDAR.day(ALICE, now().date()),
    ):
        await fake_api.answer(await fake_api.tap(sam, card, data))
    # And a reseller gets nothing either.
    await _refused(fake_api, alice, card, buttons.OPEN.build(ALICE))
    assert (await _balance(db)).balance == 5_000
    assert await _outbox(db) == []


async def test_a_staff_admin_allowed_credits_saves_and_a_forged_button_for_another_reseller_changes_nothing(  # noqa: E501
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User
) -> None:
    await make_reseller(db, BOB, name="Bob", credit=1_000)
    await roles.add_staff(db, telegram_id=951, name="Cat", permissions={Permission.CREDITS},
                          owner_ids={ADMIN_ID}, actor=f"tg:{ADMIN_ID}", now=now())  # fmt: skip
    cat = fake_api.user(951, "Cat")
    await fake_api.send(cat, "/start")
    menu = await fake_api.next_event(cat.id)
    form = await _tap(fake_api, cat, menu, buttons.OPEN.build(ALICE))
    assert "Credits for Alice" in form.text
    answered = await _refused(fake_api, cat, form, buttons.ACTION.build(BOB, Action.REMOVE))
    assert "another form" in answered["text"]
    form = await _tap(fake_api, cat, form, buttons.ACTION.build(ALICE, Action.REMOVE))
    form = await _tap(fake_api, cat, form, buttons.TYPE.build(ALICE, TxType.ADJUSTMENT))
    form = await _say(fake_api, cat, "10", form)
    answered = await _refused(fake_api, cat, form, buttons.SKIP.build(BOB))
    assert "another form" in answered["text"]
    summary = await _tap(fake_api, cat, form, buttons.SKIP.build(ALICE))
    nonce = _save(summary).rsplit(":", 1)[1]
    answered = await _refused(fake_api, cat, summary, buttons.SAVE.build(BOB, nonce))
    assert "another form" in answered["text"]
    assert (await _balance(db, BOB)).balance == 1_000
    assert (await _balance(db)).balance == 5_000
    await _tap(fake_api, cat, summary, _save(summary))
    assert (await _balance(db)).balance == 4_000
    assert (await _balance(db, BOB)).balance == 1_000


async def test_cancel_goes_back_to_the_card_and_moves_nothing(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User
) -> None:
    form = await _to_amount(fake_api, boss, Action.ADD, TxType.PURCHASE)
    form = await _say(fake_api, boss, "10", form)
    card = await _tap(fake_api, boss, form, _has(form, callbacks.CARD.build(ALICE)))
    assert buttons.OPEN.build(ALICE) in [d for _, d in card.buttons]
    await fake_api.send(boss, "7")  # no form is waiting for it any more
    assert (await _balance(db)).balance == 5_000
    assert await _outbox(db) == []


@pytest.mark.parametrize("restart_at", ["amount", "expiry", "confirm"])
async def test_the_form_continues_after_a_restart_and_saves_once(
    settings: Settings, db: Database, fake_api: FakeBotAPI, restart_at: str
) -> None:
    await make_reseller(db, ALICE, name="Alice", credit=5_000)
    boss = fake_api.user(ADMIN_ID, "Boss")
    async with restartable(settings, db) as restart:

        async def step(name: str) -> None:
            if name == restart_at:
                await restart()

        form = await _to_amount(fake_api, boss, Action.ADD, TxType.ADJUSTMENT)
        await step("amount")
        form = await _say(fake_api, boss, "30", form)
        form = await _say(fake_api, boss, "restart test", form)
        await step("expiry")
        summary = await _tap(fake_api, boss, form, _has(form, buttons.SKIP.build(ALICE)))
        assert "Balance: 50.00 credits → <b>80.00 credits</b>" in summary.text
        await step("confirm")
        save = _save(summary)
        card = await _tap(fake_api, boss, summary, save)
        assert "✅ Added 30.00 credits." in card.text
        await restart()
        again = await _refused(fake_api, boss, summary, save)
        assert "already saved" in again["text"]
    assert (await _balance(db)).balance == 8_000
    await assert_audit_ok(db)


async def test_the_cli_and_the_chat_share_the_removal_rule(db: Database) -> None:
    await make_reseller(db, ALICE, name="Alice", credit=5_000)
    with pytest.raises(credits.TooMuchToRemove) as refused:
        await wallet.remove_credit(db, telegram_id=ALICE, amount=5_001,
                                   tx_type=TxType.ADJUSTMENT, actor="cli", key=key())  # fmt: skip
    assert refused.value.maximum == 5_000
    assert isinstance(refused.value, ledger.InsufficientCredit)  # the CLI's message still
