"""Every flow in every language: a reseller, an admin, a customer and a stranger whose
Telegram clients speak one language walk the bot's flows through the fake Bot API (top-up
approved and rejected, activation, renewal from a customer's request, the customers list
and card, the admin's screens, suspension, staff admins, refusals, jobs' notices), and no
reply, button or button answer they get holds an English sentence.

What is written here does not depend on the database: this runs on SQLite only, while
each flow's own tests run on both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable
from typing import Any

import pytest

import jobs
from bot import i18n
from bot.context import BotApplication
from bot.db import Database
from bot.services import plans, pricing
from bot.settings import Settings
from handlers.admin.callbacks import STAFF_PICKER
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID
from tests.english import english_in
from tests.fake_bot_api import Event, FakeBotAPI, User, visible_text
from tests.helpers import make_reseller
from tests.test_jobs import drain

RESELLER, CUSTOMER, STRANGER, STAFF = 1001, 5001, 7001, 8001
LANGUAGES = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT_LANGUAGE]
QUIET = 0.15  # seconds without a new event: the bot is done answering


class Journey:
    """Acts as users and waits until the bot has finished answering each act."""

    def __init__(self, fake_api: FakeBotAPI, language: str) -> None:
        self.api = fake_api
        self.language = language
        self.answers: list[str] = []

    def user(self, user_id: int, name: str) -> User:
        user = self.api.user(user_id, name)
        user.language_code = self.language
        return user

    async def settle(self, chat_id: int) -> list[Event]:
        """What the bot did in ``chat_id`` after the last act: at least one event."""
        found = [await self.api.next_event(chat_id)]
        while True:
            await asyncio.sleep(QUIET)
            more = self.api.unread(chat_id)
            if not more:
                return found
            for _ in more:
                found.append(await self.api.next_event(chat_id))

    async def say(self, user: User, text: str, chat_id: int | None = None, **kw: Any) -> Event:
        await self.api.send(user, text, chat_id=chat_id, **kw)
        return (await self.settle(chat_id or user.id))[-1]

    async def tap(self, user: User, event: Event, prefix: str, *, wait: bool = True) -> Event:
        """Tap the first button whose data starts with ``prefix``; the chat's last event."""
        data = next((d for _, d in event.buttons if d.startswith(prefix)), None)
        assert data is not None, f"no button {prefix!r} in {event.buttons}"
        return await self.tap_data(user, event, data, wait=wait)

    async def tap_data(self, user: User, event: Event, data: str, *, wait: bool = True) -> Event:
        answer = await self.api.answer(await self.api.tap(user, event, data))
        if answer.get("text"):
            self.answers.append(str(answer["text"]))
        chat_id = event.message["chat"]["id"]
        return (await self.settle(chat_id))[-1] if wait else event

    async def both(self, act: Awaitable[Event], other_chat: int) -> list[Event]:
        await act
        return await self.settle(other_chat)

    async def told(
        self, app: BotApplication, db: Database, settings: Settings, chat_id: int
    ) -> Event:
        """What the outbox then tells ``chat_id`` (someone other than who acted)."""
        await drain(app, db, settings, dt.datetime.now(dt.UTC))
        return (await self.settle(chat_id))[-1]


def _seen(event: Event) -> list[str]:
    """What a reader sees of an event: its text and its buttons' labels (a reply
    keyboard's too)."""
    parse_mode = "HTML" if event.message.get("text") or event.message.get("caption") else None
    seen = [visible_text(event.text, parse_mode)] if event.text else []
    keyboard = event.message.get("reply_keyboard", {}).get("keyboard", [])
    typed = [b if isinstance(b, str) else b["text"] for row in keyboard for b in row]
    return seen + [label for label, _ in event.buttons] + typed


