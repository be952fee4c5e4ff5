"""Every notice kind written in the reader's language: the English text, and the Persian
and Russian ones taken from their catalogs with the locale's digits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from bot import i18n
from bot.i18n import Translator
from bot.services.alerts import Kind
from bot.settings import Settings
from jobs import notices

CATALOGS = i18n.load()
EN, FA, RU = CATALOGS.get("en"), CATALOGS.get("fa"), CATALOGS.get("ru")
SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
WHEN = dt.datetime(2031, 3, 14, 9, 0, tzinfo=dt.UTC)
ISO = WHEN.isoformat()


def _money(t: Translator, amount: int) -> str:
    return t.amount(amount, SETTINGS.currency)


def _day(t: Translator) -> str:
    return t.date(WHEN, SETTINGS.zone)


# kind, payload, the English text, and the message the catalog gives in a language.
CASES: list[tuple[str, dict[str, Any], str, Callable[[Translator], str]]] = [
    (
        Kind.LOW_BALANCE,
        {"available": 500, "threshold": 1_000, "owed": 0, "limit": 0},
        "⚠️ Your available balance is 5.00 credits, below your alert threshold of 10.00 "
        "credits. Top up to keep selling.",
        lambda t: t._(
            "⚠️ Your available balance is {available}, below your alert threshold of "
            "{threshold}. Top up to keep selling.",
            available=_money(t, 500),
            threshold=_money(t, 1_000),
        ),
    ),
    (
        Kind.DEBT_WARNING,
        {"available": 0, "threshold": 0, "owed": 8_000, "limit": 10_000},
        "⚠️ You owe 80.00 credits of your 100.00 credits collection limit. Please settle "
        "with an admin before you reach it.",
        lambda t: t._(
            "⚠️ You owe {owed} of your {limit} collection limit. "
            "Please settle with an admin before you reach it.",
            owed=_money(t, 8_000),
            limit=_money(t, 10_000),
        ),
    ),
    (
        Kind.DEBT_LIMIT,
        {"available": 0, "threshold": 0, "owed": 10_000, "limit": 10_000},
        "⛔ You have reached your collection limit: you owe 100.00 credits of 100.00 "
        "credits. Activations and renewals are paused until an admin records your payment.",
        lambda t: t._(
            "⛔ You have reached your collection limit: you owe {owed} of {limit}. Activations "
            "and renewals are paused until an admin records your payment.",
            owed=_money(t, 10_000),
            limit=_money(t, 10_000),
        ),
    ),
    (
        Kind.EXPIRY_REMINDER,
        {
            "customer_id": 1,
            "username": "john",
            "plan": "IPTV",
            "plan_id": 2,
            "expires_at": ISO,
            "days": 3,
        },
        "⏰ Your subscription <code>john</code> (IPTV) expires in <b>3 days</b>, on 2031-03-14.",
        lambda t: t.n_(
            "⏰ Your subscription <code>{username}</code> ({plan}) expires in "
            "<b>{n} day</b>, on {date}.",
            "⏰ Your subscription <code>{username}</code> ({plan}) expires in "
            "<b>{n} days</b>, on {date}.",
            3,
            username=t.isolate("john"),
            plan=t.isolate("IPTV"),
            date=_day(t),
        ),
    ),
    (
        Kind.EXPIRY_REMINDER,
        {
            "customer_id": 1,
            "username": "john",
            "plan": "IPTV",
            "plan_id": 2,
            "expires_at": ISO,
            "days": 0,
        },
        "⏰ Your subscription <code>john</code> (IPTV) expires <b>today</b>, on 2031-03-14.",
        lambda t: t._(
            "⏰ Your subscription <code>{username}</code> ({plan}) expires <b>today</b>, "
            "on {date}.",
            username=t.isolate("john"),
            plan=t.isolate("IPTV"),
            date=_day(t),
        ),
    ),
    (
        Kind.DIGEST,
        {"expiring": [{"id": 5, "username": "john", "expires_at": ISO}], "expired": []},
        "📋 <b>Your customers today</b>\n\n<b>Expiring within 7 days</b>\n• john · 2031-03-14",
        lambda t: t._("<b>Expiring within 7 days</b>"),
    ),
    (
        Kind.TOPUP_STALE,
        {"request_id": 7, "credits": 10_000, "created_at": ISO},
        "⏳ Top-up #7 (100.00 credits) has been waiting since 2031-03-14. Please decide.",
        lambda t: t._(
            "⏳ Top-up #{request} ({credits}) has been waiting since {date}. Please decide.",
            request=t.number(7),
            credits=_money(t, 10_000),
            date=_day(t),
        ),
    ),
    (
        Kind.TOPUP_EXPIRED,
        {"request_id": 7, "credits": 10_000},
        "⌛ Your top-up request #7 of 100.00 credits expired without a decision. Send a new "
        "one with /topup if you still need credits.",
        lambda t: t._(
            "⌛ Your top-up request #{request} of {credits} expired without a decision. "
            "Send a new one with /topup if you still need credits.",
            request=t.number(7),
            credits=_money(t, 10_000),
        ),
    ),
    (
        Kind.GRANT_EXPIRED,
        {"amount": 2_550},
        "⌛ 25.50 credits of your credits expired and were removed.",
        lambda t: t._(
            "⌛ {amount} of your credits expired and were removed.", amount=_money(t, 2_550)
        ),
    ),
    (
        Kind.TOPUP_APPROVED,
        {"request_id": 7, "credits": 10_000, "balance": 11_000, "available": 10_500},
        "✅ Your top-up #7 was approved: +100.00 credits.\n"
        "Balance: 110.00 credits (available 105.00 credits).",
        lambda t: t._(
            "✅ Your top-up #{request} was approved: +{credits}.\n"
            "Balance: {balance} (available {available}).",
            request=t.number(7),
            credits=_money(t, 10_000),
            balance=_money(t, 11_000),
            available=_money(t, 10_500),
        ),
    ),
    (
        Kind.TOPUP_REJECTED,
        {"request_id": 8, "credits": 2_000, "reason": "<no proof>"},
        "❌ Your top-up #8 of 20.00 credits was rejected.\nReason: &lt;no proof&gt;\n"
        "If this is a mistake, contact an admin.",
        lambda t: t._(
            "❌ Your top-up #{request} of {credits} was rejected.",
            request=t.number(8),
            credits=_money(t, 2_000),
        ),
    ),
    (
        Kind.RENEWAL_REQUEST,
        {
            "customer_id": 1,
            "username": "john",
            "plan_id": 2,
            "plan": "IPTV",
            "days": 30,
            "price": 1_500,
            "expires_at": ISO,
        },
        "🔔 Your customer <b>john</b> asks to renew IPTV (30 days, 15.00 credits). It "
        "expires on 2031-03-14.",
        lambda t: t.n_(
            "🔔 Your customer <b>{username}</b> asks to renew {plan} ({n} day, {price}). "
            "It expires on {date}.",
            "🔔 Your customer <b>{username}</b> asks to renew {plan} ({n} days, {price}). "
            "It expires on {date}.",
            30,
            username=t.isolate("john"),
            plan=t.isolate("IPTV"),
            price=_money(t, 1_500),
            date=_day(t),
        ),
    ),
    (
        Kind.CUSTOMER_UNLINKED,
        {"username": "john", "reason": "replaced"},
        "🔓 This chat is no longer linked to the subscription <code>john</code>: your "
        "reseller made a new invite link. You will get no more reminders here. To link "
        "again, ask your reseller for the new invite link.",
        lambda t: t._(
            "🔓 This chat is no longer linked to the subscription <code>{username}</code>: "
            "your reseller made a new invite link. You will get no more reminders here. "
            "To link again, ask your reseller for the new invite link.",
            username=t.isolate("john"),
        ),
    ),
    (
        Kind.CUSTOMER_UNLINKED,
        {"username": "john", "reason": "revoked"},
        "🔓 This chat is no longer linked to the subscription <code>john</code>: its "
        "invite link was revoked. You will get no more reminders here. To link again, ask "
        "your reseller for the new invite link.",
        lambda t: t._(
            "🔓 This chat is no longer linked to the subscription <code>{username}</code>: "
            "its invite link was revoked. You will get no more reminders here. "
            "To link again, ask your reseller for the new invite link.",
            username=t.isolate("john"),
        ),
    ),
    (
        Kind.RESELLER_SUSPENDED,
        {"reason": "unpaid"},
        "⛔ An admin has suspended your reseller account: you cannot sell or top up until "
        "it is reactivated. Your customers and credits are kept.\nReason: unpaid",
        lambda t: t._("Reason: {reason}", reason="unpaid"),
    ),
    (
        Kind.RESELLER_ACTIVATED,
        {},
        "✅ Your reseller account is active again: you can sell and top up.",
        lambda t: t._("✅ Your reseller account is active again: you can sell and top up."),
    ),
    (
        Kind.SALE_SETTLED,
        {
            "kind": "renewal",
            "username": "john",
            "panel": "de-1",
            "price": 1_500,
            "expires_at": ISO,
            "customer_id": 1,
            "subscription_url": "https://x/sub/1",
        },
        "✅ <b>john</b> was renewed on panel de-1 after all (the panel answered late): "
        "15.00 credits charged, it expires on 2031-03-14.\n"
        "Subscription link: <code>https://x/sub/1</code>",
        lambda t: t._(
            "✅ <b>{username}</b> was renewed on panel {panel} after all (the panel "
            "answered late): {price} charged, it expires on {date}.",
            username=t.isolate("john"),
            panel=t.isolate("de-1"),
            price=_money(t, 1_500),
            date=_day(t),
        ),
    ),
    (
        Kind.SALE_VOIDED,
        {"kind": "activation", "username": "john", "panel": "de-1", "price": 1_500},
        "↩️ The activation of <b>john</b> did not go through on panel de-1: nothing was "
        "charged and 15.00 credits is available again. You may try again.",
        lambda t: t._(
            "↩️ The activation of <b>{username}</b> did not go through on panel {panel}: "
            "nothing was charged and {price} is available again. You may try again.",
            username=t.isolate("john"),
            panel=t.isolate("de-1"),
            price=_money(t, 1_500),
        ),
    ),
    (
        Kind.PANEL_CHECK,
        {"panel": "de-1", "error": "timeout"},
        "⚠️ <b>Panel de-1 could not be checked</b>: timeout. The next check tries again.",
        lambda t: t._(
            "⚠️ <b>Panel {panel} could not be checked</b>: {error}. The next check tries again.",
            panel=t.isolate("de-1"),
            error=t.isolate("timeout"),
        ),
    ),
    (
        Kind.CASH_RECEIVED,
        {"amount": 5_000, "owed": 3_000, "balance": -3_000},
        "💵 An admin recorded 50.00 credits received from you.\nYou now owe 30.00 credits.",
        lambda t: t._("You now owe {owed}.", owed=_money(t, 3_000)),
    ),
    (
        Kind.RESELLER_WELCOME,
        {},
        "👋 Welcome! An admin has registered you as a reseller. Send /start to see your "
        "menu: your balance, top-ups and your customers.",
        lambda t: t._(
            "👋 Welcome! An admin has registered you as a reseller. Send /start to see your "
            "menu: your balance, top-ups and your customers."
        ),
    ),
    (
        Kind.RESELLER_CHANGED,
        {"field": "limit", "value": 20_000},
        "📝 An admin has set your collection limit to 200.00 credits.",
        lambda t: t._(
            "📝 An admin has set your collection limit to {amount}.", amount=_money(t, 20_000)
        ),
    ),
    (
        Kind.CREDIT_ADDED,
        {
            "amount": 10_050,
            "balance": 15_050,
            "available": 15_050,
            "comment": "Q4 <bonus>",
            "expires_at": None,
        },
        "➕ An admin added 100.50 credits to your balance.\n"
        "Balance: 150.50 credits (available 150.50 credits).\nComment: Q4 &lt;bonus&gt;",
        lambda t: t._("➕ An admin added {amount} to your balance.", amount=_money(t, 10_050)),
    ),
    (
        Kind.CREDIT_REMOVED,
        {
            "amount": 2_000,
            "balance": 13_050,
            "available": 13_050,
            "comment": None,
            "expires_at": None,
        },
        "➖ An admin removed 20.00 credits from your balance.\n"
        "Balance: 130.50 credits (available 130.50 credits).",
        lambda t: t._(
            "➖ An admin removed {amount} from your balance.",
            amount=_money(t, 2_000),
        ),
    ),
    (
        Kind.TRANSFER_RECEIVED,
        {
            "amount": 2_550,
            "sender": "Alice",
            "sender_username": "alice_sells",
            "note": "for <the> weekend",
            "balance": 2_550,
            "available": 2_550,
        },
        "💸 Alice (@alice_sells) sent you 25.50 credits.\n"
        "Note: for &lt;the&gt; weekend\n"
        "Your balance: 25.50 credits (available 25.50 credits).",
        lambda t: t._(
            "💸 {name} sent you {amount}.",
            name=t.isolate("Alice (@alice_sells)"),
            amount=_money(t, 2_550),
        ),
    ),
    (
        Kind.TRANSFER_REVERSED,
        {
            "side": "receiver",
            "amount": 4_000,
            "other": "Alice",
            "reason": "wrong reseller",
            "balance": 0,
            "available": 0,
        },
        "↩️ An admin reversed the transfer of 40.00 credits from Alice: the credits were "
        "taken back.\nReason: wrong reseller\nYour balance: 0.00 credits (available 0.00 "
        "credits).",
        lambda t: t._(
            "↩️ An admin reversed the transfer of {amount} from {name}: the credits were "
            "taken back.",
            amount=_money(t, 4_000),
            name=t.isolate("Alice"),
        ),
    ),
    (
        Kind.SUBRESELLER_WELCOME,
        {"parent": "Alpha"},
        "👋 Welcome! Alpha has registered you as their sub-reseller. Send /start to see "
        "your menu: your balance and your customers. Your credits come from Alpha.",
        lambda t: t._(
            "👋 Welcome! {parent} has registered you as their sub-reseller. Send /start to "
            "see your menu: your balance and your customers. Your credits come from {parent}.",
            parent=t.isolate("Alpha"),
        ),
    ),
    (
        Kind.CREDIT_ALLOCATED,
        {
            "parent": "Alpha",
            "amount": 3_000,
            "balance": 3_000,
            "available": 3_000,
            "comment": None,
            "expires_at": None,
        },
        "➕ Alpha gave you 30.00 credits.\nBalance: 30.00 credits (available 30.00 credits).",
        lambda t: t._(
            "➕ {parent} gave you {amount}.", parent=t.isolate("Alpha"), amount=_money(t, 3_000)
        ),
    ),
    (
        Kind.CREDIT_RECLAIMED,
        {
            "parent": "Alpha",
            "amount": 1_000,
            "balance": 2_000,
            "available": 2_000,
            "comment": "unused",
            "expires_at": None,
        },
        "➖ Alpha took back 10.00 credits.\nBalance: 20.00 credits (available 20.00 credits)."
        "\nComment: unused",
        lambda t: t._(
            "➖ {parent} took back {amount}.",
            parent=t.isolate("Alpha"),
            amount=_money(t, 1_000),
        ),
    ),
    (
        Kind.STARS_PAID,
        {"payment_id": 3, "request_id": 7, "name": "Alice", "telegram_id": 1001, "stars": 250,
         "credits": 50_000, "balance": 51_000},
        "⭐ <b>Alice</b> (<code>1001</code>) paid 250 Stars: 500.00 credits added (top-up #7). "
        "Balance now 510.00 credits. No action needed.",
        lambda t: t.n_("{n} Star", "{n} Stars", 250),
    ),
    (
        Kind.STARS_REFUNDED,
        {"payment_id": 3, "request_id": 7, "name": "Alice", "telegram_id": 1001, "stars": 250,
         "credits": 50_000, "removed": 50_000, "balance": 1_000},
        "↩️ Your Stars top-up #7 was refunded: 250 Stars returned, 500.00 credits removed from "
        "your balance. Balance: 10.00 credits.",
        lambda t: _money(t, 50_000),
    ),
    (
        Kind.STARS_TELEGRAM_REFUND,
        {"payment_id": 3, "request_id": 7, "name": "Alice", "telegram_id": 1001, "stars": 250,
         "credits": 50_000, "removed": 20_000, "shortfall": 30_000},
        "↩️ Telegram refunded Stars payment #3 of <b>Alice</b> (250 Stars). 200.00 credits "
        "were taken back.\n⚠️ 300.00 credits had already been spent and could not be taken "
        "back: settle it with the reseller.",
        lambda t: _money(t, 30_000),
    ),
    (
        Kind.STARS_RECONCILE,
        {"since": ISO, "until": ISO, "items": [
            {"kind": "paid_not_recorded", "charge_id": "stxA", "stars": 75, "payment_id": None}
        ]},
        "⭐ <b>Stars reconciliation</b>: differences with Telegram since 2031-03-14:\n"
        "• Paid at Telegram, not recorded here: <code>stxA</code> (75 Stars)",
        _day,
    ),
    (
        Kind.PAY_SUPPORT,
        {"telegram_id": 1001, "name": "Alice", "text": "paid <twice>", "payments": [
            {"payment_id": 3, "stars": 250, "credits": 50_000, "state": "paid"}
        ]},
        "🆘 <b>Payment help</b> asked by Alice (<code>1001</code>):\npaid &lt;twice&gt;\n"
        "• Stars payment #3: 250 Stars, 500.00 credits (paid)",
        lambda t: _money(t, 50_000),
    ),
    (
        Kind.SUMMARY,
        {"every": "daily", "sections": ["topups", "debt"], "first": "2031-03-13",
         "last": "2031-03-13", "activations": 0, "activations_amount": 0, "renewals": 0,
         "renewals_amount": 0, "refunds_amount": 0, "topups": 2, "topups_amount": 15_000,
         "issued": 15_000, "spent": 0, "expired": 0, "new_customers": 0, "expiring": 0,
         "debtors": 0, "debt": 0, "top": []},
        "📊 <b>Daily summary</b> for 2031-03-13\n\n➕ Top-ups: 2 · 150.00 credits\n"
        "💰 Postpaid debt: none",
        lambda t: _money(t, 15_000),
    ),
    (
        Kind.CUSTOMER_CANCELLED,
        {"customer_id": 4, "username": "john", "plan": "IPTV", "expires_at": ISO,
         "reason": "other", "note": "moving <abroad>"},
        "❌ Your customer <b>john</b> cancelled IPTV (it runs until 2031-03-14).\n"
        "Reason: ✏️ Something else\nIn their words: moving &lt;abroad&gt;",
        _day,
    ),
    (
        Kind.PLAN_CHANGE_REQUEST,
        {"request_id": 9, "username": "john", "from_plan": "IPTV", "plan": "IPTV HD",
         "days": 30, "price": 1_500, "difference": 500},
        "🔄 Your customer <b>john</b> asks to change from IPTV to IPTV HD.\n"
        "Approving sells IPTV HD (30 days) for 15.00 credits (+5.00 against the current "
        "plan).",
        lambda t: _money(t, 1_500),
    ),
    (
        Kind.PLAN_CHANGE_DECIDED,
        {"username": "john", "plan": "IPTV HD", "approved": False, "reason": "later",
         "expires_at": ISO},
        "Your reseller declined the change to IPTV HD: Not now; ask again later",
        lambda t: t._("Not now; ask again later"),
    ),
    (
        Kind.SUBSCRIPTION_RESUMED,
        {"username": "john", "expires_at": ISO},
        "▶️ Your pause is over: <code>john</code> is on again and runs until 2031-03-14.",
        _day,
    ),
    (
        Kind.STARS_REFUNDED,
        {"payment_id": 3, "request_id": None, "name": "Alice", "telegram_id": 1001,
         "stars": 10, "credits": 2_000, "removed": 2_000, "balance": 1_000},
        "↩️ A customer's renewal paid with Stars (payment #3) was refunded: 10 Stars returned "
        "to the customer, 20.00 credits removed from your balance. Balance: 10.00 credits.",
        lambda t: _money(t, 2_000),
    ),
    (
        Kind.STARS_REFUND_FINISHED,
        {"payment_id": 3, "request_id": 7, "name": "Alice", "telegram_id": 1001, "stars": 250,
         "credits": 50_000, "removed": 50_000, "reason": "asked <by> Alice"},
        "✅ The refund of Stars payment #3 of <b>Alice</b> (250 Stars), left pending, is done: "
        "the bot asked Telegram again and the Stars were returned. 500.00 credits stay taken "
        "back. Reason: asked &lt;by&gt; Alice",
        lambda t: _money(t, 50_000),
    ),
    (
        Kind.SELF_PAY_RENEWED,
        {"payment_id": 3, "username": "john", "plan": "VPN", "expires_at": ISO, "stars": 10,
         "revenue": 2_000, "charged": 1_000, "balance": 5_000},
        "⭐ <code>john</code> paid 10 Stars and is renewed until 2031-03-14 (VPN).\n"
        "Revenue: +20.00 credits · Renewal: −10.00 credits · Your margin: 10.00 credits\n"
        "Balance: <b>50.00 credits</b>",
        lambda t: _money(t, 2_000),
    ),
    (
        Kind.SELF_PAY_REFUNDED,
        {"payment_id": 3, "name": "Alice", "telegram_id": 1001, "username": "john",
         "stars": 10, "reason": "renewal not done: insufficient_credit", "audience": "admins"},
        "⚠️ A renewal of <code>john</code> (a customer of <b>Alice</b>, <code>1001</code>) "
        "paid with 10 Stars could not be done (not enough credit). Payment #3 was refunded "
        "automatically.",
        lambda t: t._("not enough credit"),
    ),
    (
        Kind.SELF_PAY_REFUND_FAILED,
        {"payment_id": 3, "name": "Alice", "telegram_id": 1001, "username": "john",
         "stars": 10, "reason": "renewal not done: sale_failed", "error": "CHARGE_NOT_FOUND"},
        "⛔ The automatic refund of Stars payment #3 (10 Stars, a renewal of <code>john</code>, "
        "a customer of <b>Alice</b>) failed: CHARGE_NOT_FOUND. It stays pending and the bot "
        "keeps asking Telegram by itself, less and less often; 🔁 Ask Telegram again asks now.",
        lambda t: "CHARGE_NOT_FOUND",
    ),
    (
        Kind.ANNOUNCEMENT_REFUSED,
        {"announcement": 12, "reason": "reseller_suspended"},
        "⛔ Your scheduled announcement #12 was not sent.\nYour reseller account is suspended.",
        lambda t: t._("Your reseller account is suspended."),
    ),
]  # fmt: skip


def test_every_kind_the_services_queue_has_a_notice() -> None:
    assert set(notices.VIEWS) | notices.DOCUMENTS == set(Kind)
    assert {kind for kind, *_ in CASES} == set(notices.VIEWS)


@pytest.mark.parametrize(("kind", "payload", "english", "message"), CASES)
def test_a_notice_is_written_in_english_and_from_the_persian_and_russian_catalogs(
    kind: str, payload: dict[str, Any], english: str, message: Callable[[Translator], str]
) -> None:
    text, _ = notices.render(kind, payload, SETTINGS, EN)
    assert text == english
    for t in (FA, RU):
        rendered, _ = notices.render(kind, payload, SETTINGS, t)
        # The values in ``message(t)`` are in the reader's digits (Persian ones for fa).
        assert message(t) in rendered


def test_a_notices_buttons_are_labelled_in_the_readers_language() -> None:
    payload = {"request_id": 7, "credits": 10_000, "created_at": ISO}
    _, keyboard = notices.render(Kind.TOPUP_STALE, payload, SETTINGS, FA)
    assert keyboard is not None
    buttons = {b.callback_data: b.text for row in keyboard.inline_keyboard for b in row}
    assert buttons == {"tu:ok:7": FA._("✅ Approve"), "tu:no:7": FA._("❌ Reject")}


def test_a_panel_check_report_counts_in_the_readers_digits() -> None:
    item = {"username": "john", "bot": ISO, "panel": None, "state": None}
    payload = {"panel": "de-1", "customers": 12, "panel_users": 13,
               "missing": {"count": 3, "items": [item]},
               "expired_early": {"count": 0, "items": []},
               "disabled": {"count": 0, "items": []},
               "unknown": {"count": 0, "items": []}}  # fmt: skip
    english, _ = notices.render(Kind.PANEL_CHECK, payload, SETTINGS, EN)
    assert "<b>Missing on the panel</b> (3)" in english
    assert "• <code>john</code> · here until 2031-03-14" in english
    assert "… and 2 more" in english
    persian, _ = notices.render(Kind.PANEL_CHECK, payload, SETTINGS, FA)
    assert FA._("<b>Missing on the panel</b> ({count})", count="۳") in persian
    assert FA.n_("… and {n} more", "… and {n} more", 2) in persian


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown outbox kind"):
        notices.render("nonsense", {}, SETTINGS, EN)
