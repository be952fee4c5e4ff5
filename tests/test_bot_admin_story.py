"""The issue's story, tried as a new user would, through the real bot: an owner registers
a postpaid reseller from a contact shared with Telegram's user picker, adds 100.50 credits
as a Purchase with a comment and an expiry, removes 20 as an Adjustment; the reseller
sells on credit; a second owner records 50 cash received. After each step the balance is
checked and the reseller is told through the outbox; then ``python -m bot audit`` passes
on the same database and the action log, in chat and in the database, shows the four
actions newest first, each with the admin who did it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from bot import cli
from bot.context import BotApplication
from bot.db import Database
from bot.services import ledger, ledger_postings
from bot.services.credits import Action
from bot.services.resellers import require_by_telegram_id
from bot.settings import Settings
from handlers.admin import callbacks, enrol_views
from handlers.admin import credit_callbacks as credit_buttons
from handlers.admin import postpaid_callbacks as cash_buttons
from handlers.admin import reseller_callbacks as reseller_buttons
from models import AdminAction, Billing, CreditGrant, EntryKind, OutboxMessage, TxType
from tests.conftest import ADMIN_ID, OTHER_ADMIN_ID, database_from_url
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import key, now
from tests.test_bot_action_log import _entries
from tests.test_jobs import drain

DANA = 3001
SOLD = 15_000  # what Dana sells on credit between the removal and the cash


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    """Tap a button the message shows; the bot's next message or edit follows."""
    assert data in [d for _, d in event.buttons], (data, event.buttons)
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def _say(fake_api: FakeBotAPI, user: User, text: str) -> Event:
    await fake_api.send(user, text)
    return await fake_api.next_event(user.id)


def _one(event: Event, prefix: str) -> str:
    found = [d for _, d in event.buttons if d.startswith(prefix)]
    assert len(found) == 1, (prefix, event.buttons)
    return found[0]


async def _save_once(fake_api: FakeBotAPI, user: User, summary: Event, data: str) -> Event:
    """Save tapped twice in a row, as a thumb does: the second tap does nothing more."""
    first = await fake_api.tap(user, summary, data)
    second = await fake_api.tap(user, summary, data)
    await fake_api.answer(first)
    await fake_api.answer(second)
    return await fake_api.next_event(user.id)


async def _card(fake_api: FakeBotAPI, user: User) -> Event:
    listing = await _say(fake_api, user, "/resellers")
    return await _tap(fake_api, user, listing, callbacks.CARD.build(DANA))


async def _balance(db: Database) -> ledger.Balance:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, DANA)
        return await ledger.balance(session, reseller.account_id)


async def _told(
    bot: BotApplication, db: Database, settings: Settings, fake_api: FakeBotAPI
) -> list[str]:
    """Send what the outbox holds and return what reached Dana's chat."""
    await drain(bot, db, settings, now())
    told = []
    while fake_api.unread(DANA):
        told.append((await fake_api.next_event(DANA)).text)
    return told


