"""Property-based test of sub-resellers.

Random trees (registrations under random parents), allocations (some with an expiry)
and removals with nonces that repeat, transfers between any two resellers
(``ledger_postings.transfer_between``), sales (holds placed, posted and voided) and suspensions.
After every step: the ledger audit passes (balances sum to zero, each equals its
entries, none below its limit), no prepaid reseller's available balance is below zero,
a sale, an allocation or a registration is refused exactly when the one acting or
someone above it is suspended, and every reseller's subtree queries return exactly its
descendants: nobody outside. Credits keep their expiry both ways: no allocation or
removal makes any credit last longer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.db import Database
from bot.services import (
    allocation,
    downline,
    ledger,
    ledger_holds,
    ledger_postings,
    subtree,
    wallet,
)
from bot.services.credits import Action
from bot.services.downline import DownlineError, UplineSuspended
from bot.services.resellers import require_by_telegram_id, set_status
from models import (
    Billing,
    CreditGrant,
    EntryKind,
    Hold,
    HoldAllocation,
    HoldStatus,
    ResellerStatus,
    TxType,
)
from tests.conftest import _reset_postgres, database_from_url
from tests.helpers import key, make_reseller, now

ROOTS = 2  # a prepaid and a postpaid reseller, both allowed three levels
LIMIT = 500
who = st.integers(min_value=0, max_value=7)  # taken modulo the resellers there are
amounts = st.integers(min_value=1, max_value=900)
nonces = st.sampled_from(["n0", "n1", "n2"])  # few, so a Save is repeated

operations = st.one_of(
    st.tuples(st.just("register"), who),
    st.tuples(st.just("give"), who, amounts, nonces, st.sampled_from([0, 3, 20])),
    st.tuples(st.just("take"), who, amounts, nonces),
    st.tuples(st.just("transfer"), who, who, amounts),
    st.tuples(st.just("sell"), who, amounts),
    st.tuples(st.just("post"), st.integers(0, 5)),
    st.tuples(st.just("void"), st.integers(0, 5)),
    st.tuples(st.just("suspend"), who),
    st.tuples(st.just("activate"), who),
)


def tid(i: int) -> int:
    return 7000 + i


@dataclass
class Tree:
    parent: dict[int, int | None] = field(default_factory=lambda: dict.fromkeys(range(ROOTS)))
    depth: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(ROOTS), 3))
    suspended: set[int] = field(default_factory=set)
    accounts: dict[int, int] = field(default_factory=dict)
    holds: list[int] = field(default_factory=list)
    saved: dict[tuple[int, str], tuple[Any, ...]] = field(default_factory=dict)

    def pick(self, n: int) -> int:
        return sorted(self.parent)[n % len(self.parent)]

    def above(self, i: int) -> list[int]:
        found, current = [], self.parent[i]
        while current is not None:
            found.append(current)
            current = self.parent[current]
        return found

    def below(self, i: int) -> set[int]:
        return {j for j in self.parent if i in self.above(j)}


class Scenario:
    def __init__(self, db: Database, tree: Tree) -> None:
        self.db, self.tree = db, tree

    async def balance(self, i: int) -> ledger.Balance:
        async with self.db.transaction() as session:
            return await ledger.balance(session, self.tree.accounts[i])

    async def step(self, op: tuple[Any, ...]) -> None:
        name, tree = op[0], self.tree
        if name == "register":
            await self._register(tree.pick(op[1]))
        elif name in ("give", "take"):
            await self._allocate(name, op)
        elif name == "transfer":
            src, dst = tree.pick(op[1]), tree.pick(op[2])
            if src != dst:
                try:
                    async with self.db.transaction() as session:
                        await ledger_postings.transfer_between(
                            session,
                            from_account_id=tree.accounts[src],
                            to_account_id=tree.accounts[dst],
                            amount=op[3],
                            actor="prop",
                            key=key(),
                        )
                except ledger.InsufficientCredit:
                    before = await self.balance(src)
                    # A transfer takes only credit above zero, never a collection limit.
                    assert before.available < op[3]
        elif name == "sell":
            await self._sell(tree.pick(op[1]), op[2])
        elif name in ("post", "void") and tree.holds:
            hold = tree.holds[op[1] % len(tree.holds)]
            try:
                async with self.db.transaction() as session:
                    if name == "post":
                        await ledger_holds.post_hold(session, hold, now=now())
                    else:
                        await ledger_holds.void_hold(session, hold, now=now())
            except ledger_holds.HoldNotPending:
                pass
        elif name in ("suspend", "activate"):
            i = tree.pick(op[1])
            status = ResellerStatus.SUSPENDED if name == "suspend" else ResellerStatus.ACTIVE
            if (i in tree.suspended) != (name == "suspend"):
                await set_status(
                    db=self.db, telegram_id=tid(i), status=status, actor="p", now=now()
                )
                (tree.suspended.add if name == "suspend" else tree.suspended.discard)(i)
        await self.check()

    async def _register(self, parent: int) -> None:
        tree = self.tree
        child = len(tree.parent)
        frozen = {parent, *tree.above(parent)} & tree.suspended  # a suspension stops a subtree
        allowed = tree.depth[parent] > 0 and not frozen
        try:
            await downline.register_child(
                self.db,
                parent_telegram_id=tid(parent),
                telegram_id=tid(child),
                name=f"R{child}",
                username=None,
                low_balance_threshold=0,
                now=now(),
            )
        except DownlineError as exc:
            assert not allowed, exc.code
            return
        assert allowed
        tree.parent[child], tree.depth[child] = parent, tree.depth[parent] - 1
        async with self.db.transaction() as session:
            found = await require_by_telegram_id(session, tid(child))
        tree.accounts[child] = found.account_id

    async def _allocate(self, name: str, op: tuple[Any, ...]) -> None:
        tree = self.tree
        child = tree.pick(op[1])
        parent = tree.parent[child]
        if parent is None:
            return
        action, amount, nonce = (Action.ADD if name == "give" else Action.REMOVE), op[2], op[3]
        first = tree.saved.get((parent, nonce))
        asked = (child, action, amount)
        giver = await self.balance(parent if action == Action.ADD else child)
        days = op[4] if action == Action.ADD else 0
        lives = await _lives(self.db)
        try:
            done = await allocation.save(
                self.db,
                parent_telegram_id=tid(parent),
                child_telegram_id=tid(child),
                action=action,
                amount=amount,
                tx_type=TxType.PURCHASE,
                nonce=nonce,
                now=now(),
                expires_at=now() + dt.timedelta(days=days) if days else None,
            )
        except ledger.IdempotencyConflict:
            assert first is not None and first != asked
            return
        except DownlineError as exc:
            assert first is None
            if exc.code == "suspended":
                assert {parent, *tree.above(parent)} & tree.suspended
            else:
                assert amount > max(0, giver.available), (exc.code, amount, giver)
            return
        if first is not None:
            assert done.replayed and first == asked
            return
        assert not done.replayed and amount <= max(0, giver.available)
        assert not {parent, *tree.above(parent)} & tree.suspended
        tree.saved[(parent, nonce)] = asked
        _never_longer(lives, await _lives(self.db))

    async def _sell(self, i: int, amount: int) -> None:
        """What the sale path checks first, then its hold."""
        tree = self.tree
        blocked = bool({i, *tree.above(i)} & tree.suspended)
        try:
            async with self.db.transaction() as session:
                await downline.require_upline_active(session, (await _row(session, i)))
                if i in tree.suspended:
                    return
                placed = await ledger_holds.place_hold(
                    session,
                    account_id=tree.accounts[i],
                    amount=amount,
                    kind=EntryKind.ACTIVATION,
                    actor="prop",
                    key=key(),
                )
        except UplineSuspended:
            assert blocked
            return
        except ledger.InsufficientCredit:
            assert not blocked
            return
        assert not blocked
        tree.holds.append(placed.hold_id)

    async def check(self) -> None:
        report = await wallet.audit(self.db)
        assert report.problems == []
        tree = self.tree
        async with self.db.transaction() as session:
            ids = {i: await _row(session, i) for i in tree.parent}
            for i in tree.parent:
                b = await ledger.balance(session, tree.accounts[i])
                if i != 1:  # every reseller but the postpaid root is prepaid
                    assert b.available >= 0 and b.balance >= 0
                below = tree.below(i)
                assert await downline.subtree_ids(session, ids[i]) == {ids[j] for j in below}
                for j in tree.parent:
                    assert await downline.in_subtree(session, ids[i], ids[j]) == (j in below)

    async def check_screens(self) -> None:
        """What the parent's screens ask: its children, its subtree, its subtree's sales."""
        tree = self.tree
        for i in tree.parent:
            own = {c.telegram_id for c in await subtree.children(self.db, tid(i))}
            assert own == {tid(j) for j, p in tree.parent.items() if p == i}
            below = {tid(j) for j in tree.below(i)}
            assert {r.telegram_id for r in await subtree.subtree(self.db, tid(i))} == below
            outside = sorted(set(tree.parent) - tree.below(i))
            if outside:
                stranger = tid(outside[len(outside) // 2])
                with pytest.raises(DownlineError):
                    await subtree.sales(self.db, tid(i), stranger, page=0)


async def _lives(db: Database) -> dict[dt.datetime | None, int]:
    """Every reseller's open grant credit (free and reserved), by expiry."""
    async with db.transaction() as session:
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
            select(CreditGrant.expires_at, CreditGrant.remaining + func.coalesce(reserved.c.s, 0))
            .outerjoin(reserved, reserved.c.grant_id == CreditGrant.id)
            .where(CreditGrant.expired_at.is_(None))
        )
        found: dict[dt.datetime | None, int] = {}
        for expires_at, credit in rows:
            found[expires_at] = found.get(expires_at, 0) + int(credit)
        return found


