"""Sub-resellers, as services: the admin's depth, registering a child, who sees whom,
moving credits between a parent and its child, and a suspended parent stopping its subtree."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.services import (
    allocation,
    downline,
    ledger,
    plans,
    sale_settlement,
    sales,
    subtree,
    wallet,
)
from bot.services.credits import Action
from bot.services.downline import DownlineError, UplineSuspended
from bot.services.provisioning import LocalProvider
from bot.services.resellers import require_by_telegram_id, set_status
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
    TransferKind,
    TxType,
)
from tests.helpers import assert_audit_ok, make_reseller, now

A, B, C, D, E = 2001, 2002, 2003, 2004, 2005


async def _balance(db: Database, telegram_id: int) -> ledger.Balance:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return await ledger.balance(session, reseller.account_id)


async def _tree(db: Database, depth: int = 2) -> None:
    """A (depth ``depth``, 100.00) with children B and C; B has child D; E stands apart."""
    await make_reseller(db, A, name="Alpha", credit=10_000)
    await make_reseller(db, E, name="Echo", credit=10_000)
    await downline.set_depth(db, telegram_id=A, depth=depth, actor="tg:1", now=now())
    for child, name in ((B, "Bravo"), (C, "Charlie")):
        await downline.register_child(
            db,
            parent_telegram_id=A,
            telegram_id=child,
            name=name,
            username=None,
            low_balance_threshold=500,
            now=now(),
        )
    await downline.register_child(
        db,
        parent_telegram_id=B,
        telegram_id=D,
        name="Delta",
        username=None,
        low_balance_threshold=0,
        now=now(),
    )


async def _save(db: Database, child: int, action: Action, amount: int, nonce: str, **kw: object):  # type: ignore[no-untyped-def]
    return await allocation.save(
        db,
        parent_telegram_id=kw.pop("parent", A),  # type: ignore[arg-type]
        child_telegram_id=child,
        action=action,
        amount=amount,
        tx_type=TxType.PURCHASE,
        nonce=nonce,
        now=now(),
        **kw,  # type: ignore[arg-type]
    )


async def test_the_admin_sets_a_depth_from_0_to_5_and_it_is_logged_once(db: Database) -> None:
    await make_reseller(db, A, name="Alpha")
    assert await downline.set_depth(db, telegram_id=A, depth=1, actor="tg:9", now=now()) == 0
    assert await downline.set_depth(db, telegram_id=A, depth=1, actor="tg:9", now=now()) == 1
    with pytest.raises(DownlineError) as refused:
        await downline.set_depth(db, telegram_id=A, depth=6, actor="tg:9", now=now())
    assert refused.value.code == "depth_out_of_range"
    assert await downline.depth_of(db, A) == 1
    async with db.transaction() as session:
        logged = list(
            await session.scalars(select(AdminAction).where(AdminAction.action == "reseller_depth"))
        )
    assert len(logged) == 1 and json.loads(logged[0].details or "{}") == {
        "before": {"depth": 0},
        "after": {"depth": 1},
    }


async def test_a_child_is_prepaid_under_its_parent_one_level_less_deep_and_greeted(
    db: Database,
) -> None:
    await _tree(db)
    async with db.transaction() as session:
        rows = {
            r.telegram_id: r
            for r in await session.scalars(select(Reseller).where(Reseller.parent_id.is_not(None)))
        }
        greetings = list(
            await session.scalars(
                select(OutboxMessage.chat_id).where(OutboxMessage.kind == "subreseller_welcome")
            )
        )
    assert set(rows) == {B, C, D}
    assert rows[B].billing == Billing.PREPAID and rows[B].downline_depth == 1
    assert rows[D].downline_depth == 0
    assert sorted(greetings) == [B, C, D]
    up = await downline.upline(db, B)
    assert up.parent is not None and up.parent.telegram_id == A and up.children == 1
    # D may have no children, and anyone registered already is refused.
    for parent, who, code in ((D, 9999, "no_downline"), (A, E, "already_registered")):
        with pytest.raises(DownlineError) as refused:
            await downline.register_child(
                db,
                parent_telegram_id=parent,
                telegram_id=who,
                name="X",
                username=None,
                low_balance_threshold=0,
                now=now(),
            )
        assert refused.value.code == code
    # A child cannot be allowed deeper than its parent leaves room for.
    with pytest.raises(DownlineError) as refused:
        await downline.set_depth(db, telegram_id=B, depth=2, actor="tg:1", now=now())
    assert refused.value.code == "depth_above_parent"


async def test_a_parent_sees_its_subtree_and_nobody_else(db: Database) -> None:
    await _tree(db)
    names = [c.reseller.name for c in await subtree.children(db, A)]
    assert names == ["Bravo", "Charlie"]
    assert {r.telegram_id for r in await subtree.subtree(db, A)} == {B, C, D}
    assert {r.telegram_id for r in await subtree.subtree(db, B)} == {D}
    card = await subtree.child_card(db, A, D, now=now(), zone=dt.UTC)
    assert card.card.reseller.name == "Delta" and not card.direct
    # B sees neither its sibling C, nor its parent A, nor the stranger E.
    for other in (C, A, E, B):
        with pytest.raises(DownlineError) as refused:
            await subtree.child_card(db, B, other, now=now(), zone=dt.UTC)
        assert refused.value.code == "not_in_subtree"
        with pytest.raises(DownlineError):
            await subtree.customers(db, B, other, page=0)
        with pytest.raises(DownlineError):
            await subtree.sales(db, B, other, page=0)
        with pytest.raises(DownlineError):
            await allocation.balances(db, B, other)
    # A grandchild's card is readable, its credits are its own parent's to move.
    with pytest.raises(DownlineError):
        await _save(db, D, Action.ADD, 100, "n-grand")


async def test_add_moves_the_parents_available_credits_once_with_an_expiring_grant(
    db: Database,
) -> None:
    await _tree(db)
    expires = now() + dt.timedelta(days=10)
    first = await _save(db, B, Action.ADD, 3_000, "n1", comment="for May", expires_at=expires)
    again = await _save(db, B, Action.ADD, 3_000, "n1", comment="for May", expires_at=expires)
    assert not first.replayed and again.replayed and again.transfer_id == first.transfer_id
    assert (await _balance(db, A)).balance == 7_000
    assert (await _balance(db, B)).balance == 3_000
    assert (
        first.before.parent_balance.balance == 10_000 and first.after.child_balance.balance == 3_000
    )
    async with db.transaction() as session:
        moved = (await session.execute(select(Transfer))).scalars().all()
        allocations = [t for t in moved if t.kind == EntryKind.ALLOCATION]
        rows = list(await session.scalars(select(CreditTransfer)))
        grant = await session.scalar(
            select(CreditGrant).where(CreditGrant.transfer_id == first.transfer_id)
        )
        notices = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "credit_allocated")
            )
        )
        logged = list(
            await session.scalars(
                select(AdminAction).where(AdminAction.action == "credits_allocated")
            )
        )
    assert len(allocations) == 1 and allocations[0].comment == "for May"
    assert [(r.kind, r.amount, r.ledger_transfer_id) for r in rows] == [
        (TransferKind.ALLOCATE, 3_000, first.transfer_id)
    ]
    assert grant is not None and grant.expires_at == expires
    assert len(notices) == 1 and notices[0].chat_id == B
    assert json.loads(notices[0].payload)["parent"] == "Alpha"
    assert len(logged) == 1
    await assert_audit_ok(db)


async def test_add_beyond_the_parents_available_is_refused_with_the_shortfall(
    db: Database,
) -> None:
    await _tree(db)
    with pytest.raises(DownlineError) as refused:
        await _save(db, B, Action.ADD, 12_550, "n1")
    assert refused.value.code == "parent_short"
    assert refused.value.params == {"missing": 2_550, "available": 10_000}
    assert (await _balance(db, B)).balance == 0


async def test_a_postpaid_parent_gives_only_what_it_has_above_zero(db: Database) -> None:
    await make_reseller(db, A, name="Alpha", billing=Billing.POSTPAID, credit_limit=50_000)
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
    with pytest.raises(DownlineError) as refused:
        await _save(db, B, Action.ADD, 100, "n1")
    assert refused.value.params == {"missing": 100, "available": 0}


async def test_remove_takes_back_only_what_the_child_has_available(db: Database) -> None:
    await _tree(db)
    await _save(db, B, Action.ADD, 3_000, "n1")
    with pytest.raises(DownlineError) as refused:
        await _save(db, B, Action.REMOVE, 3_001, "n2")
    assert refused.value.code == "remove_too_much" and refused.value.params == {"maximum": 3_000}
    back = await _save(db, B, Action.REMOVE, 1_000, "n3", comment="unused")
    assert back.after.child_balance.balance == 2_000 and back.after.parent_balance.balance == 8_000
    with pytest.raises(DownlineError) as refused:
        await _save(db, B, Action.REMOVE, 100, "n4", expires_at=now() + dt.timedelta(days=1))
    assert refused.value.code == "expiry_on_remove"
    async with db.transaction() as session:
        kinds = list(await session.scalars(select(CreditTransfer.kind).order_by(CreditTransfer.id)))
        told = list(
            await session.scalars(
                select(OutboxMessage.kind).where(OutboxMessage.kind.like("credit_%"))
            )
        )
    assert kinds == [TransferKind.ALLOCATE, TransferKind.RECLAIM]
    assert sorted(told) == ["credit_allocated", "credit_reclaimed"]
    for telegram_id, other in ((B, "Alpha"), (A, "Bravo")):
        history = await wallet.history_page(db, telegram_id, page=0, page_size=10)
        (entry,) = [e for e in history.entries if e.transfer_id == back.transfer_id]
        assert entry.other == other
    await assert_audit_ok(db)


async def test_a_comment_over_255_characters_is_refused_with_its_length(db: Database) -> None:
    await _tree(db)
    from bot.services.admin_log import ActionError

    with pytest.raises(ActionError) as refused:
        await _save(db, B, Action.ADD, 100, "n1", comment="x" * 256)
    assert refused.value.code == "comment_too_long" and refused.value.params["length"] == 256


async def test_a_suspended_reseller_stops_its_whole_subtree_from_selling(db: Database) -> None:
    await _tree(db)
    await _save(db, B, Action.ADD, 5_000, "n1")
    await _save(db, D, Action.ADD, 2_000, "n2", parent=B)
    plan = (await plans.add_plan(db, code="m1", name="M1", days=30, price=1_000)).id

    async def sell(who: int, username: str) -> sale_settlement.SaleResult:
        return await sales.sell(
            db,
            LocalProvider(),
            telegram_id=who,
            plan_id=plan,
            key=f"sale-{username}",
            now=now(),
            provider_seconds=5,
            username=username,
        )

    assert (await sell(D, "first.one")).price == 1_000
    page = await subtree.sales(db, A, None, page=0)
    assert [(s.username, s.seller) for s in page.items] == [("first.one", "Delta")]
    assert (await subtree.customers(db, A, D, page=0)).items[0].username == "first.one"
    await set_status(db, telegram_id=A, status=ResellerStatus.SUSPENDED, actor="tg:1", now=now())
    for who, name in ((D, "second.one"), (B, "third.one")):
        with pytest.raises(UplineSuspended):
            await sell(who, name)
    assert (await sell(E, "fourth.one")).price == 1_000  # outside the tree: unaffected
    assert (await _balance(db, D)).held == 0
    await assert_audit_ok(db)


async def test_lowering_a_parents_depth_lowers_its_subtree_to_fit_and_says_how_many(
    db: Database,
) -> None:
    await _tree(db, depth=3)  # B and C at 2, D at 1
    await downline.set_depth(db, telegram_id=A, depth=1, actor="tg:1", now=now())
    async with db.transaction() as session:
        depths = dict(
            (await session.execute(select(Reseller.telegram_id, Reseller.downline_depth))).all()
        )
        logged = await session.scalar(
            select(AdminAction.details)
            .where(AdminAction.action == "reseller_depth")
            .order_by(AdminAction.id.desc())
            .limit(1)
        )
    assert (depths[A], depths[B], depths[C], depths[D]) == (1, 0, 0, 0)
    assert json.loads(logged or "{}")["after"] == {"depth": 1, "lowered": 3}
    # D stays registered under B, and B can register no one now.
    assert {r.telegram_id for r in await subtree.subtree(db, A)} == {B, C, D}
    with pytest.raises(DownlineError) as refused:
        await downline.register_child(
            db,
            parent_telegram_id=B,
            telegram_id=9999,
            name="X",
            username=None,
            low_balance_threshold=0,
            now=now(),
        )
    assert refused.value.code == "no_downline"
