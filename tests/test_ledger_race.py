"""Concurrent debits: the conditional UPDATE lets through exactly what the balance allows."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import ledger, ledger_postings
from bot.services.ledger import InsufficientCredit
from models import EntryKind, Transfer
from tests.helpers import assert_audit_ok, make_reseller


async def test_fifty_concurrent_debits_spend_exactly_the_balance(db: Database) -> None:
    alice = await make_reseller(db, credit=1_000)

    async def debit(i: int) -> bool:
        async def _work(session: AsyncSession) -> None:
            await ledger_postings.spend(
                session,
                account_id=alice.account_id,
                amount=30,
                kind=EntryKind.ACTIVATION,
                actor="race",
                key=f"race-{i}",
            )

        try:
            await db.run(_work)
        except InsufficientCredit:
            return False
        return True

    results = await asyncio.gather(*(debit(i) for i in range(50)))
    assert sum(results) == 33  # 33 * 30 = 990 <= 1000 < 34 * 30
    async with db.transaction() as session:
        assert (await ledger.balance(session, alice.account_id)).balance == 10
    await assert_audit_ok(db)


async def test_concurrent_repeats_of_one_key_move_once(db: Database) -> None:
    alice = await make_reseller(db, credit=1_000)

    async def debit() -> int:
        async def _work(session: AsyncSession) -> int:
            movement = await ledger_postings.spend(
                session,
                account_id=alice.account_id,
                amount=100,
                kind=EntryKind.ACTIVATION,
                actor="race",
                key="same-tap",
            )
            return movement.transfer_id

        return await db.run(_work)

    transfer_ids = await asyncio.gather(*(debit() for _ in range(20)))
    assert len(set(transfer_ids)) == 1
    async with db.transaction() as session:
        assert (await ledger.balance(session, alice.account_id)).balance == 900
        count = await session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == "activation")
        )
    assert count == 1
    await assert_audit_ok(db)
