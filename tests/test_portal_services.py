"""The portal's services on local plans: the pause allowance over a rolling year, resuming
counted to the pause's end, a pause closed when the reseller renewed meanwhile, a
cancellation that withdraws only its own reminders, and the change requests' rules."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from bot.db import Database
from bot.services import (
    alerts,
    cancellation,
    customer_links,
    pauses,
    plan_changes,
    plans,
    portal,
    sales,
)
from bot.services.customers import CustomerError
from bot.services.outbox import Outgoing, enqueue
from bot.services.provisioning import LocalProvider
from models import Customer, CustomerPause, CustomerStatus, OutboxMessage
from tests.helpers import make_reseller

NOW = dt.datetime(2031, 3, 14, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
CHAT = 777


async def _shop(db: Database, *usernames: str, allowance: int = 20) -> dict[str, int]:
    """Reseller 1001 sells each username on a local plan; all linked to CHAT."""
    await make_reseller(db, 1001, credit=100_000)
    plan = await plans.add_plan(db, code="m1", name="IPTV", days=30, price=1_000)
    ids = {}
    for username in usernames:
        sold = await sales.sell(
            db, LocalProvider(), telegram_id=1001, plan_id=plan.id, key=f"k-{username}",
            now=NOW, provider_seconds=5, username=username,
        )  # fmt: skip
        ids[username] = sold.customer.id
        assert sold.customer.link_token
        await customer_links.link(db, token=sold.customer.link_token, chat_id=CHAT, now=NOW)
    await pauses.set_pause_allowance(
        db, telegram_id=1001, reseller_id=None, admin=False, days=allowance
    )
    return ids


async def _pause(db: Database, customer_id: int, days: int, at: dt.datetime) -> pauses.Paused:
    return await pauses.pause(db, None, chat_id=CHAT, customer_id=customer_id, days=days, now=at)


async def test_the_allowance_counts_days_begun_over_the_last_365_days(db: Database) -> None:
    cid = (await _shop(db, "john"))["john"]
    await _pause(db, cid, 5, NOW)
    # Resumed after 2 days and an hour: 3 days used, not the 5 asked for.
    await pauses.resume(
        db, None, customer_id=cid, chat_id=CHAT, now=NOW + 2 * DAY + dt.timedelta(hours=1)
    )
    sub = await portal.subscription(db, CHAT, cid, now=NOW + 3 * DAY)
    assert sub is not None and (sub.allowance.used_days, sub.allowance.left) == (3, 17)
    # An open pause counts for what it asked.
    await _pause(db, cid, 10, NOW + 4 * DAY)
    sub = await portal.subscription(db, CHAT, cid, now=NOW + 4 * DAY)
    assert sub is not None and sub.allowance.left == 7
    await pauses.resume(db, None, customer_id=cid, chat_id=CHAT, now=NOW + 5 * DAY)
    # A year after the first pause it no longer counts.
    later = NOW + dt.timedelta(days=366)
    sub = await portal.subscription(db, CHAT, cid, now=later)
    assert sub is not None and sub.allowance.used_days == 1


async def test_resuming_late_counts_only_to_the_pauses_end(db: Database) -> None:
    cid = (await _shop(db, "john"))["john"]
    async with db.transaction() as session:
        before = await session.scalar(select(Customer.expires_at).where(Customer.id == cid))
    assert before is not None
    await _pause(db, cid, 4, NOW)
    done = await pauses.resume(db, None, customer_id=cid, chat_id=CHAT, now=NOW + 9 * DAY)
    assert done.frozen == 4 * DAY and done.customer.expires_at == before + 4 * DAY
    with pytest.raises(CustomerError, match="not paused"):
        await pauses.resume(db, None, customer_id=cid, chat_id=CHAT, now=NOW + 9 * DAY)


async def test_a_pause_is_closed_as_it_stands_when_the_reseller_renewed_meanwhile(
    db: Database,
) -> None:
    cid = (await _shop(db, "john"))["john"]
    await _pause(db, cid, 4, NOW)
    async with db.transaction() as session:  # as a renewal leaves it
        await session.execute(
            update(Customer).where(Customer.id == cid).values(status=CustomerStatus.ACTIVE)
        )
    done = await pauses.resume_due(db, None, now=NOW + 5 * DAY)
    assert (done.resumed, done.failed) == (0, 0)
    async with db.transaction() as session:
        row = await session.scalar(select(CustomerPause))
    assert row is not None and row.resumed_at == NOW + 5 * DAY


async def test_an_expired_or_cancelled_subscription_cannot_be_paused(db: Database) -> None:
    ids = await _shop(db, "john", "jane")
    with pytest.raises(CustomerError, match="Only an active"):
        await _pause(db, ids["john"], 3, NOW + 40 * DAY)
    await cancellation.cancel(
        db, chat_id=CHAT, customer_id=ids["jane"], reason="price", note=None, now=NOW
    )
    with pytest.raises(CustomerError) as refused:
        await _pause(db, ids["jane"], 3, NOW)
    assert refused.value.code == "cancelled"


async def test_cancelling_withdraws_that_subscriptions_reminders_only(db: Database) -> None:
    ids = await _shop(db, "john", "jane")
    async with db.transaction() as session:
        await enqueue(
            session,
            [
                Outgoing(f"remind:{cid}:x:3", CHAT, alerts.Kind.EXPIRY_REMINDER, {})
                for cid in ids.values()
            ],
            NOW,
        )
    await cancellation.cancel(
        db, chat_id=CHAT, customer_id=ids["john"], reason="other", note="bye", now=NOW
    )
    with pytest.raises(CustomerError, match="already cancelled"):
        await cancellation.cancel(
            db, chat_id=CHAT, customer_id=ids["john"], reason="other", note="bye", now=NOW
        )
    async with db.transaction() as session:
        keys = set(
            await session.scalars(
                select(OutboxMessage.key).where(OutboxMessage.kind == alerts.Kind.EXPIRY_REMINDER)
            )
        )
    assert keys == {f"remind:{ids['jane']}:x:3"}
    with pytest.raises(CustomerError):
        await cancellation.cancel(
            db, chat_id=CHAT, customer_id=ids["jane"], reason="nonsense", note=None, now=NOW
        )
    with pytest.raises(CustomerError, match="At most 255"):
        cancellation.check_note("x" * 256)


async def test_change_requests_refuse_a_disabled_plan_a_second_request_and_strangers(
    db: Database,
) -> None:
    cid = (await _shop(db, "john"))["john"]
    hd = await plans.add_plan(db, code="hd", name="HD", days=30, price=1_500)
    old = await plans.add_plan(db, code="old", name="Old", days=30, price=500)
    await plans.set_plan_active(db, plan_id=old.id, active=False, actor="t", now=NOW)
    assert [p.code for p in await plan_changes.offered(db, CHAT, cid)] == ["hd"]
    with pytest.raises(CustomerError, match="not available"):
        await plan_changes.request_change(
            db, chat_id=CHAT, customer_id=cid, plan_id=old.id, now=NOW
        )
    with pytest.raises(CustomerError) as refused:  # another chat names john's id
        await plan_changes.request_change(db, chat_id=888, customer_id=cid, plan_id=hd.id, now=NOW)
    assert refused.value.code == "not_linked"
    request = await plan_changes.request_change(
        db, chat_id=CHAT, customer_id=cid, plan_id=hd.id, now=NOW
    )
    with pytest.raises(CustomerError, match="already waiting"):
        await plan_changes.request_change(db, chat_id=CHAT, customer_id=cid, plan_id=hd.id, now=NOW)
    await make_reseller(db, 1002, name="Bob", credit=10_000)
    with pytest.raises(CustomerError, match="No such request"):
        await plan_changes.decline(
            db, telegram_id=1002, request_id=request.id, reason="later", now=NOW
        )
    with pytest.raises(CustomerError, match="Pick one"):
        await plan_changes.decline(
            db, telegram_id=1001, request_id=request.id, reason="rude", now=NOW
        )
    await plan_changes.decline(db, telegram_id=1001, request_id=request.id, reason="later", now=NOW)
    with pytest.raises(CustomerError, match="declined"):
        await plan_changes.approve(
            db, LocalProvider(), None, telegram_id=1001, request_id=request.id, now=NOW,
            provider_seconds=5, expected_price=1_500,
        )  # fmt: skip


async def test_a_paused_subscription_is_resumed_before_its_package_changes(db: Database) -> None:
    cid = (await _shop(db, "john"))["john"]
    hd = await plans.add_plan(db, code="hd", name="HD", days=30, price=1_500)
    await _pause(db, cid, 3, NOW)
    with pytest.raises(CustomerError) as refused:
        await plan_changes.request_change(db, chat_id=CHAT, customer_id=cid, plan_id=hd.id, now=NOW)
    assert refused.value.code == "resume_first"


async def test_a_change_asked_for_before_cancelling_can_no_longer_be_approved(
    db: Database,
) -> None:
    """Approving would sell (and charge) a renewal of a subscription its customer left."""
    cid = (await _shop(db, "john"))["john"]
    hd = await plans.add_plan(db, code="hd", name="HD", days=30, price=1_500)
    request = await plan_changes.request_change(
        db, chat_id=CHAT, customer_id=cid, plan_id=hd.id, now=NOW
    )
    await cancellation.cancel(db, chat_id=CHAT, customer_id=cid, reason="price", note=None, now=NOW)
    with pytest.raises(CustomerError) as refused:
        await plan_changes.approve(
            db, LocalProvider(), None, telegram_id=1001, request_id=request.id, now=NOW,
            provider_seconds=5, expected_price=1_500,
        )  # fmt: skip
    assert refused.value.code == "change_decided"
    async with db.transaction() as session:
        found = await session.get(Customer, cid)
    assert found is not None and found.status == CustomerStatus.CANCELLED
