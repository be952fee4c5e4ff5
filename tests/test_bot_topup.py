"""Top-up journeys through the real application and the fake Bot API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from bot import i18n
from bot.context import BotApplication
from bot.db import Database
from bot.services import ledger, topup_reads
from bot.services.resellers import require_by_telegram_id
from bot.settings import Settings
from models import OutboxMessage, Reseller, ResellerStatus, TopUpStatus
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID, OTHER_ADMIN_ID, running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, make_reseller, setup_topups


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The outbox job runs, as in production: that is how a decision reaches the reseller."""
    return settings.model_copy(update={"jobs_enabled": True, "outbox_interval_seconds": 0.5})


@pytest.fixture
async def alice(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, 1001, name="Alice", username="alice_shop", credit=1_000)
    await setup_topups(db)
    return fake_api.user(1001, "Alice", "alice_shop")


@pytest.fixture
def admins(bot: BotApplication, fake_api: FakeBotAPI) -> tuple[User, User]:
    """The two admins, with the bot running."""
    return fake_api.user(ADMIN_ID, "Boss", "boss"), fake_api.user(OTHER_ADMIN_ID, "Dep <uty>")


async def _balance(db: Database, telegram_id: int) -> int:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return (await ledger.balance(session, reseller.account_id)).balance


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> dict[str, Any]:
    return await fake_api.answer(await fake_api.tap(user, event, data))


async def _to_proof_step(
    fake_api: FakeBotAPI, user: User, amount: str = "100", method: str = "Bank"
) -> Event:
    await fake_api.send(user, "/topup")
    ask = await fake_api.next_event(user.id)
    assert ask.method == "sendMessage" and "How many credits" in ask.text
    await fake_api.send(user, amount)
    priced = await fake_api.next_event(user.id)
    assert priced.method == "editMessageText"
    assert priced.message["message_id"] == ask.message["message_id"]  # one message, edited
    await _tap(fake_api, user, priced, priced.button(method))
    instructions = await fake_api.next_event(user.id)
    assert "Send the proof of payment" in instructions.text
    return instructions


async def _confirm(fake_api: FakeBotAPI, user: User) -> Event:
    summary = await fake_api.next_event(user.id)
    assert "Check your top-up request" in summary.text
    await _tap(fake_api, user, summary, summary.key("✅ Confirm"))
    done = await fake_api.next_event(user.id)
    assert "sent" in done.text
    return done


async def _submit(
    fake_api: FakeBotAPI, user: User, amount: str = "100", reference: str = "TX-12345"
) -> Event:
    await _to_proof_step(fake_api, user, amount)
    await fake_api.send(user, reference)
    await _confirm(fake_api, user)
    return await fake_api.next_event(ADMIN_CHAT_ID)