def _token(text: str) -> str:
    found = re.search(r"\?start=([\w-]+)", text)
    assert found, text
    return found.group(1)


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_flow_answers_in_the_readers_language_with_no_english_left(
    bot: BotApplication,
    fake_api: FakeBotAPI,
    db: Database,
    settings: Settings,
    language: str,
) -> None:
    j = Journey(fake_api, language)
    seller, admin = j.user(RESELLER, "Parisa"), j.user(ADMIN_ID, "Boss")
    customer, stranger = j.user(CUSTOMER, "Kian"), j.user(STRANGER, "Nima")
    await make_reseller(db, RESELLER, name="Parisa", credit=5_000, threshold=50_000)
    await plans.add_plan(db, code="vpn-30", name="VPN 30d", days=30, price=1_050)
    await plans.add_plan(db, code="vpn-max", name="VPN MAX", days=365, price=9_999_900)
    # Operator data named so that no name is also a catalog message ("Bank transfer" is).
    await pricing.add_tier(db, min_credits=0, unit_price=100)
    await pricing.add_method(db, code="iban", name="IBAN", instructions="DE00 1234 5678")
    # The admin group reads the language its admins choose for it.
    choices = await j.say(admin, "/language", chat_id=ADMIN_CHAT_ID)
    await j.tap_data(admin, choices, f"lang:{language}")

    # A reseller's day: menu, help, balance, history, the language screen.
    menu = await j.say(seller, "/start")
    await j.say(seller, "/help")
    balance = await j.say(seller, "/balance")
    await j.tap(seller, balance, "tu:list")
    await j.say(seller, "/history")
    await j.say(seller, "/language")

    # A top-up, approved; another, rejected with a reason; a third, cancelled.
    async def top_up(amount: str) -> Event:
        await j.say(seller, "/topup")
        await j.say(seller, "-5")  # refused: not a positive amount
        methods = await j.say(seller, amount)
        await j.tap(seller, methods, "tu:m:")
        await j.say(seller, "🙂")  # refused: not a proof
        summary = await j.say(seller, "TX-12345")
        posted = await j.both(j.tap(seller, summary, "tu:c:"), ADMIN_CHAT_ID)
        return posted[-1]

    post = await top_up("100")
    await j.tap(admin, post, "tu:ok:")
    await j.told(bot, db, settings, RESELLER)
    post = await top_up("250,5")
    prompt = await j.tap(admin, post, "tu:no:")
    await j.say(admin, "x" * 300, chat_id=ADMIN_CHAT_ID, reply_to=prompt)  # too long
    await j.say(admin, "TX-0", chat_id=ADMIN_CHAT_ID, reply_to=prompt)
    await j.told(bot, db, settings, RESELLER)
    cancelling = await j.say(seller, "/topup")
    await j.tap(seller, cancelling, "tu:cancel")
    await j.say(seller, "/topups")

    # An activation, a refused username, a sale short of credit.
    await j.say(seller, "/activate")
    await j.say(seller, "??")
    picker = await j.say(seller, "kian.m")
    confirm = await j.tap(seller, picker, "cu:p:")
    await j.tap(seller, confirm, "cu:c:")
    await j.say(seller, "/activate")
    picker = await j.say(seller, "big.one")
    plans_shown = [d for _, d in picker.buttons if d.startswith("cu:p:")]
    costly = await j.tap_data(seller, picker, plans_shown[-1])
    await j.tap(seller, costly, "cu:x")

    # The customers list, the card, its invite link.
    listing = await j.say(seller, "/customers")
    card = await j.tap(seller, listing, "cu:v:")
    invite = await j.tap(seller, card, "cu:i:")

    # The customer links their chat, reads their status and asks to renew.
    await j.say(customer, f"/start {_token(invite.text)}")
    status = await j.say(customer, "/status")
    await j.tap(customer, status, "cs:rr", wait=False)  # answered with an alert
    request = await j.told(bot, db, settings, RESELLER)
    renewal = await j.tap(seller, request, "cu:rq:")
    await j.tap(seller, renewal, "cu:c:")

    # A renewal by search, left with /cancel.
    await j.say(seller, "/renew")
    found = await j.say(seller, "kian")
    await j.tap(seller, found, "cu:pk:")
    await j.say(seller, "/cancel")

    # The jobs: an expiry reminder to the customer, a low-balance alert to the reseller.
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=53)
    await jobs.run_reminders(db, settings, expires)
    await jobs.run_alerts(db, settings, dt.datetime.now(dt.UTC))
    await drain(bot, db, settings, expires)
    await j.settle(CUSTOMER)
    await j.settle(RESELLER)

    # The admin's screens, and a suspension with a reason that the reseller is told.
    await j.say(admin, "/start")
    await j.say(admin, "/pending")
    resellers = await j.say(admin, "/resellers")
    card = await j.tap(admin, resellers, "adm:rs:")
    await j.tap(admin, card, "adm:sus:")
    await j.say(admin, "late payments")
    await j.told(bot, db, settings, RESELLER)
    await j.say(seller, "/activate")  # refused: suspended
    resellers = await j.say(admin, "/resellers")
    card = await j.tap(admin, resellers, "adm:rs:")
    await j.tap(admin, card, "adm:act:")
    await j.told(bot, db, settings, RESELLER)
    await j.say(admin, "/audit")

    # Staff admins: one added with the user picker (after a typed id that is none), one
    # permission allowed, a screen it does not cover refused, then removed; and a second
    # adding left with /cancel.
    staff = j.user(STAFF, "Sara")
    listing = await j.tap(admin, await j.say(admin, "/start"), "adm:staff:")
    await j.tap(admin, listing, "adm:stfa")
    await j.say(admin, "abc")
    await fake_api.send_users_shared(admin, STAFF_PICKER, [staff])
    card = (await j.settle(ADMIN_ID))[-1]
    card = await j.tap(admin, card, "adm:stfp:")
    await j.say(staff, "/start")
    await j.say(staff, "/resellers")  # refused: no permission
    confirm = await j.tap(admin, card, "adm:stfx:")
    listing = await j.tap(admin, confirm, "adm:stfy:")
    await j.tap(admin, listing, "adm:stfa")
    await j.say(admin, "/cancel")

    # Refusals: strangers, unknown commands, stray input, forged buttons.
    await j.say(stranger, "/start")
    await j.say(stranger, "/balance")
    await j.say(seller, "/nonsense")
    await j.say(seller, "hello")
    # Refused with an alert: the screen stays as it was.
    await j.tap_data(seller, menu, "cu:v:999999", wait=False)
    await j.tap_data(stranger, menu, "adm:rs:1001", wait=False)
    unlinking = await j.say(customer, "/unlink")
    await j.tap(customer, unlinking, "cs:ul")

    english: list[str] = []
    # The group's first message offers the languages before one is chosen for it.
    skip = {ADMIN_CHAT_ID: 1}
    for chat_id in (RESELLER, ADMIN_ID, ADMIN_CHAT_ID, CUSTOMER, STRANGER, STAFF):
        for event in fake_api.events(chat_id)[skip.get(chat_id, 0) :]:
            for seen in _seen(event):
                english += [f"{chat_id}: {hit!r} in {seen!r}" for hit in english_in(seen, language)]
    english += [f"answer: {hit!r}" for a in j.answers for hit in english_in(a, language)]
    assert english == [], "\n".join(english)
    assert len(fake_api.events(RESELLER)) > 40 and len(j.answers) > 5
