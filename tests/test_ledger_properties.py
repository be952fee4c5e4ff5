"""Property-based test of the ledger.

Random sequences of grants (some expiring), debits, holds, posts, voids, transfers,
removals, cash received and expiry runs, with idempotency keys that repeat. After every
step: balances match a simple model, the audit passes, no account is below its limit; a
transfer takes only credit above zero and never lengthens any credit's life.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import alerts, ledger, ledger_holds, ledger_postings, wallet
from bot.services.ledger import IdempotencyConflict, InsufficientCredit
from bot.services.ledger_holds import HoldNotPending
from models import (
    Billing,
    CreditGrant,
    EntryKind,
    Hold,
    HoldAllocation,
    HoldStatus,
    Transfer,
    TxType,
)
from tests.conftest import _reset_postgres, database_from_url
from tests.helpers import make_reseller

PREPAID, POSTPAID = 0, 1
LIMIT = 500
amounts = st.integers(min_value=1, max_value=400)
who = st.sampled_from([PREPAID, POSTPAID])
keys = st.sampled_from([f"k{i}" for i in range(5)])  # few keys, so they repeat

operations = st.one_of(
    st.tuples(st.just("grant"), who, amounts, st.sampled_from([0, 1, 3, 10]), keys),
    st.tuples(st.just("spend"), who, amounts, keys),
    st.tuples(st.just("remove"), who, amounts, keys),
    st.tuples(st.just("hold"), who, amounts, keys),
    st.tuples(st.just("transfer"), who, amounts, keys),
    st.tuples(st.just("cash"), st.just(POSTPAID), amounts, keys),
    st.tuples(st.just("post"), st.integers(0, 5)),
    st.tuples(st.just("void"), st.integers(0, 5)),
    st.tuples(st.just("advance"), st.integers(1, 5)),
)


@dataclass
class HoldModel:
    hold_id: int
    who: int
    amount: int
    status: HoldStatus = HoldStatus.PENDING


@dataclass
class Model:
    balance: list[int] = field(default_factory=lambda: [0, 0])
    held: list[int] = field(default_factory=lambda: [0, 0])
    limits: tuple[int, int] = (0, LIMIT)
    used: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # key -> first operation
    holds: list[HoldModel] = field(default_factory=list)

    def can_take(self, i: int, amount: int, *, above_zero: bool = False) -> bool:
        """A transfer takes only credit above zero, never a collection limit."""
        floor = 0 if above_zero else -self.limits[i]
        return self.balance[i] - self.held[i] - amount >= floor


class Scenario:
    def __init__(self, db: Database, accounts: list[int]) -> None:
        self.db = db
        self.accounts = accounts
        self.model = Model()
        self.clock = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

    async def step(self, op: tuple[Any, ...]) -> None:
        name = op[0]
        if name == "advance":
            self.clock += dt.timedelta(days=op[1])
            for item in await alerts.expire_grants(self.db, self.clock):
                self.model.balance[self.accounts.index(item.account_id)] -= item.amount
        elif name in ("post", "void"):
            await self._resolve(name, op[1])
        else:
            await self._move(op)
        await self.check()

    async def _move(self, op: tuple[Any, ...]) -> None:
        name, i, amount, k = op[0], op[1], op[2], f"{op[0]}:{op[-1]}"
        m = self.model
        first = m.used.get(k)
        if name == "grant":
            # The same key is the same grant only with the same expiry date, which is
            # relative to the clock here.
            op = (*op, self._expiry(op[3]))
        lives = await self._by_expiry()
        try:
            async with self.db.transaction() as session:
                result = await self._call(session, op, k)
        except InsufficientCredit:
            assert first is None and not m.can_take(i, amount, above_zero=name == "transfer")
            return
        except IdempotencyConflict:
            assert first is not None and first != op
            return
        if first is not None:
            assert first == op and result.replayed
            return
        assert not result.replayed
        m.used[k] = op
        if name == "grant" or name == "cash":
            m.balance[i] += amount
        elif name in ("spend", "remove"):
            m.balance[i] -= amount
        elif name == "transfer":
            await self._check_kept_expiry(lives, amount, owed=max(0, -m.balance[1 - i]))
            m.balance[i] -= amount
            m.balance[1 - i] += amount
        elif name == "hold":
            m.held[i] += amount
            m.holds.append(HoldModel(result.hold_id, i, amount))

    async def _by_expiry(self) -> dict[dt.datetime | None, int]:
        """Both resellers' open grant credit (free and reserved) by expiry."""
        async with self.db.transaction() as session:
            reserved = (
                select(
                    HoldAllocation.grant_id.label("grant_id"),
                    func.sum(HoldAllocation.amount).label("s"),
                )
                .join(Hold, Hold.id == HoldAllocation.hold_id)
                .where(Hold.status == HoldStatus.PENDING)
                .group_by(HoldAllocation.grant_id)
                .subquery()
            )
            rows = await session.execute(
                select(
                    CreditGrant.expires_at,
                    CreditGrant.remaining + func.coalesce(reserved.c.s, 0),
                )
                .outerjoin(reserved, reserved.c.grant_id == CreditGrant.id)
                .where(CreditGrant.expired_at.is_(None))
            )
            found: dict[dt.datetime | None, int] = {}
            for expires_at, credit in rows:
                found[expires_at] = found.get(expires_at, 0) + int(credit)
            return found

    async def _check_kept_expiry(
        self, before: dict[dt.datetime | None, int], amount: int, owed: int
    ) -> None:
        """A transfer never lengthens a credit's life: no expiry gains credit, and all
        it loses is what paid the receiver's debt."""
        after = await self._by_expiry()
        assert all(after.get(e, 0) <= before.get(e, 0) for e in set(before) | set(after))
        assert sum(before.values()) - sum(after.values()) == min(amount, owed)

    def _expiry(self, days: int) -> dt.datetime | None:
        return self.clock + dt.timedelta(days=days) if days else None

    async def _call(self, session: AsyncSession, op: tuple[Any, ...], k: str) -> Any:
        name, i, amount = op[0], op[1], op[2]
        account = self.accounts[i]
        common: dict[str, Any] = {"amount": amount, "actor": "prop", "key": k}
        if name == "grant":
            return await ledger.grant(
                session,
                account_id=account,
                kind=EntryKind.TOPUP,
                tx_type=TxType.PURCHASE,
                now=self.clock,
                expires_at=self._expiry(op[3]),
                **common,
            )
        if name == "spend":
            return await ledger_postings.spend(
                session, account_id=account, kind=EntryKind.ACTIVATION, **common
            )
        if name == "remove":
            return await ledger.remove(
                session, account_id=account, tx_type=TxType.ADJUSTMENT, **common
            )
        if name == "hold":
            return await ledger_holds.place_hold(
                session, account_id=account, kind=EntryKind.RENEWAL, **common
            )
        if name == "transfer":
            return await ledger_postings.transfer_between(
                session, from_account_id=account, to_account_id=self.accounts[1 - i], **common
            )
        assert name == "cash"
        return await ledger_postings.record_cash_received(session, account_id=account, **common)

    async def _resolve(self, name: str, n: int) -> None:
        m = self.model
        if not m.holds:
            return
        hold = m.holds[n % len(m.holds)]
        try:
            async with self.db.transaction() as session:
                if name == "post":
                    await ledger_holds.post_hold(session, hold.hold_id, now=self.clock)
                else:
                    await ledger_holds.void_hold(session, hold.hold_id, now=self.clock)
        except HoldNotPending:
            assert (name, hold.status) in {
                ("post", HoldStatus.VOIDED),
                ("void", HoldStatus.POSTED),
            }
            return
        if hold.status != HoldStatus.PENDING:
            return  # a repeat: nothing moves
        m.held[hold.who] -= hold.amount
        if name == "post":
            m.balance[hold.who] -= hold.amount
            hold.status = HoldStatus.POSTED
        else:
            hold.status = HoldStatus.VOIDED
            # What the hold had reserved from grants that expired meanwhile expires now.
            expired = await self._expired_on_void(hold.hold_id)
            assert 0 <= expired <= hold.amount
            m.balance[hold.who] -= expired

    async def _expired_on_void(self, hold_id: int) -> int:
        async with self.db.transaction() as session:
            amount = await session.scalar(
                select(Transfer.amount).where(
                    Transfer.idempotency_key == f"hold:{hold_id}:void:expiry"
                )
            )
        return amount or 0

    async def check(self) -> None:
        report = await wallet.audit(self.db)
        assert report.problems == []
        async with self.db.transaction() as session:
            for i, account_id in enumerate(self.accounts):
                bal = await ledger.balance(session, account_id)
                assert (bal.balance, bal.held) == (self.model.balance[i], self.model.held[i])
                assert bal.available >= -self.model.limits[i]


async def _run(db: Database, ops: list[tuple[Any, ...]]) -> None:
    prepaid = await make_reseller(db, 1, name="Pre")
    postpaid = await make_reseller(db, 2, name="Post", billing=Billing.POSTPAID, credit_limit=LIMIT)
    scenario = Scenario(db, [prepaid.account_id, postpaid.account_id])
    for op in ops:
        await scenario.step(op)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=1, max_size=25))
def test_ledger_invariants_hold_after_every_step(
    ops: list[tuple[Any, ...]], database_url: str, tmp_path: Path
) -> None:
    async def run() -> None:
        url = database_url
        if url.startswith("sqlite"):
            # database_url is a pristine migrated copy; give every example its own.
            fresh = tmp_path / f"{uuid.uuid4().hex}.db"
            shutil.copy(url.removeprefix("sqlite+aiosqlite:///"), fresh)
            url = f"sqlite+aiosqlite:///{fresh}"
        db = database_from_url(url)
        try:
            if "#schema=" in url:
                await _reset_postgres(db)
            await _run(db, ops)
        finally:
            await db.dispose()

    asyncio.run(run())