def _alive_after(lives: dict[dt.datetime | None, int], at: dt.datetime | None) -> int:
    """What is still alive after ``at`` (None: what never expires)."""
    return sum(n for e, n in lives.items() if e is None or (at is not None and e > at))


def _never_longer(
    before: dict[dt.datetime | None, int], after: dict[dt.datetime | None, int]
) -> None:
    """No credit lives longer than it did: at every expiry, what is still alive after it
    did not grow (a chosen expiry may shorten credits; a postpaid receiver's debt may
    take some)."""
    for at in set(before) | set(after):
        assert _alive_after(after, at) <= _alive_after(before, at), (at, before, after)
    assert sum(after.values()) <= sum(before.values())


async def _row(session: Any, i: int) -> int:
    return (await require_by_telegram_id(session, tid(i))).id


async def _run(db: Database, ops: list[tuple[Any, ...]]) -> None:
    tree = Tree()
    for i, billing in enumerate((Billing.PREPAID, Billing.POSTPAID)):
        limit = LIMIT if billing == Billing.POSTPAID else 0
        view = await make_reseller(
            db, tid(i), name=f"R{i}", billing=billing, credit_limit=limit, credit=600
        )
        tree.accounts[i] = view.account_id
        for days, amount in ((2, 300), (15, 300)):  # credits that expire, to move around
            await wallet.add_credit(
                db,
                telegram_id=tid(i),
                amount=amount,
                tx_type=TxType.PURCHASE,
                actor="prop",
                key=key(),
                now=now(),
                expires_at=now() + dt.timedelta(days=days),
            )
        await downline.set_depth(db, telegram_id=tid(i), depth=3, actor="prop", now=now())
    scenario = Scenario(db, tree)
    # A tree to start from (2 under 0, 3 under 1, 4 under 2), then the random steps.
    for parent in (0, 1, 2):
        await scenario._register(parent)
    for op in ops:
        await scenario.step(op)
    await scenario.check_screens()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=1, max_size=12))
def test_downline_invariants_hold_after_every_step(
    ops: list[tuple[Any, ...]], database_url: str, tmp_path: Path
) -> None:
    async def run() -> None:
        url = database_url
        if url.startswith("sqlite"):
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
