"""Top-up screens at Telegram's length limits: /pending, /topups, group posts, answers.

Telegram measures after HTML parsing, in UTF-16 code units (an emoji counts twice); the
fake Bot API refuses, as Telegram does, a text over 4,096, a caption over 1,024 and a
button's answer over 200.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any, cast

import pytest
from telegram import Update

from bot.context import BotApplication
from bot.db import Database
from bot.services import pricing, topup_decisions, topup_reads, topups
from bot.services.topup_reads import Proof
from bot.services.topups import Limits
from handlers.common import refuse
from models import ProofKind, TopUpStatus
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID, OTHER_ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User, units, visible_text
from tests.helpers import make_reseller, now, setup_topups

LIMITS = Limits(min_credits=1_000, max_credits=10_000_000, max_pending=3, currency="USD")
TEXT, CAPTION, ANSWER = 4096, 1024, 200


def shown_length(event: Event) -> int:
    return units(visible_text(event.text, "HTML"))


def ids_listed(event: Event) -> list[int]:
    return [int(n) for n in re.findall(r"^#(\d+) ·", event.text, re.MULTILINE)]


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> dict[str, Any]:
    return await fake_api.answer(await fake_api.tap(user, event, data))


async def _long_method(db: Database) -> int:
    await pricing.add_method(db, code="wide", name="💳" * 32, instructions="Pay here")
    return next(m.id for m in await pricing.list_methods(db) if m.code == "wide")


async def _request(db: Database, telegram_id: int, method_id: int, key: str) -> int:
    request, _ = await topups.create_request(
        db, telegram_id=telegram_id, credits=9_999_999, method_id=method_id,
        proof=Proof(ProofKind.REFERENCE, reference="TX-0000"), key=key, limits=LIMITS,
    )  # fmt: skip
    return request.id


async def _walk(fake_api: FakeBotAPI, user: User, first: Event, nxt: str) -> list[Event]:
    """Every page of a list, by its next-page button, each checked against the limit."""
    screens = [first]
    while True:
        screen = screens[-1]
        assert screen.method in ("sendMessage", "editMessageText")
        assert shown_length(screen) <= TEXT, f"page of {shown_length(screen)} units"
        forward = [data for label, data in screen.buttons if nxt in label]
        if not forward:
            return screens
        await _tap(fake_api, user, screen, forward[0])
        screens.append(await fake_api.next_event(user.id))


async def test_pending_with_twenty_long_requests_is_paged_within_the_limit(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await setup_topups(db)
    method_id = await _long_method(db)
    wanted = []
    for n in range(7):
        await make_reseller(db, 2000 + n, name=f"{n} " + "🏪" * 98)
        for k in range(3 if n < 6 else 2):
            wanted.append(await _request(db, 2000 + n, method_id, f"k{n}-{k}"))
    assert len(wanted) == 20
    boss = fake_api.user(ADMIN_ID, "Boss", "boss")
    await fake_api.send(boss, "/pending")
    first = await fake_api.next_event(boss.id)
    assert "Pending top-ups</b> (20) · page 1 of" in first.text
    screens = await _walk(fake_api, boss, first, "Next")
    listed = [i for screen in screens for i in ids_listed(screen)]
    assert listed == wanted  # every request once, oldest first
    assert len(screens) == 2  # ten a page, for the buttons: each fits by far
    for screen in screens:
        shown = ids_listed(screen)
        assert [label for label, _ in screen.buttons if label.startswith("✅")] == [
            f"✅ #{i}" for i in shown
        ]

    # Approving from the second page redraws that page, without the request.
    second = screens[1]
    target = ids_listed(second)[0]
    answer = await _tap(fake_api, boss, second, second.button(f"✅ #{target}"))
    assert answer["text"] == f"Top-up #{target} approved."
    redrawn = await fake_api.next_event(boss.id)
    assert "(19) · page 2 of" in redrawn.text and target not in ids_listed(redrawn)
    assert shown_length(redrawn) <= TEXT
    request = await topup_reads.get_request(db, target)
    assert request is not None and request.status == TopUpStatus.APPROVED


async def test_topups_with_long_rejection_reasons_is_paged_within_the_limit(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await setup_topups(db)
    method_id = await _long_method(db)
    await make_reseller(db, 1001, name="Alice")
    made = []
    for n in range(25):
        request_id = await _request(db, 1001, method_id, f"k{n}")
        made.append(request_id)
        if n < 23:  # the last two stay pending
            await topup_decisions.reject(
                db, request_id=request_id, admin_id=ADMIN_ID, admin_name="boss",
                reason=f"{n} " + "🧾" * 250, now=now(),
            )  # fmt: skip
    alice = fake_api.user(1001, "Alice")
    await fake_api.send(alice, "/topups")
    first = await fake_api.next_event(alice.id)
    assert "Your top-ups</b> · page 1 of" in first.text
    assert [label for label, _ in first.buttons][:2] == ["🚫 Cancel #25", "🚫 Cancel #24"]
    screens = await _walk(fake_api, alice, first, "Older")
    listed = [i for screen in screens for i in ids_listed(screen)]
    assert listed == list(reversed(made))  # every request once, newest first
    assert len(screens) > 3  # cut by length: ten of these would not fit in one message
    # Back one page, then cancel a pending request: the page is drawn again.
    back = screens[-1].key("◀️ Newer")
    await _tap(fake_api, alice, screens[-1], back)
    previous = await fake_api.next_event(alice.id)
    assert ids_listed(previous) == ids_listed(screens[-2])
    await _tap(fake_api, alice, first, first.key("🚫 Cancel #{id}", id=25))
    relisted = await fake_api.next_event(alice.id)
    assert "#25 · " in relisted.text and "cancelled" in relisted.text.split("\n")[1]
    assert shown_length(relisted) <= TEXT


async def test_a_rejected_photo_posts_caption_stays_within_1024(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await setup_topups(db)
    await make_reseller(db, 1001, name="🦄" * 100, username="a_very_long_shop_name_1234567890")
    reseller = fake_api.user(1001, "Uni")
    deputy = fake_api.user(OTHER_ADMIN_ID, "🛡️" * 64)
    await fake_api.send(reseller, "/topup")
    await fake_api.next_event(reseller.id)
    await fake_api.send(reseller, "100")
    priced = await fake_api.next_event(reseller.id)
    await _tap(fake_api, reseller, priced, priced.button("Bank"))
    await fake_api.next_event(reseller.id)
    await fake_api.send_photo(reseller)
    summary = await fake_api.next_event(reseller.id)
    await _tap(fake_api, reseller, summary, summary.key("✅ Confirm"))
    await fake_api.next_event(reseller.id)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    assert post.method == "sendPhoto" and units(post.text) <= CAPTION

    await _tap(fake_api, deputy, post, post.key("❌ Reject"))
    prompt = await fake_api.next_event(ADMIN_CHAT_ID)
    reason = "🚫" * 255
    await fake_api.send(deputy, reason, chat_id=ADMIN_CHAT_ID, reply_to=prompt)
    events = [await fake_api.next_event(ADMIN_CHAT_ID) for _ in range(2)]
    edited = next(e for e in events if e.method == "editMessageCaption")
    assert "❌ rejected" in edited.text and "❌ Rejected by 🛡" in edited.text
    assert edited.buttons == [] and "…" in edited.text
    assert units(visible_text(edited.text, "HTML")) <= CAPTION
    # The reseller is told the whole reason.
    request = await topup_reads.get_request(db, 1)
    assert request is not None and request.reject_reason == reason


async def test_a_buttons_answer_naming_a_long_admin_name_stays_within_200(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await setup_topups(db)
    await make_reseller(db, 1001, name="Alice")
    method_id = next(m.id for m in await pricing.list_methods(db) if m.code == "bank")
    request_id = await _request(db, 1001, method_id, "k1")
    boss = fake_api.user(ADMIN_ID, "Boss", "boss")
    deputy = fake_api.user(OTHER_ADMIN_ID, "👑" * 128)
    await fake_api.send(boss, "/pending")
    listing = await fake_api.next_event(boss.id)
    await topup_decisions.approve(
        db, request_id=request_id, admin_id=OTHER_ADMIN_ID, admin_name=deputy.first_name,
        now=now(),
    )  # fmt: skip
    answer = await _tap(fake_api, boss, listing, listing.button(f"✅ #{request_id}"))
    assert answer["text"].startswith(f"Top-up #{request_id} was already approved by 👑")
    assert answer["text"].endswith("…") and units(answer["text"]) <= ANSWER


@pytest.mark.parametrize("size", [ANSWER - 1, ANSWER, ANSWER + 1, 1000])
async def test_refuse_keeps_a_buttons_answer_plain_and_within_200(size: int) -> None:
    answers: list[tuple[str | None, bool]] = []

    async def answer(text: str | None = None, show_alert: bool = False) -> None:
        answers.append((text, show_alert))

    update = cast(Update, SimpleNamespace(callback_query=SimpleNamespace(answer=answer)))
    text = "<b>No</b> " + "x" * (size - 3)  # "No " and size - 3 more: ``size`` long
    await refuse(update, text)
    [(said, alert)] = answers
    assert said is not None and alert is True and "<b>" not in said
    assert units(said) == min(size, ANSWER)
    assert said.endswith("…") == (size > ANSWER)
