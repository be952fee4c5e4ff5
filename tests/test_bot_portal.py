"""The customer portal on local plans, through the running bot: cancelling with a reason
(a button or their own words), changing package with the reseller's one-tap answer, a
family's chat with two subscriptions, the payments screen, and the pause allowance set by
the reseller and by an admin. Bad inputs: a disabled plan, double taps, forged ids."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

import jobs
from bot.context import BotApplication
from bot.db import Database
from bot.services import alerts, ledger, plans, sales
from bot.services.provisioning import LocalProvider
from bot.services.resellers import require_by_telegram_id
from bot.settings import Settings
from handlers.portal import callbacks
from models import Customer, CustomerStatus, OutboxMessage, Reseller
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, say, tap
from tests.test_jobs import drain

ALICE, BOB = 1001, 1002
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass
class Shop:
    app: BotApplication
    api: FakeBotAPI
    db: Database
    settings: Settings
    carol: User
    alice: User
    ids: dict[str, int]
    tokens: dict[str, str]
    plans: dict[str, int]


@pytest.fixture
async def shop(bot: BotApplication, fake_api: FakeBotAPI, db: Database) -> Shop:
    """Alice sold carol and cathy (a family) and Bob sold bob1; Carol linked carol."""
    found = {}
    for code, name, price in (("m1", "IPTV 1 month", 1_000), ("hd", "IPTV HD", 1_500),
                              ("old", "IPTV legacy", 800)):  # fmt: skip
        found[code] = (await plans.add_plan(db, code=code, name=name, days=30, price=price)).id
    await make_reseller(db, ALICE, name="Alice", credit=10_000)
    await make_reseller(db, BOB, name="Bob", credit=10_000)
    ids, tokens = {}, {}
    for seller, username in ((ALICE, "carol"), (ALICE, "cathy"), (BOB, "bob1")):
        sold = await sales.sell(
            db, LocalProvider(), telegram_id=seller, plan_id=found["m1"], key=f"k-{username}",
            now=NOW, provider_seconds=5, username=username,
        )  # fmt: skip
        ids[username] = sold.customer.id
        tokens[username] = sold.customer.link_token or ""
    await plans.set_plan_active(db, plan_id=found["old"], active=False, actor="t", now=NOW)
    carol = fake_api.user(5001, "Carol")
    assert "Linked!" in (await say(fake_api, carol, f"/start {tokens['carol']}")).text
    return Shop(
        bot, fake_api, db, bot.bot_data["settings"], carol, fake_api.user(ALICE, "Alice"),
        ids, tokens, found,
    )  # fmt: skip


async def _home(s: Shop) -> Event:
    return await say(s.api, s.carol, "/start")


async def _forged(api: FakeBotAPI, user: User, event: Event, data: str) -> str:
    answered = await api.answer(await api.tap(user, event, data))
    assert str(answered.get("show_alert")).lower() == "true", answered
    return str(answered.get("text", ""))


async def _status(db: Database, customer_id: int) -> Customer:
    async with db.transaction() as session:
        found = await session.get(Customer, customer_id, populate_existing=True)
    assert found is not None
    return found


async def _available(db: Database, telegram_id: int) -> int:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return (await ledger.balance(session, reseller.account_id)).available


# --- cancelling -------------------------------------------------------------------------


async def test_cancelling_with_a_reason_button_tells_the_reseller_and_stops_reminders(
    shop: Shop,
) -> None:
    s, cid = shop, shop.ids["carol"]
    reasons = await tap(s.api, s.carol, await _home(s), callbacks.CANCEL.build(cid))
    assert "Why are you leaving?" in reasons.text
    confirm = await tap(s.api, s.carol, reasons, callbacks.CANCEL_REASON.build(cid, "price"))
    assert "Too expensive" in confirm.text
    done = await tap(s.api, s.carol, confirm, callbacks.CANCEL_CONFIRM.build(cid))
    assert "is cancelled and your reseller was told" in done.text
    found = await _status(s.db, cid)
    assert found.status == CustomerStatus.CANCELLED and found.cancel_reason == "price"
    # A second tap on Confirm: refused, nothing changes.
    refused = await _forged(s.api, s.carol, confirm, callbacks.CANCEL_CONFIRM.build(cid))
    assert "no longer valid" in refused
    await drain(s.app, s.db, s.settings, dt.datetime.now(dt.UTC))
    told = await s.api.next_event(ALICE)
    assert "cancelled IPTV 1 month" in told.text and "Too expensive" in told.text
    # Three days before the expiry the reminder job runs: nothing for the cancelled one.
    at = found.expires_at - dt.timedelta(days=3)
    await jobs.run_reminders(s.db, s.settings, at)
    async with s.db.transaction() as session:
        reminders = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.kind == alerts.Kind.EXPIRY_REMINDER,
                OutboxMessage.key.startswith(f"remind:{cid}:"),
            )
        )
    assert reminders == 0
    # The home no longer offers cancelling, pausing or a change.
    labels = [data for _, data in (await _home(s)).buttons]
    assert callbacks.CANCEL.build(cid) not in labels and callbacks.CHANGE.build(cid) not in labels


async def test_cancelling_in_their_own_words_escapes_them_and_keep_changes_nothing(
    shop: Shop,
) -> None:
    s, cid = shop, shop.ids["carol"]
    reasons = await tap(s.api, s.carol, await _home(s), callbacks.CANCEL.build(cid))
    kept = await tap(s.api, s.carol, reasons, callbacks.CANCEL_KEEP.build())
    assert "stays as it is" in kept.text
    assert (await _status(s.db, cid)).status == CustomerStatus.ACTIVE
    await tap(s.api, s.carol, await _home(s), callbacks.CANCEL.build(cid))
    confirm = await say(s.api, s.carol, "moving to <b>cable</b>")
    assert "moving to &lt;b&gt;cable&lt;/b&gt;" in confirm.text
    await tap(s.api, s.carol, confirm, callbacks.CANCEL_CONFIRM.build(cid))
    found = await _status(s.db, cid)
    assert (found.cancel_reason, found.cancel_note) == ("other", "moving to <b>cable</b>")
    await drain(s.app, s.db, s.settings, dt.datetime.now(dt.UTC))
    assert "In their words: moving to &lt;b&gt;cable" in (await s.api.next_event(ALICE)).text


# --- changing package ---------------------------------------------------------------------


async def _request_hd(s: Shop) -> tuple[Event, int]:
    """Carol asks for IPTV HD; Alice's notice and the request's id."""
    cid = s.ids["carol"]
    offered = await tap(s.api, s.carol, await _home(s), callbacks.CHANGE.build(cid))
    assert [label for label, _ in offered.buttons[:-1]] == ["IPTV HD (30 days)"]
    asked = await tap(s.api, s.carol, offered, callbacks.CHANGE_TO.build(cid, s.plans["hd"]))
    assert "asked to change your package to IPTV HD" in asked.text
    await drain(s.app, s.db, s.settings, dt.datetime.now(dt.UTC))
    notice = await s.api.next_event(ALICE)
    assert "asks to change from IPTV 1 month to IPTV HD" in notice.text
    assert "15.00 credits (+5.00" in notice.text  # the reseller's price and the difference
    approve = [d for _, d in notice.buttons if d.startswith("pc:oa:")]
    return notice, int(approve[0].split(":")[2])


async def test_a_change_of_package_approved_with_one_tap_is_sold_once(shop: Shop) -> None:
    s, cid = shop, shop.ids["carol"]
    offered = await tap(s.api, s.carol, await _home(s), callbacks.CHANGE.build(cid))
    for plan in ("old", "m1"):  # the disabled plan, and the one Carol has
        refused = await _forged(
            s.api, s.carol, offered, callbacks.CHANGE_TO.build(cid, s.plans[plan])
        )
        assert "not available" in refused
    notice, request = await _request_hd(s)
    again = await _forged(s.api, s.carol, offered, callbacks.CHANGE_TO.build(cid, s.plans["hd"]))
    assert "already asked for a change" in again
    before = await _available(s.db, ALICE)
    expiry = (await _status(s.db, cid)).expires_at
    done = await tap(s.api, s.alice, notice, callbacks.CHANGE_APPROVE_AT.build(request, 1_500))
    assert "Changed <b>carol</b> to IPTV HD" in done.text
    assert await _available(s.db, ALICE) == before - 1_500
    found = await _status(s.db, cid)
    assert found.plan_id == s.plans["hd"] and found.expires_at == expiry + dt.timedelta(days=30)
    # A second tap on Approve (an old copy of the notice): nothing more is charged.
    again = callbacks.CHANGE_APPROVE_AT.build(request, 1_500)
    await s.api.answer(await s.api.tap(s.alice, notice, again))
    assert await _available(s.db, ALICE) == before - 1_500
    await drain(s.app, s.db, s.settings, dt.datetime.now(dt.UTC))
    assert "Your package is now IPTV HD" in (await s.api.next_event(s.carol.id)).text


async def test_a_change_declined_with_a_reason_and_another_resellers_tap_refused(
    shop: Shop,
) -> None:
    s, cid = shop, shop.ids["carol"]
    notice, request = await _request_hd(s)
    bob = s.api.user(BOB, "Bob")
    menu = await say(s.api, bob, "/start")  # Bob's client forges buttons under his menu
    # Approving answers the tap at once (the panel may be slow), then says why not.
    forged = callbacks.CHANGE_APPROVE_AT.build(request, 1_500)
    await s.api.answer(await s.api.tap(bob, menu, forged))
    assert "no longer valid" in (await s.api.next_event(BOB)).text
    refused = await _forged(
        s.api, bob, menu, callbacks.CHANGE_DECLINE_REASON.build(request, "later")
    )
    assert "no longer valid" in refused
    assert await _available(s.db, ALICE) == 8_000  # two sales before, nothing since
    reasons = await tap(s.api, s.alice, notice, callbacks.CHANGE_DECLINE.build(request))
    done = await tap(
        s.api, s.alice, reasons, callbacks.CHANGE_DECLINE_REASON.build(request, "later")
    )
    assert "Declined: carol stays on IPTV 1 month" in done.text
    assert (await _status(s.db, cid)).plan_id == s.plans["m1"]
    again = await _forged(
        s.api, s.alice, reasons, callbacks.CHANGE_DECLINE_REASON.build(request, "later")
    )
    assert "no longer valid" in again
    await drain(s.app, s.db, s.settings, dt.datetime.now(dt.UTC))
    told = await s.api.next_event(s.carol.id)
    assert "declined the change to IPTV HD: Not now; ask again later" in told.text


# --- a family's chat, payments -----------------------------------------------------------


async def test_a_chat_linked_to_two_subscriptions_lists_them_and_switches(shop: Shop) -> None:
    s = shop
    assert "Linked!" in (await say(s.api, s.carol, f"/start {s.tokens['cathy']}")).text
    listing = await _home(s)
    assert "Your subscriptions" in listing.text
    assert [label for label, _ in listing.buttons] == [
        "carol · IPTV 1 month",
        "cathy · IPTV 1 month",
    ]
    cathy = await tap(s.api, s.carol, listing, callbacks.HOME.build(s.ids["cathy"]))
    assert "cathy" in cathy.text and callbacks.LIST.build() in [d for _, d in cathy.buttons]
    ask = await tap(s.api, s.carol, cathy, callbacks.UNLINK.build(s.ids["cathy"]))
    done = await tap(s.api, s.carol, ask, callbacks.UNLINK_CONFIRM.build(s.ids["cathy"]))
    assert "is no longer linked to this chat" in done.text
    assert (await _status(s.db, s.ids["cathy"])).chat_id is None
    assert (await _status(s.db, s.ids["carol"])).chat_id == s.carol.id
    home = await _home(s)  # one left: straight to its home
    assert "carol" in home.text and "Your subscription" in home.text


async def test_payments_list_activations_and_renewals_without_the_resellers_cost(
    shop: Shop,
) -> None:
    s, cid = shop, shop.ids["carol"]
    await sales.sell(
        s.db, LocalProvider(), telegram_id=ALICE, plan_id=s.plans["m1"], key="renew-1",
        now=NOW, provider_seconds=5, customer_id=cid,
    )  # fmt: skip
    shown = await tap(s.api, s.carol, await _home(s), callbacks.PAYMENTS.build(cid, 0))
    lines = [line for line in shown.text.split("\n") if line.startswith("• ")]
    assert len(lines) == 2
    assert "renewal: IPTV 1 month, 30 days" in lines[0] and "activation" in lines[1]
    assert "10.00" not in shown.text and "credits" not in shown.text


# --- the pause allowance -------------------------------------------------------------------


async def _reseller_id(db: Database, telegram_id: int) -> int:
    async with db.transaction() as session:
        found = await session.scalar(select(Reseller.id).where(Reseller.telegram_id == telegram_id))
    assert found is not None
    return found


async def _allowance(db: Database, telegram_id: int) -> int:
    async with db.transaction() as session:
        found = await session.scalar(
            select(Reseller.max_pause_days).where(Reseller.telegram_id == telegram_id)
        )
    return int(found or 0)


async def test_the_reseller_and_an_admin_set_the_pause_allowance_and_no_one_else(
    shop: Shop,
) -> None:
    s = shop
    alice_id, bob_id = await _reseller_id(s.db, ALICE), await _reseller_id(s.db, BOB)
    screen = await say(s.api, s.alice, "/pausing")
    assert "Customers may not pause" in screen.text
    done = await tap(s.api, s.alice, screen, callbacks.POLICY_SET.build(alice_id, 30))
    assert "up to 30 days a year" in done.text and await _allowance(s.db, ALICE) == 30
    refused = await _forged(s.api, s.alice, done, callbacks.POLICY_SET.build(bob_id, 90))
    assert "not yours" in refused and await _allowance(s.db, BOB) == 0
    # The customer now sees Pause on the home.
    home = await _home(s)
    assert callbacks.PAUSE.build(s.ids["carol"]) in [d for _, d in home.buttons]
    admin = s.api.user(ADMIN_ID, "Owner")
    listing = await say(s.api, admin, "/resellers")
    card = await tap(s.api, admin, listing, listing.button("Bob"))
    bob_screen = await tap(s.api, admin, card, callbacks.POLICY.build(bob_id))
    assert "for the customers of Bob" in bob_screen.text
    await tap(s.api, admin, bob_screen, callbacks.POLICY_SET.build(bob_id, 14))
    assert await _allowance(s.db, BOB) == 14
    # The reseller reaches their own from the customers list.
    customers = await say(s.api, s.alice, "/customers")
    own = await tap(s.api, s.alice, customers, callbacks.POLICY_OWN.build())
    assert "for your customers" in own.text and "up to 30 days a year" in own.text


async def test_a_familys_reminder_asks_to_renew_the_subscription_it_is_about(shop: Shop) -> None:
    s = shop
    await say(s.api, s.carol, f"/start {s.tokens['cathy']}")
    expires = (await _status(s.db, s.ids["cathy"])).expires_at
    at = expires - dt.timedelta(days=3)
    await jobs.run_reminders(s.db, s.settings, at)
    await drain(s.app, s.db, s.settings, at)
    reminders = [await s.api.next_event(s.carol.id) for _ in range(2)]
    (cathys,) = [e for e in reminders if "cathy" in e.text]
    answered = await s.api.answer(
        await s.api.tap(s.carol, cathys, callbacks.RENEWAL.build(s.ids["cathy"]))
    )
    assert "has been asked" in str(answered.get("text"))
    await drain(s.app, s.db, s.settings, at)
    # From the digest's time of day Alice's daily digest comes too: read until the request.
    told = [(await s.api.next_event(ALICE)).text]
    while "<b>cathy</b> asks to renew" not in told[-1] and len(told) < 3:
        told.append((await s.api.next_event(ALICE)).text)
    assert "<b>cathy</b> asks to renew" in told[-1], told


async def test_approve_after_a_price_rise_charges_nothing_and_shows_the_new_price(
    shop: Shop,
) -> None:
    """The notice said 15.00; the plan costs 20.00 by the time Alice taps Approve: she is
    charged nothing until she approves the price she is shown."""
    s, cid = shop, shop.ids["carol"]
    notice, _ = await _request_hd(s)
    await plans.edit_plan(s.db, plan_id=s.plans["hd"], actor="t", now=NOW, price=2_000)
    before = await _available(s.db, ALICE)
    await s.api.answer(await s.api.tap(s.alice, notice, notice.buttons[0][1]))
    requoted = await s.api.next_event(ALICE)
    assert "now costs 20.00 credits" in requoted.text and "nothing was charged" in requoted.text
    assert await _available(s.db, ALICE) == before
    assert (await _status(s.db, cid)).plan_id == s.plans["m1"]
    # Approving what she is now shown sells at that price, once.
    done = await tap(s.api, s.alice, requoted, requoted.buttons[0][1])
    assert "Changed <b>carol</b> to IPTV HD" in done.text
    assert await _available(s.db, ALICE) == before - 2_000
    await s.api.answer(await s.api.tap(s.alice, requoted, requoted.buttons[0][1]))
    assert await _available(s.db, ALICE) == before - 2_000


async def test_an_older_notices_approve_without_a_price_sells_nothing_and_quotes_it(
    shop: Shop,
) -> None:
    s = shop
    notice, request = await _request_hd(s)
    before = await _available(s.db, ALICE)
    await s.api.answer(await s.api.tap(s.alice, notice, callbacks.CHANGE_APPROVE.build(request)))
    quoted = await s.api.next_event(ALICE)
    assert "now costs 15.00 credits" in quoted.text
    assert await _available(s.db, ALICE) == before


async def test_status_and_unlink_in_a_familys_chat_ask_which_subscription(shop: Shop) -> None:
    """/status and /unlink name no subscription: with two linked they list them to pick
    from instead of acting on the first; an older Unlink confirmation unlinks nothing."""
    from handlers.customer import callbacks as customer_callbacks

    s = shop
    assert "Linked!" in (await say(s.api, s.carol, f"/start {s.tokens['cathy']}")).text
    for command in ("/status", "/unlink"):
        listing = await say(s.api, s.carol, command)
        assert "Your subscriptions" in listing.text, command
        assert [d for _, d in listing.buttons] == [
            callbacks.HOME.build(s.ids["carol"]),
            callbacks.HOME.build(s.ids["cathy"]),
        ]
    old = customer_callbacks.UNLINK_CONFIRM.build()  # under a status shown before
    home = await tap(s.api, s.carol, listing, callbacks.HOME.build(s.ids["carol"]))
    await s.api.answer(await s.api.tap(s.carol, home, old))
    confirm = await s.api.next_event(s.carol.id)
    assert "Your subscriptions" in confirm.text
    assert (await _status(s.db, s.ids["carol"])).chat_id == s.carol.id
    assert (await _status(s.db, s.ids["cathy"])).chat_id == s.carol.id
    # With one left, /status shows it as before.
    cathy = await tap(s.api, s.carol, confirm, callbacks.HOME.build(s.ids["cathy"]))
    ask = await tap(s.api, s.carol, cathy, callbacks.UNLINK.build(s.ids["cathy"]))
    await tap(s.api, s.carol, ask, callbacks.UNLINK_CONFIRM.build(s.ids["cathy"]))
    assert "carol" in (await say(s.api, s.carol, "/status")).text
