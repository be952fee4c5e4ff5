"""A known ledger for the chart tests, every movement at a set time (noon UTC).

Today is 2026-11-15. Alpha (prepaid, with sub-reseller Bravo) and Echo (postpaid, owing
up to 100.00); one plan at 10.00 for 30 days; methods bank and usdt.

    09-10 Alpha +200.00          10-16 Alpha tops up 50.00 (usdt)
    09-12 Alpha sells a.one      10-20 Echo +50.00, expiring 10-25
    10-05 Alpha +100.00          10-26 Echo's 50.00 expire
    10-06 Alpha sells a.two,     10-28 Echo sells e.one (owes 10.00)
          renews a.one           11-02 Alpha sells a.three
    10-08 Alpha gives Bravo 20   11-03 Echo pays 10.00 cash
    10-10 Bravo sells b.one      11-15 customers past their expiry expire
    10-15 Alpha tops up 20.00 (bank)
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from bot.db import Database
from bot.services import (
    alerts,
    allocation,
    customer_expiry,
    downline,
    plans,
    pricing,
    sales,
    topup_decisions,
    topups,
    wallet,
)
from bot.services.credits import Action
from bot.services.provisioning import LocalProvider
from bot.services.topup_reads import Proof
from bot.services.topups import Limits
from models import Billing, ProofKind, Transfer, TxType
from tests.conftest import ADMIN_ID
from tests.helpers import key, make_reseller, setup_topups

ALPHA, ECHO, BRAVO = 3001, 3002, 3003
NOW = dt.datetime(2026, 11, 15, 12, tzinfo=dt.UTC)
LIMITS = Limits(min_credits=1_000, max_credits=10_000_000, max_pending=3, currency="USD")


def day(month: int, number: int) -> dt.datetime:
    return dt.datetime(2026, month, number, 12, tzinfo=dt.UTC)


async def _add(db: Database, who: int, amount: int, when: dt.datetime, **more: object) -> None:
    await wallet.add_credit(db, telegram_id=who, amount=amount, tx_type=TxType.PURCHASE,
                            actor="test", key=key(), now=when, **more)  # type: ignore[arg-type]  # fmt: skip


async def _top_up(db: Database, who: int, method: str, credits: int, when: dt.datetime) -> None:
    method_id = next(m.id for m in await pricing.list_methods(db) if m.code == method)
    request, _ = await topups.create_request(
        db, telegram_id=who, credits=credits, method_id=method_id,
        proof=Proof(ProofKind.REFERENCE, reference=f"TX{credits}"), key=key(), limits=LIMITS,
    )  # fmt: skip
    await topup_decisions.approve(db, request_id=request.id, admin_id=ADMIN_ID, admin_name="Boss",
                         now=when)  # fmt: skip


async def _stamp(db: Database, when: dt.datetime) -> None:
    """The ledger stamps a movement with the wall clock: the movements since the last
    stamp are dated ``when``, as if made then."""
    async with db.transaction() as session:
        # The wall clock is past NOW: every movement after NOW is one not yet stamped.
        await session.execute(
            update(Transfer).where(Transfer.created_at > NOW).values(created_at=when)
        )


async def world(db: Database) -> None:
    await make_reseller(db, ALPHA, name="Alpha")
    await make_reseller(db, ECHO, name="Echo", billing=Billing.POSTPAID, credit_limit=10_000)
    await downline.set_depth(db, telegram_id=ALPHA, depth=1, actor="test", now=day(9, 1))
    await downline.register_child(
        db, parent_telegram_id=ALPHA, telegram_id=BRAVO, name="Bravo", username=None,
        low_balance_threshold=0, now=day(9, 1),
    )  # fmt: skip
    await setup_topups(db)
    plan = (await plans.add_plan(db, code="m1", name="Month", days=30, price=1_000)).id

    async def sell(who: int, when: dt.datetime, username: str = "", customer: int = 0) -> int:
        found = await sales.sell(
            db, LocalProvider(), telegram_id=who, plan_id=plan, key=key(), now=when,
            provider_seconds=5, username=username or None, customer_id=customer or None,
        )  # fmt: skip
        return found.customer.id

    await _add(db, ALPHA, 20_000, day(9, 10))
    await _stamp(db, day(9, 10))
    first = await sell(ALPHA, day(9, 12), "a.one")
    await _stamp(db, day(9, 12))
    await _add(db, ALPHA, 10_000, day(10, 5))
    await _stamp(db, day(10, 5))
    await sell(ALPHA, day(10, 6), "a.two")
    await sell(ALPHA, day(10, 6), customer=first)
    await _stamp(db, day(10, 6))
    await allocation.save(db, parent_telegram_id=ALPHA, child_telegram_id=BRAVO,
                          action=Action.ADD, amount=2_000, tx_type=TxType.PURCHASE,
                          nonce=key(), now=day(10, 8))  # fmt: skip
    await _stamp(db, day(10, 8))
    await sell(BRAVO, day(10, 10), "b.one")
    await _stamp(db, day(10, 10))
    await _top_up(db, ALPHA, "bank", 2_000, day(10, 15))
    await _stamp(db, day(10, 15))
    await _top_up(db, ALPHA, "usdt", 5_000, day(10, 16))
    await _stamp(db, day(10, 16))
    await _add(db, ECHO, 5_000, day(10, 20), expires_at=day(10, 25))
    await _stamp(db, day(10, 20))
    await alerts.expire_grants(db, day(10, 26))
    await _stamp(db, day(10, 26))
    await sell(ECHO, day(10, 28), "e.one")
    await _stamp(db, day(10, 28))
    await sell(ALPHA, day(11, 2), "a.three")
    await _stamp(db, day(11, 2))
    await wallet.record_cash_received(db, telegram_id=ECHO, amount=1_000, actor="test",
                                      key=key(), now=day(11, 3))  # fmt: skip
    await _stamp(db, day(11, 3))
    await customer_expiry.expire_customers(db, NOW)
