"""The action log's service: each existing admin action is recorded once, with who and the
values before and after; the log is read back newest first through its filters."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot.db import Database
from bot.services import admin_log, panels, pricing, resellers, topup_decisions, topups, wallet
from bot.services.admin_log import ActionError, LogFilter
from bot.services.ledger import LedgerError
from bot.services.topup_reads import Proof
from bot.services.topups import Limits
from models import AdminAction, Billing, ProofKind, ResellerStatus, TxType
from tests.helpers import make_reseller, setup_topups

NOW = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
LIMITS = Limits(min_credits=1_000, max_credits=10_000_000, max_pending=3, currency="USD")


async def _log(
    db: Database,
    *,
    actor: str | None = None,
    reseller_id: int | None = None,
    action: str | None = None,
) -> list[admin_log.LoggedAction]:
    chosen = LogFilter(actor=actor, reseller_id=reseller_id, action=action)
    return await admin_log.latest(db, chosen, limit=100)


async def _request(db: Database, key: str) -> int:
    method = next(m.id for m in await pricing.list_methods(db) if m.code == "bank")
    request, _ = await topups.create_request(
        db, telegram_id=1001, credits=10_000, method_id=method,
        proof=Proof(ProofKind.REFERENCE, reference="TX-12345"), key=key, limits=LIMITS,
    )  # fmt: skip
    return request.id


async def test_registering_a_reseller_is_logged_with_who_and_its_settings(db: Database) -> None:
    await resellers.register_reseller(
        db, telegram_id=1001, name="Alice", billing=Billing.POSTPAID, credit_limit=5_000,
        actor="tg:900", now=NOW,
    )  # fmt: skip
    [entry] = await _log(db)
    assert (entry.actor, entry.action, entry.reseller_name, entry.created_at) == (
        "tg:900", "reseller_registered", "Alice", NOW,
    )  # fmt: skip
    assert entry.after == {
        "telegram_id": 1001, "name": "Alice", "billing": "postpaid", "credit_limit": 5_000,
        "threshold": 0,
    }  # fmt: skip


async def test_credits_added_removed_and_cash_received_are_logged_once_with_balances(
    db: Database,
) -> None:
    alice = await make_reseller(db, billing=Billing.POSTPAID, credit_limit=10_000)
    expires = NOW + dt.timedelta(days=30)
    for _ in range(2):  # the same key again moves and logs nothing
        await wallet.add_credit(
            db, telegram_id=1001, actor="tg:900", amount=10_050, tx_type=TxType.PURCHASE,
            key="a", now=NOW, comment="paid in cash", expires_at=expires,
        )  # fmt: skip
    await wallet.remove_credit(
        db, telegram_id=1001, actor="tg:900", amount=2_000, tx_type=TxType.ADJUSTMENT, key="r",
        comment="typo", now=NOW,
    )  # fmt: skip
    await wallet.record_cash_received(
        db, telegram_id=1001, actor="tg:900", amount=500, key="c", now=NOW
    )
    logged = await _log(db, reseller_id=alice.id)
    assert [(e.action, e.actor, e.reason) for e in logged] == [
        ("cash_received", "tg:900", None),
        ("credit_removed", "tg:900", "typo"),
        ("credit_added", "tg:900", "paid in cash"),
        ("reseller_registered", "cli", None),
    ]
    cash, removed, added, _ = logged
    assert (added.before, added.after) == (
        {"balance": 0},
        {"balance": 10_050, "amount": 10_050, "tx_type": "purchase",
         "expires_at": expires.isoformat()},
    )  # fmt: skip
    assert (removed.before, removed.after) == (
        {"balance": 10_050},
        {"balance": 8_050, "amount": 2_000, "tx_type": "adjustment"},
    )
    assert (cash.before, cash.after) == ({"balance": 8_050}, {"balance": 8_550, "amount": 500})


async def test_a_refused_removal_logs_nothing(db: Database) -> None:
    await make_reseller(db, credit=1_000)
    with pytest.raises(LedgerError):
        await wallet.remove_credit(
            db, telegram_id=1001, amount=5_000, tx_type=TxType.ADJUSTMENT, actor="cli", key="x"
        )
    assert [e.action for e in await _log(db)] == ["credit_added", "reseller_registered"]


async def test_top_up_decisions_are_logged_with_the_admin_and_the_request(db: Database) -> None:
    await setup_topups(db)
    alice = await make_reseller(db)
    first, second = await _request(db, "k1"), await _request(db, "k2")
    await topup_decisions.approve(db, request_id=first, admin_id=900, admin_name="Boss", now=NOW)
    await topup_decisions.reject(
        db, request_id=second, admin_id=901, admin_name="Deputy", reason="blurry", now=NOW
    )
    with pytest.raises(topup_decisions.AlreadyDecided):  # a second tap logs nothing more
        await topup_decisions.approve(
            db, request_id=first, admin_id=900, admin_name="Boss", now=NOW
        )
    rejected, approved = (await _log(db, reseller_id=alice.id))[:2]
    assert (approved.action, approved.actor, approved.actor_name) == (
        "topup_approved", "tg:900", "Boss",
    )  # fmt: skip
    assert approved.before == {"request_id": first, "status": "pending"}
    assert approved.after == {
        "request_id": first, "status": "approved", "admin_name": "Boss", "credits": 10_000,
        "balance": 10_000,
    }  # fmt: skip
    assert (rejected.action, rejected.actor, rejected.reason) == (
        "topup_rejected", "tg:901", "blurry",
    )  # fmt: skip
    assert len(await _log(db, action="topup_approved")) == 1


async def test_tiers_and_methods_from_the_shell_are_logged_as_cli(db: Database) -> None:
    await pricing.add_tier(db, min_credits=0, unit_price=100)
    await pricing.remove_tier(db, min_credits=0)
    await pricing.add_method(db, code="bank", name="Bank", instructions="IBAN")
    await pricing.disable_method(db, code="bank")
    await pricing.disable_method(db, code="bank")  # no change, no line
    logged = await _log(db)
    assert [(e.action, e.actor) for e in logged] == [
        ("method_disabled", "cli"), ("method_added", "cli"), ("tier_removed", "cli"),
        ("tier_added", "cli"),
    ]  # fmt: skip
    assert set(admin_log.KINDS) >= {e.action for e in logged}


async def test_the_log_pages_newest_first_and_filters_by_actor_reseller_kind_and_dates(
    db: Database,
) -> None:
    alice = await make_reseller(db)
    bob = await make_reseller(db, 1002, name="Bob")
    for day in range(12):
        await resellers.set_status(
            db, telegram_id=1001 if day % 2 else 1002, actor="tg:900" if day % 3 else "cli",
            status=ResellerStatus.SUSPENDED if day % 4 < 2 else ResellerStatus.ACTIVE,
            now=NOW + dt.timedelta(days=day),
        )  # fmt: skip
    everything = await admin_log.actions_page(db, LogFilter(), page=0, page_size=5)
    assert (everything.total, everything.pages, everything.page) == (14, 3, 0)
    days = [e.created_at for e in everything.actions]
    assert days == sorted(days, reverse=True) and days[0] == NOW + dt.timedelta(days=11)
    last = await admin_log.actions_page(db, LogFilter(), page=99, page_size=5)
    assert (last.page, len(last.actions)) == (2, 4)  # clamped to the last page

    by_cli = await _log(db, actor="cli")
    assert {e.actor for e in by_cli} == {"cli"} and len(by_cli) == 2 + 4
    assert {e.reseller_id for e in await _log(db, reseller_id=bob.id)} == {bob.id}
    assert {e.action for e in await _log(db, action="reseller_activated")} == {"reseller_activated"}
    window = LogFilter(since=NOW + dt.timedelta(days=3), until=NOW + dt.timedelta(days=5))
    assert [e.created_at.day for e in await admin_log.latest(db, window)] == [5, 4]
    assert [c.value for c in await admin_log.actors(db)] == ["tg:900", "cli"]
    assert {c.name for c in await admin_log.resellers_acted_on(db)} == {"Alice", "Bob"}
    assert alice.id != bob.id
    with pytest.raises(ActionError):
        await admin_log.latest(db, LogFilter(), limit=0)


async def test_an_unknown_kind_and_unreadable_details_still_read_back(db: Database) -> None:
    async with db.transaction() as session:
        session.add(AdminAction(actor="tg:5", action="from_the_future", details="{not json",
                                created_at=NOW))  # fmt: skip
    [entry] = await _log(db)
    assert (entry.action, entry.before, entry.after, entry.actor_name) == (
        "from_the_future", {}, {}, None,
    )  # fmt: skip
    assert await admin_log.kinds_logged(db) == ["from_the_future"]
    async with db.transaction() as session:
        assert await session.scalar(select(AdminAction.id)) == entry.id


async def test_adding_enabling_and_disabling_a_panel_is_logged_without_its_credentials(
    db: Database,
) -> None:
    box = panels.SecretBox(Fernet.generate_key().decode())
    await panels.add_panel(
        db, box, name="de-1", kind="marzban", base_url="https://panel.example",
        credentials={"username": "admin", "password": "s3cret-pass"}, actor="tg:900", now=NOW,
    )  # fmt: skip
    await panels.set_enabled(db, "de-1", enabled=False, actor="tg:900", now=NOW)
    await panels.set_enabled(db, "de-1", enabled=False)  # already so: nothing logged
    await panels.set_enabled(db, "de-1", enabled=True, now=NOW + dt.timedelta(minutes=1))
    logged = await _log(db)
    assert [(e.action, e.actor) for e in logged] == [
        ("panel_enabled", "cli"), ("panel_disabled", "tg:900"), ("panel_added", "tg:900"),
    ]  # fmt: skip
    assert logged[2].after == {"panel": "de-1", "kind": "marzban", "url": "https://panel.example"}
    async with db.transaction() as session:
        details = list(await session.scalars(select(AdminAction.details)))
    assert not any("s3cret-pass" in (d or "") for d in details)
