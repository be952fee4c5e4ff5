"""Rules that hold across a reseller tree's features: a suspension freezes the credits of
the whole subtree under it; a parent forbidden to transfer cannot pass credits on through
a sub-reseller; a sub-reseller is prepaid; and a sale's margins, a parent's allocation or
transfer, and an admin's change of depth queue on PostgreSQL instead of deadlocking."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.db import Database
from bot.services import (
    allocation,
    downline,
    ledger,
    plans,
    price_lists,
    reseller_search,
    sales,
    transfer_admin,
    transfer_rules,
    transfers,
)
from bot.services.admin_log import ActionError
from bot.services.credits import Action
from bot.services.downline import DownlineError
from bot.services.provisioning import LocalProvider
from bot.services.resellers import require_by_telegram_id, set_status
from bot.services.transfer_rules import TransferError
from models import Billing, ResellerStatus, TxType
from tests.helpers import assert_audit_ok, make_reseller, now

A, B, C, E = 3001, 3002, 3003, 3005
ZONE = ZoneInfo("UTC")


async def _balance(db: Database, telegram_id: int) -> int:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return (await ledger.balance(session, reseller.account_id)).balance


async def _give(db: Database, parent: int, child: int, amount: int, nonce: str) -> None:
    await allocation.save(
        db, parent_telegram_id=parent, child_telegram_id=child, action=Action.ADD,
        amount=amount, tx_type=TxType.PURCHASE, nonce=nonce, now=now(),
    )  # fmt: skip


async def _register(db: Database, parent: int, child: int, name: str) -> None:
    await downline.register_child(
        db, parent_telegram_id=parent, telegram_id=child, name=name, username=None,
        low_balance_threshold=0, now=now(),
    )  # fmt: skip


async def _tree(db: Database) -> None:
    """Alpha (two levels) with 100.00 gives 50.00 to Bravo; Echo stands apart."""
    await make_reseller(db, A, name="Alpha", credit=10_000)
    await make_reseller(db, E, name="Echo")
    await downline.set_depth(db, telegram_id=A, depth=2, actor="tg:1", now=now())
    await _register(db, A, B, "Bravo")
    await _give(db, A, B, 5_000, "n0")


async def _send(db: Database, sender: int, recipient: int, amount: int, nonce: str) -> None:
    await transfers.send(
        db, sender_telegram_id=sender, recipient=recipient, amount=amount, note=None,
        key=transfers.key_of(sender, nonce), now=now(), zone=ZONE,
    )  # fmt: skip


async def test_a_suspended_parent_freezes_its_subtrees_credits(db: Database) -> None:
    await _tree(db)
    await downline.set_depth(db, telegram_id=B, depth=1, actor="tg:1", now=now())
    await set_status(db, telegram_id=A, status=ResellerStatus.SUSPENDED, actor="tg:1", now=now())
    with pytest.raises(TransferError) as refused:
        await _send(db, B, E, 1_000, "t1")
    assert refused.value.code == "sender_suspended"
    with pytest.raises(DownlineError) as frozen:
        await _register(db, B, C, "Charlie")
    assert frozen.value.code == "suspended"
    await set_status(db, telegram_id=A, status=ResellerStatus.ACTIVE, actor="tg:1", now=now())
    await _register(db, B, C, "Charlie")
    await set_status(db, telegram_id=A, status=ResellerStatus.SUSPENDED, actor="tg:1", now=now())
    with pytest.raises(DownlineError) as frozen:
        await _give(db, B, C, 1_000, "g1")
    assert frozen.value.code == "suspended"
    assert [await _balance(db, r) for r in (A, B, C, E)] == [5_000, 5_000, 0, 0]
    await assert_audit_ok(db)


async def test_a_parent_forbidden_to_transfer_cannot_pass_credits_on_through_a_child(
    db: Database,
) -> None:
    await _tree(db)
    await transfer_admin.set_allowed(db, telegram_id=A, allowed=False, actor="tg:1", now=now())
    for sender in (A, B):
        with pytest.raises(TransferError) as refused:
            await _send(db, sender, E, 1_000, f"t{sender}")
        assert refused.value.code == "transfers_forbidden"
    assert await _balance(db, E) == 0


async def test_a_sub_reseller_cannot_be_made_postpaid(db: Database) -> None:
    await _tree(db)
    with pytest.raises(ActionError) as refused:
        await reseller_search.edit(
            db, telegram_id=B, field=reseller_search.Field.BILLING, value=Billing.POSTPAID,
            actor="tg:1", now=now(),
        )  # fmt: skip
    assert refused.value.code == "sub_reseller_prepaid"


def _paused(
    monkeypatch: pytest.MonkeyPatch, module: object, name: str
) -> tuple[asyncio.Event, asyncio.Event]:
    """Make ``module.name`` wait, inside its transaction, until the test lets it go on."""
    original: Callable[..., Awaitable[Any]] = getattr(module, name)
    paused, go = asyncio.Event(), asyncio.Event()

    async def waiting(*args: Any, **kwargs: Any) -> Any:
        paused.set()
        await go.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(module, name, waiting)
    return paused, go


@pytest.mark.parametrize("other", ["allocation", "transfer"])
async def test_a_childs_sale_and_its_parents_movement_to_it_queue(
    db: Database, monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    await _tree(db)
    plan = (await plans.add_plan(db, code="m1", name="M1", days=30, price=1_000)).id
    gold = await price_lists.create_list(db, name="Gold", percent_off=1_000, actor="t", now=now())
    await price_lists.assign(db, reseller_telegram_id=A, list_id=gold.id, actor="t", now=now())
    paused, go = _paused(monkeypatch, price_lists, "margins")  # the sale, between its steps
    selling = sales.sell(
        db, LocalProvider(), telegram_id=B, plan_id=plan, key="sale-1", now=now(),
        provider_seconds=5, username="cust.one",
    )  # fmt: skip
    sale = asyncio.create_task(selling)
    await asyncio.wait_for(paused.wait(), 5)
    if other == "allocation":
        move = asyncio.create_task(_give(db, A, B, 100, "n9"))
    else:
        move = asyncio.create_task(_send(db, A, B, 100, "t9"))
    await asyncio.sleep(0.5)
    go.set()
    results = await asyncio.gather(sale, move, return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    # Bravo paid 10.00 (Alpha's price 9.00): Alpha earned 1.00 and gave 1.00 more.
    assert [await _balance(db, r) for r in (A, B)] == [5_000 - 100 + 100, 5_000 + 100 - 1_000]
    await assert_audit_ok(db)


async def test_a_depth_change_and_a_transfer_up_the_tree_queue(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _tree(db)
    await _register(db, B, C, "Charlie")
    await _give(db, B, C, 1_000, "n1")
    paused, go = _paused(monkeypatch, transfer_rules, "check_covers")
    send = asyncio.create_task(_send(db, C, A, 100, "z"))
    await asyncio.wait_for(paused.wait(), 5)
    depth = asyncio.create_task(
        downline.set_depth(db, telegram_id=A, depth=3, actor="tg:1", now=now())
    )
    await asyncio.sleep(0.5)
    go.set()
    results = await asyncio.gather(send, depth, return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert await _balance(db, A) == 5_000 + 100
