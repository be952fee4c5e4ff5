"""The rules of the operator's credit form, shared by the chat and the CLI: comments,
expiry days, how much may be removed, the reseller's notice; and the inline calendar."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import i18n
from bot.db import Database
from bot.services import credits, ledger, wallet
from bot.services.admin_log import ActionError
from bot.services.alerts import Kind
from bot.settings import Settings
from handlers.calendar import Calendar
from handlers.calendar_views import NOT_OFFERED, month, shift
from handlers.reader import Reader
from jobs import notices
from models import Billing, OutboxMessage, TxType
from tests.helpers import assert_audit_ok, key, make_reseller, now

TEHRAN = ZoneInfo("Asia/Tehran")


def test_a_comment_is_optional_and_longer_than_255_is_refused_with_its_length() -> None:
    assert credits.check_comment(None) is None
    assert credits.check_comment("   ") is None
    assert credits.check_comment("  paid in cash ") == "paid in cash"
    assert credits.check_comment("é" * 255) == "é" * 255
    with pytest.raises(ActionError) as refused:
        credits.check_comment("x" * 256)
    assert refused.value.code == "comment_too_long"
    assert refused.value.params == {"length": 256, "limit": 255}


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("2027-01-15", dt.date(2027, 1, 15)),
        (" ۲۰۲۷-۰۱-۱۵ ", dt.date(2027, 1, 15)),  # Persian digits
        ("٢٠٢٧-٠١-١٥", dt.date(2027, 1, 15)),  # Eastern Arabic digits
    ],
)
def test_a_day_is_read_in_any_digits(typed: str, day: dt.date) -> None:
    assert credits.parse_day(typed) == day


@pytest.mark.parametrize("typed", ["2027-1-15", "15-01-2027", "2027-02-30", "tomorrow", ""])
def test_anything_but_a_real_yyyy_mm_dd_is_not_a_day(typed: str) -> None:
    with pytest.raises(ActionError) as refused:
        credits.parse_day(typed)
    assert refused.value.code == "bad_date"


def test_credits_expire_at_the_start_of_the_day_after_the_last_day_in_the_zone() -> None:
    moment = dt.datetime(2026, 11, 24, 21, 0, tzinfo=dt.UTC)  # already the 25th in Tehran
    assert credits.today(moment, TEHRAN) == dt.date(2026, 11, 25)
    expires = credits.expiry(dt.date(2026, 11, 25), now=moment, zone=TEHRAN)
    assert expires == dt.datetime(2026, 11, 26, tzinfo=TEHRAN).astimezone(dt.UTC)
    with pytest.raises(ActionError) as past:
        credits.expiry(dt.date(2026, 11, 24), now=moment, zone=TEHRAN)
    assert past.value.code == "date_in_past" and past.value.params["today"] == "2026-11-25"
    with pytest.raises(ActionError) as far:
        credits.expiry(dt.date(2036, 11, 26), now=moment, zone=TEHRAN)
    assert far.value.code == "date_too_far" and far.value.params["latest"] == "2036-11-25"
    assert credits.latest_day(dt.date(2028, 2, 29)) == dt.date(2038, 2, 28)


async def test_removal_stops_at_zero_for_prepaid_and_at_the_limit_for_postpaid(
    db: Database,
) -> None:
    await make_reseller(db, 1001, credit=5_000)
    await make_reseller(db, 1002, billing=Billing.POSTPAID, credit_limit=10_000, credit=2_000)
    for telegram_id, most in ((1001, 5_000), (1002, 12_000)):
        with pytest.raises(credits.TooMuchToRemove) as refused:
            await wallet.remove_credit(db, telegram_id=telegram_id, amount=most + 1,
                                       tx_type=TxType.ADJUSTMENT, actor="t", key=key())  # fmt: skip
        assert refused.value.maximum == most and refused.value.params["maximum"] == most
        change = await wallet.remove_credit(
            db,
            telegram_id=telegram_id,
            amount=most,
            tx_type=TxType.ADJUSTMENT,
            actor="t",
            key=key(),
        )
        assert credits.removable(change.balance) == 0
        with pytest.raises(credits.TooMuchToRemove) as nothing_left:
            await wallet.remove_credit(db, telegram_id=telegram_id, amount=1,
                                       tx_type=TxType.ADJUSTMENT, actor="t", key=key())  # fmt: skip
        assert nothing_left.value.maximum == 0
    await assert_audit_ok(db)


async def _told(db: Database) -> list[tuple[str, int, dict[str, object]]]:
    async with db.transaction() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(m.kind, m.chat_id, json.loads(m.payload)) for m in rows]


async def test_the_reseller_is_told_once_per_movement_and_a_replay_moves_and_tells_nothing(
    db: Database,
) -> None:
    await make_reseller(db, 1001, credit=1_000)
    expires = now() + dt.timedelta(days=30)
    same = {"telegram_id": 1001, "amount": 2_550, "tx_type": TxType.PURCHASE, "actor": "tg:900",
            "key": "credit:900:abc", "now": now(), "comment": "cash", "expires_at": expires,
            "tell": True}  # fmt: skip
    first = await wallet.add_credit(db, **same)  # type: ignore[arg-type]
    again = await wallet.add_credit(db, **same)  # type: ignore[arg-type]
    assert not first.movement.replayed and again.movement.replayed
    assert again.balance.balance == 3_550
    assert await wallet.moved(db, "credit:900:abc")
    assert not await wallet.moved(db, "credit:900:other")
    await wallet.remove_credit(db, telegram_id=1001, amount=550, tx_type=TxType.ADJUSTMENT,
                               actor="tg:900", key="credit:900:def", tell=True)  # fmt: skip
    # Without ``tell`` (a fixture funding a wallet) the reseller is not told.
    await wallet.add_credit(db, telegram_id=1001, amount=5, tx_type=TxType.PURCHASE,
                            actor="t", key=key(), now=now())  # fmt: skip
    told = await _told(db)
    assert [(kind, chat) for kind, chat, _ in told] == [
        (Kind.CREDIT_ADDED, 1001),
        (Kind.CREDIT_REMOVED, 1001),
    ]
    assert told[0][2] == {"amount": 2_550, "balance": 3_550, "available": 3_550,
                          "comment": "cash", "expires_at": expires.isoformat()}  # fmt: skip
    assert told[1][2]["balance"] == 3_000 and told[1][2]["expires_at"] is None


def test_the_notices_say_what_moved_the_balance_the_last_day_and_the_comment(
    settings: Settings,
) -> None:
    t = i18n.load().get("en")
    last_moment = dt.datetime(2027, 1, 16, tzinfo=dt.UTC).isoformat()
    payload = {"amount": 10_050, "balance": 15_050, "available": 14_000,
               "comment": "bank <ref>", "expires_at": last_moment}  # fmt: skip
    text, keyboard = notices.render(Kind.CREDIT_ADDED, payload, settings, t)
    assert keyboard is None
    assert text == (
        "➕ An admin added 100.50 credits to your balance.\n"
        "Balance: 150.50 credits (available 140.00 credits).\n"
        "They can be used until 2027-01-15, included.\n"
        "Comment: bank &lt;ref&gt;"
    )
    removed = {"amount": 2_000, "balance": 13_050, "available": 13_050,
               "comment": None, "expires_at": None}  # fmt: skip
    text, _ = notices.render(Kind.CREDIT_REMOVED, removed, settings, t)
    assert text == (
        "➖ An admin removed 20.00 credits from your balance.\n"
        "Balance: 130.50 credits (available 130.50 credits)."
    )


# --- the calendar ------------------------------------------------------------------------

CODEC = Calendar("xx", "cal")


def _reader(language: str, settings: Settings) -> Reader:
    return Reader.of(settings, i18n.load().get(language))


def test_the_calendar_offers_only_the_days_from_first_to_last_and_pages_by_month(
    settings: Settings,
) -> None:
    first, last = dt.date(2026, 11, 24), dt.date(2036, 11, 24)
    rows = month(CODEC, 7, first, first, last, _reader("en", settings))
    header = [b.text for b in rows[0]]
    assert header == [" ", "November 2026", "▶️"]
    assert rows[0][2].callback_data == CODEC.month(7, dt.date(2026, 12, 1))
    assert [b.text for b in rows[1]] == ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
    days = [b for row in rows[2:] for b in row]
    offered = [b.text for b in days if b.text != NOT_OFFERED]
    assert offered == [str(d) for d in range(24, 31)]
    assert len(rows) == 2 + 2  # the weeks wholly before the 24th are left out
    assert all(len(str(b.callback_data).encode()) <= 64 for row in rows for b in row)

    later = month(CODEC, 7, dt.date(2036, 11, 1), first, last, _reader("fa", settings))
    assert [b.text for b in later[0]][2] == " "  # nothing after the last month
    assert later[0][0].callback_data == CODEC.month(7, dt.date(2036, 10, 1))
    persian = [b.text for row in later[2:] for b in row if b.text != NOT_OFFERED]
    assert persian[0] == "۱" and persian[-1] == "۲۴"
    assert "۲۰۳۶" in later[0][1].text
    assert shift(dt.date(2026, 12, 1), 1) == dt.date(2027, 1, 1)
    assert shift(dt.date(2027, 1, 1), -1) == dt.date(2026, 12, 1)


def test_the_calendar_codec_reads_back_what_it_built_and_a_date_that_is_not_as_nothing() -> None:
    pattern = re.compile(CODEC.pattern())
    for data in (CODEC.day(7, dt.date(2027, 2, 28)), CODEC.month(7, dt.date(2027, 2, 1))):
        assert pattern.match(data)
    assert not pattern.match("xx:cal:7:d:2027")
    assert not pattern.match("xx:cal:x:d:20270228")

    class Context:
        def __init__(self, data: str) -> None:
            self.matches = [pattern.match(data)]

    tap = CODEC.parse(Context(CODEC.day(7, dt.date(2027, 2, 28))))  # type: ignore[arg-type]
    assert (tap.scope, tap.kind, tap.day) == (7, "d", dt.date(2027, 2, 28))
    bad = CODEC.parse(Context("xx:cal:7:d:20270230"))  # type: ignore[arg-type]
    assert bad.kind == "n" and bad.day is None
    assert ledger.MAX_COMMENT == credits.MAX_COMMENT