async def test_happy_path_with_a_reference(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    boss, _ = admins
    await fake_api.send(alice, "/topup")
    ask = await fake_api.next_event(alice.id)
    await fake_api.send(alice, "600")
    priced = await fake_api.next_event(alice.id)
    assert "Price per credit: 0.90 USD" in priced.text  # bulk tier
    assert "Total to pay: <b>540.00 USD</b>" in priced.text
    await _tap(fake_api, alice, priced, priced.button("Bank"))
    instructions = await fake_api.next_event(alice.id)
    assert "IBAN DE00 1234 5678 &lt;ref: id&gt;" in instructions.text
    await fake_api.send(alice, "TX-<b>42</b>")
    summary = await fake_api.next_event(alice.id)
    assert "transaction id <code>TX-&lt;b&gt;42&lt;/b&gt;</code>" in summary.text
    assert summary.message["message_id"] == ask.message["message_id"]
    await _tap(fake_api, alice, summary, summary.key("✅ Confirm"))
    done = await fake_api.next_event(alice.id)
    assert "request #1 sent" in done.text

    post = await fake_api.next_event(ADMIN_CHAT_ID)
    assert post.method == "sendMessage"
    for part in ("Top-up #1", "Alice (@alice_shop)", "<code>1001</code>", "600.00 credits",
                 "total <b>540.00 USD</b>", "Bank transfer", "TX-&lt;b&gt;42",
                 "Reseller balance: 10.00 credits"):  # fmt: skip
        assert part in post.text
    assert [label for label, _ in post.buttons] == ["✅ Approve", "❌ Reject"]

    answer = await _tap(fake_api, boss, post, post.key("✅ Approve"))
    assert "approved" in answer["text"]
    edited = await fake_api.next_event(ADMIN_CHAT_ID)
    assert edited.method == "editMessageText" and edited.buttons == []
    assert "Approved by @boss" in edited.text and "Reseller balance: 610.00 credits" in edited.text
    told = await fake_api.next_event(alice.id)
    assert "approved: +600.00 credits" in told.text and "Balance: 610.00 credits" in told.text
    assert await _balance(db, 1001) == 61_000
    await assert_audit_ok(db)


async def test_happy_path_with_a_photo_then_balance_shows_it_once(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    boss, deputy = admins
    await _to_proof_step(fake_api, alice)
    await fake_api.send_photo(alice)
    await _confirm(fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    assert post.method == "sendPhoto" and "Top-up #1" in post.text
    approve = post.key("✅ Approve")
    await _tap(fake_api, boss, post, approve)
    edited = await fake_api.next_event(ADMIN_CHAT_ID)
    assert edited.method == "editMessageCaption" and edited.buttons == []
    # Tapped again, by the same admin and by another: nothing more moves.
    again = await _tap(fake_api, boss, post, approve)
    assert again["text"] == "Top-up #1 was already approved by @boss."
    again = await _tap(fake_api, deputy, post, approve)
    assert "already approved by @boss" in again["text"]
    await fake_api.next_event(alice.id)  # the approval notice
    await fake_api.send(alice, "/balance")
    assert "Balance: 110.00 credits" in (await fake_api.next_event(alice.id)).text
    assert await _balance(db, 1001) == 11_000
    await assert_audit_ok(db)


async def test_document_proof_and_refused_proofs(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    await _to_proof_step(fake_api, alice)
    await fake_api.send_document(alice, "data.zip", "application/zip")
    assert "not an image or a PDF" in (await fake_api.next_event(alice.id)).text
    await fake_api.send_sticker(alice)
    assert "not a proof of payment" in (await fake_api.next_event(alice.id)).text
    await fake_api.send(alice, "abc")
    assert "4 to 128 characters" in (await fake_api.next_event(alice.id)).text
    await fake_api.send_document(alice, "receipt.pdf", "application/pdf")
    await _confirm(fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    assert post.method == "sendDocument"
    assert post.message["document"]["file_name"] == "receipt.pdf"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("abc", "not a number"),
        ("-5", "must be positive"),
        ("1.234", "at most two decimals"),
        ("0", "greater than zero"),
        ("9.99", "smallest top-up is 10.00"),
        ("100000.01", "too large"),
        ("1e3", "not a number"),
        ("", "not a number"),
    ],
)
async def test_bad_amounts_are_explained_and_the_step_waits(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User],
    text: str, problem: str,
) -> None:  # fmt: skip
    await fake_api.send(alice, "/topup")
    await fake_api.next_event(alice.id)
    await fake_api.send(alice, text or " ")
    shown = await fake_api.next_event(alice.id)
    assert problem in shown.text and "How many credits" in shown.text
    await fake_api.send(alice, "١٠٠,٥")  # Eastern Arabic digits with a decimal comma
    priced = await fake_api.next_event(alice.id)
    assert "Top up: 100.50 credits" in priced.text


async def test_text_or_photo_where_a_button_is_expected(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    await fake_api.send(alice, "/topup")
    await fake_api.next_event(alice.id)
    await fake_api.send_photo(alice)
    assert "Send the number of credits as text" in (await fake_api.next_event(alice.id)).text
    await fake_api.send(alice, "20")
    priced = await fake_api.next_event(alice.id)
    assert "USDT" not in priced.text and priced.buttons[0][0] == "💳 Bank transfer"
    await fake_api.send(alice, "bank please")
    assert "Tap one of the payment methods" in (await fake_api.next_event(alice.id)).text
    # A method that is not on offer for this amount, sent by a modified client.
    answer = await _tap(fake_api, alice, priced, "tu:m:2")
    assert "not available" in answer["text"]
    answer = await _tap(fake_api, alice, priced, "tu:m:999")
    assert "not available" in answer["text"]


async def test_cancel_by_button_and_by_command_sends_nothing(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    instructions = await _to_proof_step(fake_api, alice)
    await _tap(fake_api, alice, instructions, instructions.key("✖️ Cancel"))
    assert "Top-up cancelled" in (await fake_api.next_event(alice.id)).text
    await fake_api.send(alice, "TX-12345")  # the flow is over: this is stray text now
    assert "/start" in (await fake_api.next_event(alice.id)).text

    await fake_api.send(alice, "/topup")
    await fake_api.next_event(alice.id)
    await fake_api.send(alice, "/cancel")
    assert "Top-up cancelled" in (await fake_api.next_event(alice.id)).text
    assert await topup_reads.list_for_reseller(db, 1001) == []
    assert fake_api.unread(ADMIN_CHAT_ID) == []


async def test_double_confirm_and_a_stale_confirmation_submit_once(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    await _to_proof_step(fake_api, alice)
    await fake_api.send(alice, "TX-12345")
    summary = await fake_api.next_event(alice.id)
    confirm = summary.key("✅ Confirm")
    forged = await _tap(fake_api, alice, summary, "tu:c:not-the-nonce")
    assert "no longer valid" in forged["text"]
    await _tap(fake_api, alice, summary, confirm)
    await fake_api.next_event(alice.id)
    second = await _tap(fake_api, alice, summary, confirm)
    assert second["text"] == "Request #1 was already sent (pending)."
    # Someone else replaying Alice's button learns nothing.
    eve = fake_api.user(4242, "Eve")
    await make_reseller(db, 4242, name="Eve")
    replay = await _tap(fake_api, eve, summary, confirm)
    assert "no longer valid" in replay["text"]
    assert len(await topup_reads.list_for_reseller(db, 1001)) == 1
    assert len([e for e in fake_api.events(ADMIN_CHAT_ID) if "Top-up #" in e.text]) == 1


async def test_reject_with_a_reason_and_without(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    boss, deputy = admins
    post = await _submit(fake_api, alice)
    answer = await _tap(fake_api, boss, post, post.key("❌ Reject"))
    assert "Reply" in answer["text"]
    prompt = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Rejecting top-up #1" in prompt.text
    # A reason that is too long is refused; the prompt stays open.
    await fake_api.send(deputy, "x" * 300, chat_id=ADMIN_CHAT_ID, reply_to=prompt)
    assert "under 255 characters" in (await fake_api.next_event(ADMIN_CHAT_ID)).text
    await fake_api.send(deputy, "Receipt <fake>", chat_id=ADMIN_CHAT_ID, reply_to=prompt)
    events = [await fake_api.next_event(ADMIN_CHAT_ID) for _ in range(2)]
    edited_post = next(e for e in events if e.message["message_id"] == post.message["message_id"])
    assert (
        "Rejected by Dep &lt;uty&gt;" in edited_post.text
        and "Receipt &lt;fake&gt;" in edited_post.text
    )
    assert edited_post.buttons == []
    told = await fake_api.next_event(alice.id)
    assert "was rejected" in told.text and "Reason: Receipt &lt;fake&gt;" in told.text

    post = await _submit(fake_api, alice, reference="TX-2")
    await _tap(fake_api, boss, post, post.key("❌ Reject"))
    prompt = await fake_api.next_event(ADMIN_CHAT_ID)
    await _tap(fake_api, boss, prompt, prompt.key("Reject without a reason"))
    events = [await fake_api.next_event(ADMIN_CHAT_ID) for _ in range(2)]
    assert any("Rejected by @boss" in e.text and "Reason" not in e.text for e in events)
    told = await fake_api.next_event(alice.id)
    assert "was rejected" in told.text and "Reason" not in told.text
    assert await _balance(db, 1001) == 1_000
    await assert_audit_ok(db)


async def test_approve_and_reject_racing_make_one_transition(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    boss, deputy = admins
    post = await _submit(fake_api, alice)
    await _tap(fake_api, deputy, post, post.key("❌ Reject"))
    prompt = await fake_api.next_event(ADMIN_CHAT_ID)
    await _tap(fake_api, boss, post, post.key("✅ Approve"))
    await fake_api.next_event(ADMIN_CHAT_ID)  # the post, approved
    # The rejection that was under way now finds the request decided.
    await fake_api.send(deputy, "too late", chat_id=ADMIN_CHAT_ID, reply_to=prompt)
    closed = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "already approved by @boss" in closed.text
    skip = await _tap(fake_api, deputy, prompt, "tu:skip:1")
    assert "already approved" in skip["text"]
    request = await topup_reads.get_request(db, 1)
    assert request is not None and request.status == TopUpStatus.APPROVED
    assert await _balance(db, 1001) == 11_000
    await assert_audit_ok(db)


async def test_non_admins_and_forged_buttons_change_nothing(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    boss, _ = admins
    post = await _submit(fake_api, alice)
    member = fake_api.user(5555, "Group member")
    for data in ("tu:ok:1", "tu:no:1", "tu:skip:1"):
        answer = await _tap(fake_api, member, post, data)
        assert answer["text"] == "Only admins can do that."
    # The reseller herself cannot approve her own request.
    answer = await _tap(fake_api, alice, post, "tu:ok:1")
    assert answer["text"] == "Only admins can do that."
    # Admin taps carrying ids that do not exist, or garbage.
    assert "no top-up request #999" in (await _tap(fake_api, boss, post, "tu:ok:999"))["text"]
    assert "no such" in (await _tap(fake_api, boss, post, "tu:no:999"))["text"]
    assert "no longer valid" in (await _tap(fake_api, boss, post, "tu:ok:1;drop"))["text"]
    # Another reseller cannot cancel Alice's request.
    await make_reseller(db, 1002, name="Bob")
    bob = fake_api.user(1002, "Bob")
    assert "no such" in (await _tap(fake_api, bob, post, "tu:x:1"))["text"]
    request = await topup_reads.get_request(db, 1)
    assert request is not None and request.status == TopUpStatus.PENDING
    assert fake_api.unread(ADMIN_CHAT_ID) == []
    assert await _balance(db, 1001) == 1_000


async def test_cancelled_request_cannot_be_approved(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    boss, _ = admins
    post = await _submit(fake_api, alice)
    await fake_api.send(alice, "/topups")
    listing = await fake_api.next_event(alice.id)
    assert "#1" in listing.text and "pending" in listing.text
    await _tap(fake_api, alice, listing, listing.key("🚫 Cancel #{id}", id=1))
    relisted = await fake_api.next_event(alice.id)
    assert "cancelled" in relisted.text and "Cancel #1" not in str(relisted.buttons)
    cancelled_post = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Cancelled by the reseller" in cancelled_post.text and cancelled_post.buttons == []
    answer = await _tap(fake_api, boss, post, "tu:ok:1")
    assert answer["text"] == "Top-up #1 was cancelled by the reseller."
    again = await _tap(fake_api, alice, listing, "tu:x:1")
    assert "cancelled" in again["text"]
    assert await _balance(db, 1001) == 1_000


async def test_pending_limit_and_the_pending_list(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    boss, _ = admins
    for i in range(3):
        await _submit(fake_api, alice, reference=f"TX-{i}000")
    await fake_api.send(alice, "/topup")
    assert "already have 3 top-ups waiting" in (await fake_api.next_event(alice.id)).text

    await fake_api.send(boss, "/pending")
    listing = await fake_api.next_event(boss.id)
    assert listing.text.count("Alice") == 3
    await _tap(fake_api, boss, listing, listing.button("✅ #2"))
    redrawn = await fake_api.next_event(boss.id)
    assert "#2" not in redrawn.text and redrawn.text.count("Alice") == 2
    group_post = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Top-up #2" in group_post.text and "Approved by @boss" in group_post.text
    await fake_api.next_event(alice.id)  # approval notice
    await fake_api.send(alice, "/topup")
    assert "How many credits" in (await fake_api.next_event(alice.id)).text

    member = fake_api.user(5555, "Member")
    await fake_api.send(member, "/pending", chat_id=ADMIN_CHAT_ID)
    assert (await fake_api.next_event(ADMIN_CHAT_ID)).text == "Only admins can do that."
    await fake_api.send(boss, "/pending", chat_id=ADMIN_CHAT_ID)
    assert "Pending top-ups" in (await fake_api.next_event(ADMIN_CHAT_ID)).text


async def test_strangers_and_unset_pricing_cannot_start(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    eve = fake_api.user(4242, "Eve")
    await fake_api.send(eve, "/topup")
    assert "not registered" in (await fake_api.next_event(eve.id)).text
    await make_reseller(db, 1001)
    alice = fake_api.user(1001, "Alice")
    await fake_api.send(alice, "/topup")
    assert "not set up yet" in (await fake_api.next_event(alice.id)).text


async def test_menu_button_starts_the_flow_on_the_menu_message(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    await fake_api.send(alice, "/start")
    menu = await fake_api.next_event(alice.id)
    await _tap(fake_api, alice, menu, menu.key("➕ Top up"))
    ask = await fake_api.next_event(alice.id)
    assert (
        ask.method == "editMessageText" and ask.message["message_id"] == menu.message["message_id"]
    )
    assert "How many credits" in ask.text


async def test_a_flow_left_waiting_times_out_politely(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await make_reseller(db, 1001, credit=1_000)
    await setup_topups(db)
    quick = settings.model_copy(update={"conversation_timeout_minutes": 0.02})  # 1.2 s
    async with running_bot(quick, db):
        alice = fake_api.user(1001, "Alice")
        await fake_api.send(alice, "/topup")
        ask = await fake_api.next_event(alice.id)
        timed_out = await fake_api.next_event(alice.id, within=15)
        assert timed_out.message["message_id"] == ask.message["message_id"]
        assert "timed out" in timed_out.text
        await fake_api.send(alice, "100")  # no longer an answer to anything
        assert "/start" in (await fake_api.next_event(alice.id)).text
    assert await topup_reads.list_for_reseller(db, 1001) == []


async def _outbox_kinds(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


async def test_an_admin_who_is_a_reseller_cannot_approve_their_own_top_up(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    boss, deputy = admins
    await make_reseller(db, ADMIN_ID, name="Boss", credit=500)
    post = await _submit(fake_api, boss)
    approve = post.key("✅ Approve")
    answer = await _tap(fake_api, boss, post, approve)
    assert answer["text"] == "Top-up #1 is your own request: another admin must decide it."
    assert answer["show_alert"] in (True, "true")
    request = await topup_reads.get_request(db, 1)
    assert request is not None and request.status == TopUpStatus.PENDING
    assert await _balance(db, ADMIN_ID) == 500
    assert fake_api.unread(ADMIN_CHAT_ID) == []  # the post keeps its buttons
    # Another admin decides.
    answer = await _tap(fake_api, deputy, post, approve)
    assert answer["text"] == "Top-up #1 approved."
    edited = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Approved by Dep &lt;uty&gt;" in edited.text
    told = await fake_api.next_event(boss.id)
    assert "Your top-up #1 was approved: +100.00 credits" in told.text
    assert await _balance(db, ADMIN_ID) == 10_500
    await assert_audit_ok(db)


async def test_a_suspended_resellers_top_up_stays_pending_with_a_note_in_the_group(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    boss, _ = admins
    post = await _submit(fake_api, alice)
    async with db.transaction() as session:
        await session.execute(
            update(Reseller)
            .where(Reseller.telegram_id == 1001)
            .values(status=ResellerStatus.SUSPENDED)
        )
    answer = await _tap(fake_api, boss, post, post.key("✅ Approve"))
    assert answer["show_alert"] in (True, "true")
    assert answer["text"].startswith("Alice is suspended: top-up #1 stays pending.")
    noted = await fake_api.next_event(ADMIN_CHAT_ID)
    assert noted.message["message_id"] == post.message["message_id"]
    assert "⏳ pending" in noted.text
    assert "Not approved: the reseller is suspended" in noted.text
    assert [label for label, _ in noted.buttons] == ["✅ Approve", "❌ Reject"]
    request = await topup_reads.get_request(db, 1)
    assert request is not None and request.status == TopUpStatus.PENDING
    assert await _balance(db, 1001) == 1_000
    assert await _outbox_kinds(db) == []  # nothing to tell the reseller
    # A second tap says the same and changes nothing.
    again = await _tap(fake_api, boss, post, post.key("✅ Approve"))
    assert again["text"] == answer["text"]
    assert await _balance(db, 1001) == 1_000
    await assert_audit_ok(db)


async def test_a_502_on_the_group_post_never_keeps_the_approval_from_the_reseller(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    boss, deputy = admins
    post = await _submit(fake_api, alice)
    # A Bad Gateway that outlasts the retries a reply gets (the first and three more).
    fake_api.fail("editMessageText", 502, "Bad Gateway", chat_id=ADMIN_CHAT_ID, times=4)
    approve = post.key("✅ Approve")
    answer = await _tap(fake_api, boss, post, approve)
    assert answer["text"] == "Top-up #1 approved."
    told = await fake_api.next_event(alice.id)
    assert "approved: +100.00 credits" in told.text and "Balance: 110.00 credits" in told.text
    assert fake_api.unread(ADMIN_CHAT_ID) == []  # the edit failed
    # The next tap on the stale post says who decided, and the post catches up.
    again = await _tap(fake_api, deputy, post, approve)
    assert again["text"] == "Top-up #1 was already approved by @boss."
    edited = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Approved by @boss" in edited.text and edited.buttons == []
    assert fake_api.unread(alice.id) == []  # told once
    assert await _balance(db, 1001) == 11_000
    await assert_audit_ok(db)


async def test_a_502_on_the_photo_caption_never_keeps_the_rejection_from_the_reseller(
    fake_api: FakeBotAPI, db: Database, alice: User, admins: tuple[User, User]
) -> None:
    boss, _ = admins
    await _to_proof_step(fake_api, alice)
    await fake_api.send_photo(alice)
    await _confirm(fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    assert post.method == "sendPhoto"
    await _tap(fake_api, boss, post, post.key("❌ Reject"))
    prompt = await fake_api.next_event(ADMIN_CHAT_ID)
    # A Bad Gateway that outlasts the retries a reply gets (the first and three more).
    fake_api.fail("editMessageCaption", 502, "Bad Gateway", chat_id=ADMIN_CHAT_ID, times=4)
    await fake_api.send(boss, "no such payment", chat_id=ADMIN_CHAT_ID, reply_to=prompt)
    closed = await fake_api.next_event(ADMIN_CHAT_ID)
    assert closed.text == "Top-up #1 rejected: no such payment"
    told = await fake_api.next_event(alice.id)
    assert "Your top-up #1 of 100.00 credits was rejected" in told.text
    assert "Reason: no such payment" in told.text
    assert told.buttons == [("➕ Top up", "tu:new")]
    request = await topup_reads.get_request(db, 1)
    assert request is not None and request.status == TopUpStatus.REJECTED
    assert await _balance(db, 1001) == 1_000


async def test_a_decision_reaches_the_reseller_even_if_the_bot_stops_right_after_it(
    settings: Settings, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    sender_down = settings.model_copy(update={"jobs_enabled": False})
    async with running_bot(sender_down, db):
        boss = fake_api.user(ADMIN_ID, "Boss", "boss")
        post = await _submit(fake_api, alice)
        answer = await _tap(fake_api, boss, post, post.key("✅ Approve"))
        assert answer["text"] == "Top-up #1 approved."
        await fake_api.next_event(ADMIN_CHAT_ID)
        assert fake_api.unread(alice.id) == []  # queued with the decision, not yet sent
    assert await _outbox_kinds(db) == ["topup_approved"]
    async with running_bot(settings, db):  # after the restart, the sender delivers it
        told = await fake_api.next_event(alice.id)
        assert "Your top-up #1 was approved: +100.00 credits" in told.text


FA = i18n.load().get("fa")


async def test_a_persian_reseller_tops_up_in_persian_with_persian_digits(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, name="Parisa", credit=1_000)
    await setup_topups(db)
    parisa = fake_api.user(1001, "Parisa")
    parisa.language_code = "fa"

    def credits(hundredths: int) -> str:
        return FA.amount(hundredths, "credits")

    def usd(hundredths: int) -> str:
        return FA.amount(hundredths, "USD")

    await fake_api.send(parisa, "/topup")
    ask = await fake_api.next_event(parisa.id)
    assert ask.text == FA._(
        "<b>Top up</b>\nHow many credits do you want? Send a number between "
        "{smallest} and {largest}, like 100 or 100.50.",
        smallest=credits(1_000),
        largest=credits(10_000_000),
    )
    assert ask.buttons == [(FA._("✖️ Cancel"), "tu:cancel")]
    await fake_api.send(parisa, "۶۰۰")  # typed in Persian digits
    priced = await fake_api.next_event(parisa.id)
    assert priced.text == FA._(
        "<b>Top up: {credits}</b>\nPrice per credit: {unit_price}\n"
        "Total to pay: <b>{total}</b>\n\nHow will you pay?",
        credits=credits(60_000),
        unit_price=usd(90),
        total=usd(54_000),
    )
    assert "۵۴۰٫۰۰" in priced.text and "540.00" not in priced.text
    await _tap(fake_api, parisa, priced, "tu:m:1")  # the bank transfer
    await fake_api.next_event(parisa.id)
    await fake_api.send(parisa, "TX-12345")
    summary = await fake_api.next_event(parisa.id)
    assert summary.text == FA._(
        "<b>Check your top-up request</b>\n"
        "Credits: {credits}\n"
        "Price per credit: {unit_price}\n"
        "Total: <b>{total}</b>\n"
        "Method: {method}\n"
        "Proof: {proof}\n\n"
        "Send it to the admins?",
        credits=credits(60_000),
        unit_price=usd(90),
        total=usd(54_000),
        method=FA.isolate("Bank transfer"),
        proof=FA._("transaction id <code>{reference}</code>", reference="TX-12345"),
    )
    assert FA._("transaction id <code>{reference}</code>", reference="TX-12345") in summary.text
    confirm = summary.key("✅ Confirm", "fa")
    await _tap(fake_api, parisa, summary, confirm)
    done = await fake_api.next_event(parisa.id)
    assert done.text == FA._(
        "✅ <b>Top-up request #{id} sent</b>\n{credits} for {total}.\n"
        "An admin will check your payment; you will get a message here. "
        "See your requests with /topups.",
        id=1,
        credits=credits(60_000),
        total=usd(54_000),
    )
    # The menu button is already translated in the shipped catalog.
    assert done.buttons == [(FA._("⬅️ Menu"), "menu")] and FA._("⬅️ Menu") != "⬅️ Menu"
    # The group reads the default language, whoever asked.
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "600.00 credits" in post.text and "total <b>540.00 USD</b>" in post.text


async def test_a_reply_to_the_reject_prompt_is_matched_by_the_prompt_across_a_restart(
    settings: Settings, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    boss = fake_api.user(ADMIN_ID, "Boss", "boss")
    deputy = fake_api.user(OTHER_ADMIN_ID, "Deputy", "deputy")
    async with running_bot(settings, db):
        post = await _submit(fake_api, alice)
        await _tap(fake_api, boss, post, "tu:no:1")
        prompt = await fake_api.next_event(ADMIN_CHAT_ID)
    async with running_bot(settings, db):  # a new application: nothing of the old in memory
        # A message of the bot's that only reads like a prompt is not one...
        fake_api.message(ADMIN_CHAT_ID, post.message["message_id"])["text"] = (  # type: ignore[index]
            "Rejecting top-up #1 (Alice, 100.00 credits)."
        )
        await fake_api.send(deputy, "not a reason", chat_id=ADMIN_CHAT_ID, reply_to=post)
        # ...and the prompt is one whatever it says (here, as if written in Persian).
        fake_api.message(ADMIN_CHAT_ID, prompt.message["message_id"])["text"] = "رد درخواست"  # type: ignore[index]
        await fake_api.send(deputy, "Receipt unreadable", chat_id=ADMIN_CHAT_ID, reply_to=prompt)
        events = [await fake_api.next_event(ADMIN_CHAT_ID) for _ in range(2)]
        closed = next(e for e in events if e.message["message_id"] == prompt.message["message_id"])
        assert closed.text == "Top-up #1 rejected: Receipt unreadable"
        told = await fake_api.next_event(alice.id)
        assert "Reason: Receipt unreadable" in told.text
        # The prompt is closed now: a late reply is told so, and changes nothing.
        await fake_api.send(boss, "again", chat_id=ADMIN_CHAT_ID, reply_to=prompt)
        late = await fake_api.next_event(ADMIN_CHAT_ID)
        assert late.text == "That rejection is no longer open. Tap ❌ Reject again."
        assert fake_api.unread(ADMIN_CHAT_ID) == []
    request = await topup_reads.get_request(db, 1)
    assert request is not None and request.status == TopUpStatus.REJECTED
    assert request.reject_reason == "Receipt unreadable" and request.decided_by_name == "@deputy"
