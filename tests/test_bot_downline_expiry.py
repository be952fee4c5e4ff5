"""Credits a parent gives its sub-reseller in chat keep their expiry: the summary says
which part expires sooner than the day chosen, the child's notice and /balance show each
part's day, and credits taken back reach the parent's /balance with the day they had."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.context import BotApplication
from bot.db import Database
from bot.services import downline, wallet
from bot.services.resellers import require_by_telegram_id
from bot.settings import Settings
from handlers.downline import callbacks as buttons
from models import CreditGrant, TxType
from tests.fake_bot_api import Event, FakeBotAPI
from tests.helpers import assert_audit_ok, key, make_reseller, now
from tests.test_bot_downline import _balance, _card, _form, _say, _tap
from tests.test_jobs import drain

A, B = 4001, 4002  # the ids tests.test_bot_downline's helpers use


async def _expiring(db: Database, telegram_id: int, amount: int, expires_at: dt.datetime) -> None:
    await wallet.add_credit(
        db,
        telegram_id=telegram_id,
        amount=amount,
        tx_type=TxType.PURCHASE,
        actor="test",
        key=key(),
        now=now(),
        expires_at=expires_at,
    )


async def _grants(db: Database, telegram_id: int) -> list[tuple[dt.datetime | None, int]]:
    """(expires_at, free) of a reseller's open grants with credit left, soonest first."""
    async with db.transaction() as session:
        account = (await require_by_telegram_id(session, telegram_id)).account_id
        rows = await session.execute(
            select(CreditGrant.expires_at, CreditGrant.remaining)
            .where(
                CreditGrant.account_id == account,
                CreditGrant.expired_at.is_(None),
                CreditGrant.remaining > 0,
            )
            .order_by(CreditGrant.expires_at.asc().nulls_last(), CreditGrant.id)
        )
        return [(e, r) for e, r in rows]


def _save(event: Event) -> str:
    return next(d for _, d in event.buttons if d.startswith("dl:as:"))


async def test_added_credits_keep_the_parents_sooner_expiry_and_come_back_with_it(
    bot: BotApplication, db: Database, settings: Settings, fake_api: FakeBotAPI
) -> None:
    zone = settings.zone
    await make_reseller(db, A, name="Alpha", credit=10_000)  # 100.00 that never expire
    soon = now() + dt.timedelta(days=2)
    await _expiring(db, A, 3_000, soon)
    await downline.set_depth(db, telegram_id=A, depth=1, actor="tg:1", now=now())
    await downline.register_child(
        db,
        parent_telegram_id=A,
        telegram_id=B,
        name="Bravo",
        username=None,
        low_balance_threshold=0,
        now=now(),
    )
    alpha, bravo = fake_api.user(A, "Alpha"), fake_api.user(B, "Bravo")

    # 50.00 usable until day 5: 30.00 of them are Alpha's that expire on day 2.
    card = await _card(fake_api, alpha)
    form = await _form(fake_api, alpha, card, "add", TxType.PURCHASE)
    form = await _say(fake_api, alpha, "50")
    form = await _tap(fake_api, alpha, form, buttons.SKIP.build(B))  # no comment
    day5 = (now() + dt.timedelta(days=5)).astimezone(zone).date()
    summary = await _tap(fake_api, alpha, form, buttons.CALENDAR.day(B, day5))
    last_soon = (soon - dt.timedelta(seconds=1)).astimezone(zone).date()
    assert "a part that expires sooner than the day you chose expires then" in summary.text
    assert f"30.00 credits of them can be used until {last_soon}, included." in summary.text
    assert "20.00 credits of them" not in summary.text  # the rest ends on the day chosen

    card = await _tap(fake_api, alpha, summary, _save(summary))
    assert "✅ Gave 50.00 credits." in card.text
    ends = dt.datetime.combine(day5 + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    assert await _grants(db, B) == [(soon, 3_000), (ends.astimezone(dt.UTC), 2_000)]
    await drain(bot, db, settings, now())
    told = "\n".join(e.text for e in fake_api.events(B))  # the welcome, then the gift
    while fake_api.unread(B):
        await fake_api.next_event(B)
    assert "Alpha gave you 50.00 credits." in told
    assert f"30.00 credits of them can be used until {last_soon}, included." in told
    assert f"20.00 credits of them can be used until {day5}, included." in told

    theirs = await _say(fake_api, bravo, "/balance")
    assert "Balance: 50.00 credits" in theirs.text
    assert f"30.00 credits on {soon.astimezone(zone):%Y-%m-%d}" in theirs.text
    assert f"20.00 credits on {ends:%Y-%m-%d}" in theirs.text
    mine = await _say(fake_api, alpha, "/balance")
    assert "Balance: 80.00 credits" in mine.text and "Expiring within 30 days" not in mine.text

    # Taking 40.00 back: Alpha gets Bravo's soonest-expiring, with their days, not credits
    # that never expire; an addition without a day chosen says which part expires.
    form = await _form(fake_api, alpha, await _card(fake_api, alpha), "remove", TxType.PURCHASE)
    form = await _say(fake_api, alpha, "40")
    summary = await _tap(fake_api, alpha, form, buttons.SKIP.build(B))
    assert "keep their expiry" not in summary.text  # a removal has no day to choose
    card = await _tap(fake_api, alpha, summary, _save(summary))
    assert "✅ Took back 40.00 credits." in card.text
    mine = await _say(fake_api, alpha, "/balance")
    assert "Balance: 120.00 credits" in mine.text
    assert f"30.00 credits on {soon.astimezone(zone):%Y-%m-%d}" in mine.text
    assert f"10.00 credits on {ends:%Y-%m-%d}" in mine.text
    assert await _grants(db, A) == [
        (soon, 3_000),
        (ends.astimezone(dt.UTC), 1_000),
        (None, 8_000),
    ]
    theirs = await _say(fake_api, bravo, "/balance")
    assert "Balance: 10.00 credits" in theirs.text
    assert f"10.00 credits on {ends:%Y-%m-%d}" in theirs.text

    form = await _form(fake_api, alpha, await _card(fake_api, alpha), "add", TxType.PURCHASE)
    form = await _say(fake_api, alpha, "35")
    form = await _tap(fake_api, alpha, form, buttons.SKIP.build(B))
    summary = await _tap(fake_api, alpha, form, buttons.SKIP.build(B))  # no expiry
    assert "for them these expire as for you" in summary.text
    assert f"30.00 credits of them can be used until {last_soon}, included." in summary.text
    assert f"5.00 credits of them can be used until {day5}, included." in summary.text
    assert (await _balance(db, A)).balance == 12_000
    await assert_audit_ok(db)
