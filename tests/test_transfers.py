"""Transfers between resellers: what may be sent, the movement and its row, the daily
limit in the bot's zone, and an admin's settings and reversal."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.services import ledger, resellers, transfer_admin, transfers, wallet
from bot.services.transfer_rules import Sent, TransferError
from models import (
    AdminAction,
    Billing,
    CreditGrant,
    CreditTransfer,
    EntryKind,
    OutboxMessage,
    ResellerStatus,
    TransferKind,
    TxType,
)
from tests.helpers import assert_audit_ok, key, make_reseller, now

ALICE, BOB, CAROL = 1001, 1002, 1003
UTC = ZoneInfo("UTC")


@pytest.fixture
async def three(db: Database) -> None:
    await make_reseller(db, ALICE, name="Alice", credit=10_000, username="alice_sells")
    await make_reseller(db, BOB, name="Bob", username="BobTheSeller")
    await make_reseller(db, CAROL, name="Carol", credit=500)


async def _send(db: Database, amount: int, to: str | int = BOB, **kw: object) -> Sent:
    args: dict[str, object] = {
        "sender_telegram_id": ALICE,
        "recipient": to,
        "amount": amount,
        "note": None,
        "key": key(),
        "now": now(),
        "zone": UTC,
    } | kw
    return await transfers.send(db, **args)  # type: ignore[arg-type]


async def _balance(db: Database, telegram_id: int) -> ledger.Balance:
    async with db.transaction() as session:
        reseller = await resellers.require_by_telegram_id(session, telegram_id)
        return await ledger.balance(session, reseller.account_id)


async def _code(coro: object) -> TransferError:
    with pytest.raises(TransferError) as raised:
        await coro  # type: ignore[misc]
    return raised.value


async def _rows(db: Database) -> list[CreditTransfer]:
    async with db.transaction() as session:
        return list(await session.scalars(select(CreditTransfer).order_by(CreditTransfer.id)))


async def test_a_transfer_moves_the_credits_records_a_row_and_queues_the_receivers_notice(
    db: Database, three: None
) -> None:
    sent = await _send(db, 2_550, to="@bobtheseller", note="  for the weekend  ")
    assert (sent.amount, sent.note, sent.recipient.name, sent.replayed) == (
        2_550,
        "for the weekend",
        "Bob",
        False,
    )
    assert (await _balance(db, ALICE)).balance == 7_450
    assert (await _balance(db, BOB)).balance == 2_550
    [row] = await _rows(db)
    assert (row.kind, row.amount, row.comment, row.actor_telegram_id) == (
        TransferKind.TRANSFER,
        2_550,
        "for the weekend",
        ALICE,
    )
    async with db.transaction() as session:
        grant = await session.scalar(
            select(CreditGrant).where(CreditGrant.transfer_id == row.ledger_transfer_id)
        )
        notices = list(await session.scalars(select(OutboxMessage)))
    assert grant is not None and grant.expires_at is None
    [notice] = notices
    assert (notice.kind, notice.chat_id) == ("transfer_received", BOB)
    assert json.loads(notice.payload)["sender"] == "Alice"
    page = await wallet.history_page(db, BOB, page=0)
    assert (page.entries[0].kind, page.entries[0].other, page.entries[0].amount) == (
        EntryKind.TRANSFER,
        "Alice",
        2_550,
    )
    mine = await wallet.history_page(db, ALICE, page=0)
    assert (mine.entries[0].other, mine.entries[0].amount) == ("Bob", -2_550)
    await assert_audit_ok(db)


async def test_the_same_key_sends_once_and_returns_the_first_result(
    db: Database, three: None
) -> None:
    once = key()
    first = await _send(db, 10_000, key=once)
    again = await _send(db, 10_000, key=once)
    assert again.replayed and again.transfer_id == first.transfer_id
    assert len(await _rows(db)) == 1
    assert (await _balance(db, ALICE)).balance == 0
    await assert_audit_ok(db)


async def test_refusals_name_the_reason_and_move_nothing(db: Database, three: None) -> None:
    await make_reseller(db, 1004, name="Dave")
    await resellers.set_status(
        db, telegram_id=1004, status=ResellerStatus.SUSPENDED, actor="test", now=now()
    )
    assert (await _code(_send(db, 100, to="@nobody_here"))).code == "recipient_unknown"
    assert (await _code(_send(db, 100, to=999_999))).code == "recipient_unknown"
    assert (await _code(_send(db, 100, to="not a name!"))).code == "recipient_unreadable"
    # Digits that make no number (a superscript, a circled one) read as no name either.
    assert (await _code(_send(db, 100, to="10²"))).code == "recipient_unreadable"
    assert (await _code(_send(db, 100, to="①"))).code == "recipient_unreadable"
    assert (await _code(_send(db, 100, to=1004))).code == "recipient_suspended"
    assert (await _code(_send(db, 100, to="@alice_sells"))).code == "recipient_self"
    over = await _code(_send(db, 10_001))
    assert (over.code, over.params["available"], over.params["missing"]) == (
        "insufficient",
        10_000,
        1,
    )
    long = await _code(_send(db, 100, note="x" * 256))
    assert (long.code, long.params["length"]) == ("note_too_long", 256)
    assert (await _code(_send(db, 0))).code == "bad_amount"
    assert await _rows(db) == []
    assert (await _balance(db, ALICE)).balance == 10_000


async def test_a_suspended_or_forbidden_sender_cannot_transfer(db: Database, three: None) -> None:
    await transfer_admin.set_allowed(
        db, telegram_id=ALICE, allowed=False, actor="tg:900", now=now()
    )
    assert (await _code(_send(db, 100))).code == "transfers_forbidden"
    await transfer_admin.set_allowed(db, telegram_id=ALICE, allowed=True, actor="tg:900", now=now())
    await resellers.set_status(
        db, telegram_id=ALICE, status=ResellerStatus.SUSPENDED, actor="test", now=now()
    )
    assert (await _code(_send(db, 100))).code == "sender_suspended"
    async with db.transaction() as session:
        logged = list(
            await session.scalars(
                select(AdminAction.details).where(AdminAction.action == "transfer_allowed")
            )
        )
    assert [json.loads(d or "{}")["after"] for d in logged] == [
        {"transfers_allowed": False},
        {"transfers_allowed": True},
    ]


async def test_a_postpaid_sender_may_transfer_only_what_it_has_above_zero(db: Database) -> None:
    await make_reseller(db, ALICE, name="Alice", billing=Billing.POSTPAID, credit_limit=50_000)
    await make_reseller(db, BOB, name="Bob")
    refused = await _code(_send(db, 100))
    assert (refused.code, refused.params["available"]) == ("insufficient", 0)
    await wallet.add_credit(
        db,
        telegram_id=ALICE,
        amount=3_000,
        tx_type=TxType.PURCHASE,
        actor="t",
        key=key(),
        now=now(),
    )
    await _send(db, 3_000)
    assert (await _balance(db, ALICE)).balance == 0
    await assert_audit_ok(db)


async def test_the_daily_limit_counts_the_local_day_and_says_what_is_left(
    db: Database, three: None
) -> None:
    zone = ZoneInfo("Asia/Tehran")  # UTC+03:30
    await transfer_admin.set_daily_limit(
        db, telegram_id=ALICE, limit=3_000, actor="tg:900", now=now()
    )
    # 22:00 UTC is 01:30 the next day in Tehran: a new local day has begun.
    evening = dt.datetime.combine(now().date(), dt.time(20, 0), tzinfo=dt.UTC)
    await _send(db, 2_000, now=evening, zone=zone)
    refused = await _code(_send(db, 1_500, now=evening + dt.timedelta(minutes=5), zone=zone))
    assert (refused.code, refused.params["left"], refused.params["limit"]) == (
        "daily_limit",
        1_000,
        3_000,
    )
    await _send(db, 3_000, now=evening + dt.timedelta(hours=2), zone=zone)
    later = evening + dt.timedelta(hours=2, minutes=1)
    shown = transfers.preview(
        db, sender_telegram_id=ALICE, recipient=BOB, amount=100, note=None, now=later, zone=zone
    )
    assert (await _code(shown)).params["left"] == 0
    assert (await _code(_send(db, 100, now=later, zone=zone))).code == "daily_limit"
    cleared = await transfer_admin.set_daily_limit(
        db, telegram_id=ALICE, limit=None, actor="tg:900", now=now()
    )
    assert cleared.name == "Alice"
    await _send(db, 100, now=evening + dt.timedelta(hours=2, minutes=2), zone=zone)
    assert (
        await _code(
            transfer_admin.set_daily_limit(
                db, telegram_id=ALICE, limit=0, actor="tg:900", now=now()
            )
        )
    ).code == "bad_limit"


async def test_the_preview_shows_both_names_and_the_available_credit_after(
    db: Database, three: None
) -> None:
    found = await transfers.preview(
        db,
        sender_telegram_id=ALICE,
        recipient="BOBTHESELLER",
        amount=1_000,
        note="hi",
        now=now(),
        zone=UTC,
    )
    assert (found.sender.name, found.recipient.name) == ("Alice", "Bob")
    assert (found.available_before, found.available_after, found.left_today) == (
        10_000,
        9_000,
        None,
    )
    assert await _rows(db) == []


async def test_an_admin_reverses_a_transfer_once_while_the_receiver_has_the_credits(
    db: Database, three: None
) -> None:
    sent = await _send(db, 4_000)
    done = await transfer_admin.reverse(
        db,
        transfer_id=sent.transfer_id,
        telegram_id=ALICE,
        reason="wrong reseller",
        actor="tg:900",
        actor_telegram_id=900,
        now=now(),
    )
    assert (done.sender_balance.balance, done.recipient_balance.balance) == (10_000, 0)
    again = await _code(
        transfer_admin.reverse(
            db,
            transfer_id=sent.transfer_id,
            telegram_id=ALICE,
            reason="again",
            actor="tg:900",
            actor_telegram_id=900,
            now=now(),
        )
    )
    assert again.code == "already_reversed"
    rows = await _rows(db)
    assert [(r.kind, r.reverses_id) for r in rows] == [
        (TransferKind.TRANSFER, None),
        (TransferKind.REVERSAL, sent.transfer_id),
    ]
    page = await wallet.history_page(db, BOB, page=0)
    assert (page.entries[0].kind, page.entries[0].other, page.entries[0].comment) == (
        EntryKind.TRANSFER_REVERSAL,
        "Alice",
        "wrong reseller",
    )
    listing = await transfer_admin.transfers_page(db, ALICE, page=0)
    assert [(i.kind, i.reversed_by) for i in listing.items] == [
        (TransferKind.REVERSAL, None),
        (TransferKind.TRANSFER, rows[1].id),
    ]
    async with db.transaction() as session:
        kinds = list(await session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))
        logged = await session.scalar(
            select(func.count()).where(AdminAction.action == "transfer_reversed")
        )
    assert kinds == ["transfer_received", "transfer_reversed", "transfer_reversed"]
    assert logged == 1
    # The reversed transfer no longer counts towards the day's limit.
    await transfer_admin.set_daily_limit(
        db, telegram_id=ALICE, limit=10_000, actor="tg:900", now=now()
    )
    await _send(db, 10_000)
    await assert_audit_ok(db)


async def test_a_reversal_is_refused_when_the_receiver_spent_the_credits(
    db: Database, three: None
) -> None:
    sent = await _send(db, 4_000)
    await wallet.remove_credit(
        db, telegram_id=BOB, amount=3_000, tx_type=TxType.ADJUSTMENT, actor="t", key=key()
    )
    refused = await _code(
        transfer_admin.reverse(
            db,
            transfer_id=sent.transfer_id,
            telegram_id=ALICE,
            reason="wrong reseller",
            actor="tg:900",
            actor_telegram_id=900,
            now=now(),
        )
    )
    assert (refused.code, refused.params["available"], refused.params["missing"]) == (
        "receiver_short",
        1_000,
        3_000,
    )
    for transfer_id, telegram_id, reason in (
        (sent.transfer_id, BOB, "x"),  # Bob received it, did not send it
        (sent.transfer_id + 99, ALICE, "x"),
        (sent.transfer_id, ALICE, "  "),
    ):
        with pytest.raises(TransferError):
            await transfer_admin.reverse(
                db,
                transfer_id=transfer_id,
                telegram_id=telegram_id,
                reason=reason,
                actor="tg:900",
                actor_telegram_id=900,
                now=now(),
            )
    assert len(await _rows(db)) == 1
    await assert_audit_ok(db)


async def test_opposite_transfers_at_once_both_go_through(db: Database, three: None) -> None:
    await wallet.add_credit(
        db, telegram_id=BOB, amount=5_000, tx_type=TxType.PURCHASE, actor="t", key=key(), now=now()
    )
    results = await asyncio.gather(
        _send(db, 1_000), _send(db, 2_000, sender_telegram_id=BOB, to=ALICE)
    )
    assert [r.amount for r in results] == [1_000, 2_000]
    assert (await _balance(db, ALICE)).balance == 11_000
    assert (await _balance(db, BOB)).balance == 4_000
    await assert_audit_ok(db)


async def test_two_transfers_at_once_cannot_both_pass_the_daily_limit(
    db: Database, three: None
) -> None:
    await transfer_admin.set_daily_limit(
        db, telegram_id=ALICE, limit=3_000, actor="tg:900", now=now()
    )
    results = await asyncio.gather(
        _send(db, 2_000), _send(db, 2_000, to=CAROL), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, TransferError)]
    assert len(refused) == 1 and refused[0].code == "daily_limit"
    assert len(await _rows(db)) == 1
    assert (await _balance(db, ALICE)).balance == 8_000
    await assert_audit_ok(db)