def _audit(monkeypatch: pytest.MonkeyPatch, database_url: str) -> int:
    """``python -m bot audit`` as an operator runs it, on the bot's database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CURRENCY", "credits")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    # Keep PostgreSQL runs inside the test's private schema (as tests/test_cli.py does).
    monkeypatch.setattr("bot.db.Database.from_url", staticmethod(database_from_url))
    return cli.main(["audit"])


async def test_an_owner_registers_credits_and_a_second_owner_records_cash_and_all_is_logged(
    bot: BotApplication,
    db: Database,
    settings: Settings,
    fake_api: FakeBotAPI,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    boss = fake_api.user(ADMIN_ID, "Boss")
    other = fake_api.user(OTHER_ADMIN_ID, "Omid")
    dana = fake_api.user(DANA, "Dana", username="dana_sells")
    await _say(fake_api, dana, "/start")  # she has started the bot: she can be picked

    # 1. The owner registers her, postpaid, from the contact Telegram's picker shares.
    listing = await _say(fake_api, boss, "/resellers")
    await _tap(fake_api, boss, listing, reseller_buttons.NEW.build())
    await fake_api.send_users_shared(boss, enrol_views.PICK_REQUEST_ID, [dana])
    chosen = await fake_api.next_event(boss.id)
    assert "Dana" in chosen.text
    kind = await fake_api.next_event(boss.id)
    await _tap(fake_api, boss, kind, reseller_buttons.NEW_TYPE.build(Billing.POSTPAID))
    await _say(fake_api, boss, "300")  # the collection limit
    summary = await _say(fake_api, boss, "10")  # the low-balance threshold
    assert "Type: postpaid" in summary.text and "300.00" in summary.text
    done = await _save_once(fake_api, boss, summary, _one(summary, "adm:rns:"))
    assert "Registered" in done.text
    assert await _balance(db) == ledger.Balance(balance=0, held=0, credit_limit=30_000)
    [welcome] = await _told(bot, db, settings, fake_api)
    assert "An admin has registered you as a reseller" in welcome

    # 2. 100.50 credits added as a Purchase, with a comment and a typed expiry.
    card = await _card(fake_api, boss)
    form = await _tap(fake_api, boss, card, credit_buttons.OPEN.build(DANA))
    form = await _tap(fake_api, boss, form, credit_buttons.ACTION.build(DANA, Action.ADD))
    form = await _tap(fake_api, boss, form, credit_buttons.TYPE.build(DANA, TxType.PURCHASE))
    form = await _say(fake_api, boss, "100.50")
    form = await _say(fake_api, boss, "Paid by bank transfer, ref 77")
    assert "Do these credits expire?" in form.text
    last_day = now().astimezone(settings.zone).date() + dt.timedelta(days=30)
    summary = await _say(fake_api, boss, last_day.isoformat())
    assert f"Usable until: {last_day.isoformat()}, included" in summary.text
    assert "Balance: 0.00 credits → <b>100.50 credits</b>" in summary.text
    saved = await _save_once(fake_api, boss, summary, _one(summary, f"adm:crs:{DANA}:"))
    assert "✅ Added 100.50 credits. Balance: 0.00 credits → 100.50 credits." in saved.text
    assert (await _balance(db)).balance == 10_050
    [added] = await _told(bot, db, settings, fake_api)
    assert "An admin added 100.50 credits to your balance." in added
    assert "Balance: 100.50 credits (available 100.50 credits)." in added
    assert f"They can be used until {last_day.isoformat()}, included." in added
    assert "Comment: Paid by bank transfer, ref 77" in added
    async with db.transaction() as session:
        grant = await session.scalar(select(CreditGrant).where(CreditGrant.amount == 10_050))
    assert grant is not None and grant.expires_at is not None
    expires = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    assert grant.expires_at.replace(tzinfo=dt.UTC) == expires

    # 3. 20 removed as an Adjustment (no expiry is asked for a removal).
    card = await _card(fake_api, boss)
    form = await _tap(fake_api, boss, card, credit_buttons.OPEN.build(DANA))
    form = await _tap(fake_api, boss, form, credit_buttons.ACTION.build(DANA, Action.REMOVE))
    form = await _tap(fake_api, boss, form, credit_buttons.TYPE.build(DANA, TxType.ADJUSTMENT))
    form = await _say(fake_api, boss, "20")
    summary = await _tap(fake_api, boss, form, credit_buttons.SKIP.build(DANA))
    assert "Usable until" not in summary.text
    assert "Balance: 100.50 credits → <b>80.50 credits</b>" in summary.text
    saved = await _save_once(fake_api, boss, summary, _one(summary, f"adm:crs:{DANA}:"))
    assert "✅ Removed 20.00 credits. Balance: 100.50 credits → 80.50 credits." in saved.text
    assert (await _balance(db)).balance == 8_050
    [removed] = await _told(bot, db, settings, fake_api)
    assert "An admin removed 20.00 credits from your balance." in removed
    assert "Balance: 80.50 credits" in removed

    # She sells on credit: 150.00, so she owes 69.50 (no admin action, nothing logged).
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, DANA)
        await ledger_postings.spend(session, account_id=reseller.account_id, amount=SOLD,
                           kind=EntryKind.ACTIVATION, actor="test", key=key())  # fmt: skip
    assert (await _balance(db)).balance == 8_050 - SOLD

    # 4. The second owner records 50 cash received from her.
    card = await _card(fake_api, other)
    prompt = await _tap(fake_api, other, card, cash_buttons.CASH.build(DANA))
    assert "They owe 69.50 credits" in prompt.text
    methods = await _say(fake_api, other, "50")
    reference = await _tap(fake_api, other, methods, cash_buttons.CASH_METHOD.build(0))
    comment = await _tap(fake_api, other, reference, cash_buttons.CASH_SKIP.build())
    summary = await _say(fake_api, other, "Cash at the office")
    assert "Owed: 69.50 credits → <b>19.50 credits</b>" in summary.text
    saved = await _save_once(fake_api, other, summary, _one(summary, "adm:cashok:"))
    assert comment.message["message_id"] == summary.message["message_id"]
    assert "Recorded 50.00 credits received from Dana" in saved.text
    assert "owe 19.50 credits" in saved.text
    assert (await _balance(db)).balance == 8_050 - SOLD + 5_000
    [cash] = await _told(bot, db, settings, fake_api)
    assert "An admin recorded 50.00 credits received from you." in cash
    assert "You now owe 19.50 credits." in cash

    # 5. The operator's audit, on the same database, finds the ledger consistent.
    code = await asyncio.to_thread(_audit, monkeypatch, database_url)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Ledger audit OK" in out and "problem:" not in out

    # 6. The action log: the four actions, newest first, each with who did it.
    screen = await _say(fake_api, boss, "/log")
    assert "(4, page 1 of 1)" in screen.text
    entries = _entries(screen)
    assert len(entries) == 4
    for entry, admin, what in zip(
        entries,
        (OTHER_ADMIN_ID, ADMIN_ID, ADMIN_ID, ADMIN_ID),
        (
            "💵 Cash received: 50.00 credits · 👤 Dana",
            "➖ Credits removed: 20.00 credits · 👤 Dana",
            "➕ Credits added: 100.50 credits · 👤 Dana",
            "🆕 Reseller registered: postpaid · 👤 Dana",
        ),
        strict=True,
    ):
        assert f"· <code>{admin}</code>\n" in entry, entry
        assert what in entry, entry
    assert "💬 Cash at the office" in entries[0]
    assert "💬 Paid by bank transfer, ref 77" in entries[2]

    async with db.transaction() as session:
        logged = (
            await session.execute(
                select(AdminAction.actor, AdminAction.action, AdminAction.details).order_by(
                    AdminAction.created_at.desc(), AdminAction.id.desc()
                )
            )
        ).all()
        told = list(
            await session.scalars(
                select(OutboxMessage.kind)
                .where(OutboxMessage.chat_id == DANA)
                .order_by(OutboxMessage.id)
            )
        )
    assert [(actor, action) for actor, action, _ in logged] == [
        (f"tg:{OTHER_ADMIN_ID}", "cash_received"),
        (f"tg:{ADMIN_ID}", "credit_removed"),
        (f"tg:{ADMIN_ID}", "credit_added"),
        (f"tg:{ADMIN_ID}", "reseller_registered"),
    ]
    details: list[dict[str, Any]] = [json.loads(d or "{}") for _, _, d in logged]
    assert details[0]["before"]["owed"] == 6_950 and details[0]["after"]["owed"] == 1_950
    assert [d["after"].get("amount") for d in details[:3]] == [5_000, 2_000, 10_050]
    assert details[3]["after"]["billing"] == "postpaid"
    # Each notice sent once, double taps notwithstanding.
    assert told == ["reseller_welcome", "credit_added", "credit_removed", "cash_received"]
