"""A restart in the middle of cancelling: the customer's next answer continues the flow
where it was, and the subscription is cancelled once."""

from __future__ import annotations

import datetime as dt

from bot.db import Database
from bot.services import plans, sales
from bot.services.provisioning import LocalProvider
from bot.settings import Settings
from handlers.portal import callbacks
from models import Customer, CustomerStatus
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller, say, tap
from tests.test_bot_restart import restartable


async def test_cancelling_continues_after_a_restart_with_the_reason_typed(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await make_reseller(db, 1001, credit=5_000)
    plan = await plans.add_plan(db, code="m1", name="IPTV 1 month", days=30, price=1_000)
    sold = await sales.sell(
        db, LocalProvider(), telegram_id=1001, plan_id=plan.id, key="k", provider_seconds=5,
        now=dt.datetime.now(dt.UTC), username="carol",
    )  # fmt: skip
    cid = sold.customer.id
    carol = fake_api.user(5001, "Carol")
    async with restartable(settings, db) as restart:
        await say(fake_api, carol, f"/start {sold.customer.link_token}")
        home = await say(fake_api, carol, "/start")
        reasons = await tap(fake_api, carol, home, callbacks.CANCEL.build(cid))
        assert "Why are you leaving?" in reasons.text
        await restart()
        confirm = await say(fake_api, carol, "too many ads")
        assert "Reason: too many ads" in confirm.text
        done = await tap(fake_api, carol, confirm, callbacks.CANCEL_CONFIRM.build(cid))
        assert "is cancelled" in done.text
    async with db.transaction() as session:
        found = await session.get(Customer, cid)
    assert found is not None and found.status == CustomerStatus.CANCELLED
    assert found.cancel_note == "too many ads"
