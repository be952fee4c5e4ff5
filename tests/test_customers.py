"""Focused tests of activation, renewal, provisioning failures and linking, on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from telegram import InlineKeyboardMarkup

from bot.db import Database
from bot.i18n import SOURCE
from bot.services import (
    alerts,
    customer_expiry,
    customer_links,
    customers,
    ledger,
    outbox,
    plans,
    sale_quotes,
    sale_settlement,
    sales,
)
from bot.services.customers import CustomerError, CustomerView, Filter
from bot.services.ledger import InsufficientCredit
from bot.services.provisioning import (
    CreateSubscription,
    ExtendSubscription,
    LocalProvider,
    Provisioned,
    ProvisioningError,
)
from bot.services.sale_errors import PlanUnavailable, SaleFailed
from bot.settings import Settings as AppSettings
from jobs import notices
from models import Hold, HoldStatus, OrderStatus, OutboxMessage, OutboxStatus, SubscriptionOrder
from tests.helpers import assert_audit_ok, make_reseller

NOW = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)


class FailingProvider(LocalProvider):
    async def create(self, request: CreateSubscription) -> Provisioned:
        raise ProvisioningError("panel said no")

    async def extend(self, request: ExtendSubscription) -> Provisioned:
        raise ProvisioningError("panel said no")


class HangingProvider(LocalProvider):
    async def create(self, request: CreateSubscription) -> Provisioned:
        await asyncio.sleep(60)
        raise AssertionError("unreachable")


async def _plan(db: Database, code: str = "m1", days: int = 30, price: int = 1_000) -> int:
    return (await plans.add_plan(db, code=code, name=code.upper(), days=days, price=price)).id


async def _sell(db: Database, key: str, provider=None, **kwargs):  # type: ignore[no-untyped-def]
    return await sales.sell(
        db, provider or LocalProvider(), telegram_id=kwargs.pop("telegram_id", 1001),
        key=key, now=kwargs.pop("now", NOW), provider_seconds=kwargs.pop("seconds", 5),
        **kwargs,
    )  # fmt: skip


async def _available(db: Database, account_id: int) -> ledger.Balance:
    async with db.transaction() as session:
        return await ledger.balance(session, account_id)


async def test_activation_charges_exactly_once_and_renewal_moves_the_expiry(db: Database) -> None:
    alice = await make_reseller(db, 1001, credit=5_000)
    plan = await _plan(db)
    first = await _sell(db, "n1", plan_id=plan, username="john.doe")
    again = await _sell(db, "n1", plan_id=plan, username="john.doe")
    assert not first.replayed and again.replayed and again.order_id == first.order_id
    assert first.customer.expires_at == NOW + dt.timedelta(days=30)
    assert first.customer.link_token
    assert (await _available(db, alice.account_id)).balance == 4_000

    later = NOW + dt.timedelta(days=10)  # renewal of an active customer extends its expiry
    renewed = await _sell(db, "n2", plan_id=plan, customer_id=first.customer.id, now=later)
    assert renewed.customer.expires_at == NOW + dt.timedelta(days=60)
    much_later = NOW + dt.timedelta(days=100)  # an expired one starts from now
    renewed = await _sell(db, "n3", plan_id=plan, customer_id=first.customer.id, now=much_later)
    assert renewed.customer.expires_at == much_later + dt.timedelta(days=30)
    assert (await _available(db, alice.account_id)).balance == 2_000
    await assert_audit_ok(db)


async def test_insufficient_credit_changes_nothing(db: Database) -> None:
    alice = await make_reseller(db, 1001, credit=999)
    plan = await _plan(db)
    q = await sale_quotes.quote(db, telegram_id=1001, plan_id=plan, now=NOW)
    assert q.missing == 1 and q.available_after == -1
    with pytest.raises(InsufficientCredit) as refused:
        await _sell(db, "n1", plan_id=plan, username="john")
    assert refused.value.missing == 1
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(SubscriptionOrder)) == 0
    assert (await _available(db, alice.account_id)).held == 0


@pytest.mark.parametrize("provider", [FailingProvider(), HangingProvider()])
async def test_provisioning_failure_or_timeout_releases_the_hold(db: Database, provider) -> None:
    alice = await make_reseller(db, 1001, credit=5_000)
    plan = await _plan(db)
    with pytest.raises(SaleFailed, match="Nothing was charged"):
        await _sell(db, "n1", provider, plan_id=plan, username="john", seconds=0.2)
    bal = await _available(db, alice.account_id)
    assert (bal.balance, bal.held) == (5_000, 0)
    async with db.transaction() as session:
        order = await session.scalar(select(SubscriptionOrder))
        hold = await session.scalar(select(Hold))
    assert order is not None and order.status == OrderStatus.FAILED
    assert hold is not None and hold.status == HoldStatus.VOIDED
    assert await customers.list_customers(db, 1001, now=NOW) == customers.CustomerPage([], 0, 1, 0)
    with pytest.raises(SaleFailed):  # the same nonce again reports the failure
        await _sell(db, "n1", plan_id=plan, username="john")
    await assert_audit_ok(db)


async def test_rules_refuse_and_write_nothing(db: Database) -> None:
    await make_reseller(db, 1001, credit=5_000)
    await make_reseller(db, 1002, name="Bob", credit=5_000)
    plan = await _plan(db)
    sold = await _sell(db, "n1", plan_id=plan, username="john")
    with pytest.raises(CustomerError, match="taken"):
        await sale_quotes.check_new_username(db, 1001, "JOHN")
    with pytest.raises(CustomerError, match="taken"):
        await _sell(db, "n2", plan_id=plan, username="john", telegram_id=1002)
    for bad in ("ab", "-abc", "a" * 33, "john doe", "<b>x</b>", "ünï"):
        with pytest.raises(CustomerError, match="3 to 32"):
            customers.check_username(bad)
    with pytest.raises(CustomerError, match="no such customer"):  # Bob renewing Alice's customer
        await _sell(db, "n3", plan_id=plan, customer_id=sold.customer.id, telegram_id=1002)
    with pytest.raises(CustomerError, match="no such customer"):
        await customers.customer_card(db, 1002, sold.customer.id)
    async with db.transaction() as session:
        from models import Plan

        plan_row = await session.get(Plan, plan)
        assert plan_row is not None
        plan_row.active = False
    with pytest.raises(PlanUnavailable):
        await _sell(db, "n4", plan_id=plan, customer_id=sold.customer.id)
    await assert_audit_ok(db)


async def test_list_filters_search_and_pages(db: Database) -> None:
    await make_reseller(db, 1001, credit=100_000)
    await make_reseller(db, 1002, name="Bob", credit=100_000)
    short = await _plan(db, "d5", days=5)
    long = await _plan(db, "d60", days=60)
    for i in range(10):
        await _sell(db, f"a{i}", plan_id=short if i % 2 else long, username=f"cust{i}_a")
    await _sell(db, "b", plan_id=long, username="bobs_cust", telegram_id=1002)
    page = await customers.list_customers(db, 1001, now=NOW, page_size=4)
    assert (page.total, page.pages) == (10, 3)
    assert page.customers[0].expires_at <= page.customers[-1].expires_at
    expiring = await customers.list_customers(db, 1001, now=NOW, flt=Filter.EXPIRING)
    assert {c.username for c in expiring.customers} == {f"cust{i}_a" for i in range(1, 10, 2)}
    later = NOW + dt.timedelta(days=6)
    assert (await customers.list_customers(db, 1001, now=later, flt=Filter.EXPIRED)).total == 5
    found = await customers.list_customers(db, 1001, now=NOW, search="T3_")
    assert [c.username for c in found.customers] == ["cust3_a"]
    assert (await customers.list_customers(db, 1001, now=NOW, search="%")).total == 0
    assert (await customers.list_customers(db, 1001, now=NOW, search="bobs")).total == 0


async def test_link_once_per_token_and_a_chat_may_link_several_subscriptions(
    db: Database,
) -> None:
    await make_reseller(db, 1001, credit=5_000)
    plan = await _plan(db)
    sold = await _sell(db, "n1", plan_id=plan, username="john")
    other = await _sell(db, "n2", plan_id=plan, username="jane")
    token = sold.customer.link_token
    assert token and other.customer.link_token
    linked = await customer_links.link(db, token=token, chat_id=777, now=NOW)
    assert linked.linked
    await customer_links.link(db, token=token, chat_id=777, now=NOW)  # the same chat again: fine
    with pytest.raises(CustomerError, match="already used"):
        await customer_links.link(db, token=token, chat_id=888, now=NOW)
    # A family: the same chat links a second subscription, and keeps the first.
    await customer_links.link(db, token=other.customer.link_token, chat_id=777, now=NOW)
    status = await customers.status_of(db, 777)
    assert status is not None and status.customer.username == "john"
    second = await customers.status_of(db, 777, other.customer.id)
    assert second is not None and second.customer.username == "jane"
    assert [h.kind.value for h in status.history] == ["activation"]


async def test_a_sale_stuck_half_way_is_released_after_the_grace_period(db: Database) -> None:
    alice = await make_reseller(db, 1001, credit=5_000)
    plan = await _plan(db)
    started = asyncio.Event()

    class NeverAnswers(LocalProvider):
        async def create(self, request: CreateSubscription) -> Provisioned:
            started.set()
            await asyncio.sleep(3600)
            raise AssertionError("unreachable")

    # The process "dies" while the provider is being asked: the task is simply dropped.
    sale = asyncio.create_task(
        _sell(db, "n1", NeverAnswers(), plan_id=plan, username="john", seconds=3600)
    )
    await started.wait()
    sale.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sale
    assert (await _available(db, alice.account_id)).held == 1_000
    grace = dt.timedelta(minutes=5)
    now = dt.datetime.now(dt.UTC)
    assert await sale_settlement.abandon_stale_orders(db, now=now, older_than=grace) == 0
    later = now + grace
    assert await sale_settlement.abandon_stale_orders(db, now=later, older_than=grace) == 1
    assert await sale_settlement.abandon_stale_orders(db, now=later, older_than=grace) == 0
    bal = await _available(db, alice.account_id)
    assert (bal.balance, bal.held) == (5_000, 0)
    with pytest.raises(SaleFailed, match="abandoned"):
        await _sell(db, "n1", plan_id=plan, username="john")
    await assert_audit_ok(db)


# --- invite links, unlinking, and the notices they queue ----------------------------------


async def _linked(db: Database, chat_id: int = 777) -> tuple[CustomerView, str]:
    """A customer sold at NOW, expiring 30 days later, with ``chat_id`` linked."""
    await make_reseller(db, 1001, credit=50_000)
    plan = await _plan(db)
    sold = await _sell(db, f"n{chat_id}", plan_id=plan, username=f"john{chat_id}")
    token = sold.customer.link_token
    assert token
    await customer_links.link(db, token=token, chat_id=chat_id, now=NOW)
    return sold.customer, token


async def _outbox(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
                .order_by(OutboxMessage.id)
            )
        )


def _render(message: OutboxMessage) -> tuple[str, InlineKeyboardMarkup | None]:
    """What the sender would send for a queued message."""
    settings = AppSettings(_env_file=None)  # type: ignore[call-arg]
    return notices.render(message.kind, json.loads(message.payload), settings, SOURCE)


def _job_settings() -> alerts.Settings:
    return alerts.Settings(
        zone=ZoneInfo("UTC"), reminder_offsets_days=(7, 3, 1, 0), digest_time=dt.time(9),
        topup_remind_after=dt.timedelta(hours=12), topup_expire_after=dt.timedelta(days=3),
        admin_chat_id=None,
    )  # fmt: skip


async def test_revoking_a_link_unlinks_its_chat_withdraws_its_reminders_and_tells_it(
    db: Database,
) -> None:
    customer, token = await _linked(db, 777)
    week_before = customer.expires_at - dt.timedelta(days=7)
    assert await customer_expiry.queue_expiry_reminders(db, week_before, _job_settings()) == 1
    revoked = await customer_links.revoke_invite(db, 1001, customer.id, now=week_before)
    assert revoked.unlinked_chat and revoked.token is None and not revoked.customer.linked
    assert await customers.status_of(db, 777) is None
    queued = await _outbox(db)
    # The reminder queued for the old chat is withdrawn; the chat is told why it stops.
    assert [(m.chat_id, m.kind) for m in queued] == [(777, alerts.Kind.CUSTOMER_UNLINKED)]
    text, _ = _render(queued[0])
    assert "no longer linked" in text and "john777" in text and "revoked" in text
    three_days_before = customer.expires_at - dt.timedelta(days=3)
    assert await customer_expiry.queue_expiry_reminders(db, three_days_before, _job_settings()) == 0
    with pytest.raises(CustomerError, match="not valid"):
        await customer_links.link(db, token=token, chat_id=777, now=NOW)
    again = await customer_links.revoke_invite(db, 1001, customer.id, now=week_before)
    assert not again.unlinked_chat and len(await _outbox(db)) == 1  # nothing more to tell


async def test_a_new_link_replaces_the_old_one_and_unlinks_the_chat_that_used_it(
    db: Database,
) -> None:
    customer, old = await _linked(db, 777)
    replaced = await customer_links.replace_invite(db, 1001, customer.id, now=NOW)
    assert replaced.token and replaced.token != old and replaced.unlinked_chat
    assert await customers.status_of(db, 777) is None
    with pytest.raises(CustomerError, match="not valid"):
        await customer_links.link(db, token=old, chat_id=777, now=NOW)
    linked = await customer_links.link(db, token=replaced.token, chat_id=888, now=NOW)
    assert linked.linked and linked.linked_at == NOW
    assert await customer_links.invite_token(db, 1001, customer.id) == replaced.token
    (notice,) = await _outbox(db)
    text, _ = _render(notice)
    assert notice.chat_id == 777 and "new invite link" in text
    await make_reseller(db, 1002, name="Bob")
    with pytest.raises(CustomerError, match="no such customer"):  # not Bob's to replace
        await customer_links.replace_invite(db, 1002, customer.id, now=NOW)
    assert await customer_links.invite_token(db, 1001, customer.id) == replaced.token


async def test_a_customer_unlinks_their_own_chat_and_may_link_again_with_the_same_link(
    db: Database,
) -> None:
    customer, token = await _linked(db, 777)
    week_before = customer.expires_at - dt.timedelta(days=7)
    await customer_expiry.queue_expiry_reminders(db, week_before, _job_settings())
    unlinked = await customer_links.unlink_chat(db, 777, now=week_before)
    assert unlinked.username == "john777" and not unlinked.linked
    assert await _outbox(db) == []  # the withdrawn reminder; the customer acted, so no notice
    with pytest.raises(CustomerError, match="not linked"):
        await customer_links.unlink_chat(db, 777, now=week_before)
    assert (await customer_links.link(db, token=token, chat_id=777, now=NOW)).linked


async def test_an_invite_link_can_be_looked_up_without_linking(db: Database) -> None:
    customer, token = await _linked(db, 777)
    found = await customer_links.invite_info(db, token)
    assert found is not None and found.id == customer.id
    assert await customer_links.invite_info(db, "no-such-token") is None


async def test_a_renewal_request_is_queued_for_the_reseller_at_most_once_an_hour(
    db: Database,
) -> None:
    customer, _ = await _linked(db, 777)
    asked = await customers.renewal_request(db, 777, now=NOW)
    assert asked.id == customer.id
    (notice,) = await _outbox(db)
    assert (notice.chat_id, notice.kind) == (1001, alerts.Kind.RENEWAL_REQUEST)
    text, keyboard = _render(notice)
    assert "john777</b> asks to renew" in text and "10.00 credits" in text
    assert keyboard is not None
    assert keyboard.inline_keyboard[0][0].callback_data == f"cu:rq:{customer.id}:1"
    with pytest.raises(customers.AlreadyRequested):
        await customers.renewal_request(db, 777, now=NOW + dt.timedelta(minutes=59))
    await customers.renewal_request(db, 777, now=NOW + dt.timedelta(minutes=61))
    assert len(await _outbox(db)) == 2
    with pytest.raises(CustomerError, match="not linked"):
        await customers.renewal_request(db, 888, now=NOW)


async def test_a_renewal_request_to_a_reseller_who_blocked_the_bot_says_so(db: Database) -> None:
    await _linked(db, 777)
    await outbox.mark_unreachable(db, 1001, "blocked", NOW)
    with pytest.raises(CustomerError, match="could not be reached"):
        await customers.renewal_request(db, 777, now=NOW)
    assert await _outbox(db) == []
