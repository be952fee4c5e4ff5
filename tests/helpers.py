"""Small builders shared by the tests."""

from __future__ import annotations

import datetime as dt
import uuid

from bot.db import Database
from bot.services import resellers, wallet
from bot.services.resellers import ResellerView
from models import Billing, TxType
from tests.fake_bot_api import Event, FakeBotAPI, User


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def key() -> str:
    return uuid.uuid4().hex


async def make_reseller(
    db: Database,
    telegram_id: int = 1001,
    *,
    name: str = "Alice",
    billing: Billing = Billing.PREPAID,
    credit_limit: int = 0,
    threshold: int = 0,
    credit: int = 0,
    username: str | None = None,
) -> ResellerView:
    reseller = await resellers.register_reseller(
        db,
        telegram_id=telegram_id,
        name=name,
        username=username,
        billing=billing,
        credit_limit=credit_limit,
        low_balance_threshold=threshold,
    )
    if credit:
        await wallet.add_credit(
            db,
            telegram_id=telegram_id,
            amount=credit,
            tx_type=TxType.PURCHASE,
            actor="test",
            key=key(),
            now=now(),
        )
    return reseller


async def assert_audit_ok(db: Database) -> None:
    report = await wallet.audit(db)
    assert report.problems == []


async def setup_topups(db: Database) -> None:
    """Two price tiers (1.00, then 0.90 from 500 credits) and two payment methods."""
    from bot.services import pricing

    await pricing.add_tier(db, min_credits=0, unit_price=100)
    await pricing.add_tier(db, min_credits=50_000, unit_price=90)
    await pricing.add_method(
        db, code="bank", name="Bank transfer", instructions="IBAN DE00 1234 5678 <ref: id>"
    )
    await pricing.add_method(
        db, code="usdt", name="USDT TRC20", instructions="Wallet TXYZ", min_total=5_000
    )


async def say(fake_api: FakeBotAPI, user: User, text: str) -> Event:
    """``user`` sends ``text``; the bot's next message or edit in their chat."""
    await fake_api.send(user, text)
    return await fake_api.next_event(user.id)


async def tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    """``user`` taps the button ``data`` on ``event`` (it must be there); what then shows."""
    assert data in [d for _, d in event.buttons], f"{data} not on {event.buttons}"
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)
