"""``python -m bot``: run the bot, or operate it from the shell.

With no arguments it runs the bot. Every other command brings the schema to head first,
runs one service call, prints one line, and exits non-zero with a clear message (and
nothing written) on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.db import Database, upgrade_schema
from bot.money import AmountError, format_amount, parse_amount
from bot.services import alerts, plans, pricing, resellers, wallet
from bot.services.ledger import InsufficientCredit, LedgerError
from bot.services.plans import PlanError
from bot.services.pricing import PricingError
from bot.services.resellers import ResellerError
from bot.settings import Settings
from models import Billing, TxType


class CliError(Exception):
    """Bad input to a command; printed as one line."""


def _amount(text: str) -> int:
    try:
        return parse_amount(text)
    except AmountError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _threshold(text: str) -> int:
    # A threshold or limit may be zero; anything else follows the amount rules.
    return 0 if text.strip() in {"0", "0.0", "0.00"} else _amount(text)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("use a date like 2026-12-31 (yyyy-mm-dd)") from exc


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("expected a whole number") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError("expected a number greater than zero")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Reseller bot. With no command, runs the bot.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the bot (the default)")

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    db.add_parser("upgrade", help="bring the schema to the latest revision")

    reseller = commands.add_parser("reseller", help="manage resellers").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    add = reseller.add_parser("add", help="register a Telegram user as a reseller")
    add.add_argument("--telegram-id", type=_positive_int, required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--username", help="Telegram @username, optional")
    add.add_argument("--postpaid", action="store_true", help="may go below zero, to the limit")
    add.add_argument(
        "--credit-limit", type=_threshold, default=0, help="postpaid collection limit, e.g. 500"
    )
    add.add_argument(
        "--threshold", type=_threshold, default=0, help="low-balance alert threshold, e.g. 50"
    )
    reseller.add_parser("list", help="list resellers and balances")

    plan = commands.add_parser("plan", help="manage plans").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    plan_add = plan.add_parser("add", help="add a plan")
    plan_add.add_argument("--code", required=True, help="short id, e.g. iptv-1m")
    plan_add.add_argument("--name", required=True)
    plan_add.add_argument("--days", type=_positive_int, required=True)
    plan_add.add_argument("--price", type=_amount, required=True, help="in credits, e.g. 10.50")
    plan.add_parser("list", help="list plans")

    credit = commands.add_parser("credit", help="move credits").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    for name, help_text in (("add", "grant credits"), ("remove", "take credits back")):
        sub = credit.add_parser(name, help=help_text)
        sub.add_argument("--reseller", type=_positive_int, required=True, help="Telegram id")
        sub.add_argument("--amount", type=_amount, required=True, help="e.g. 100 or 100.50")
        sub.add_argument("--type", choices=[t.value for t in TxType], required=True)
        sub.add_argument("--comment", help="at most 255 characters")
        sub.add_argument(
            "--key", help="idempotency key: repeating a command with the same key does nothing"
        )
        if name == "add":
            sub.add_argument("--expires", type=_date, help="last day the credits can be used")
    cash = credit.add_parser("cash", help="record cash received from a postpaid reseller")
    cash.add_argument("--reseller", type=_positive_int, required=True, help="Telegram id")
    cash.add_argument("--amount", type=_amount, required=True)
    cash.add_argument("--comment")
    cash.add_argument("--key")
    credit.add_parser("expire", help="remove what is left of expired grants now")

    method = commands.add_parser("payment-method", help="how resellers pay").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    method_add = method.add_parser("add", help="add a payment method")
    method_add.add_argument("--code", required=True, help="short id, e.g. usdt-trc20")
    method_add.add_argument("--name", required=True, help="what resellers see, e.g. USDT (TRC20)")
    method_add.add_argument(
        "--instructions", required=True, help="how to pay: account details, wallet address"
    )
    method_add.add_argument(
        "--min-total", type=_threshold, default=0, help="smallest payment, in PRICE_CURRENCY"
    )
    method.add_parser("list", help="list payment methods")
    method_disable = method.add_parser("disable", help="stop offering a payment method")
    method_disable.add_argument("--code", required=True)

    tier = commands.add_parser("price-tier", help="what a credit costs").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    tier_add = tier.add_parser("add", help="from --min-credits up, one credit costs --unit-price")
    tier_add.add_argument("--min-credits", type=_threshold, required=True, help="e.g. 0 or 500")
    tier_add.add_argument(
        "--unit-price", type=_amount, required=True, help="per credit, in PRICE_CURRENCY"
    )
    tier.add_parser("list", help="list price tiers")
    tier_remove = tier.add_parser("remove", help="remove the tier starting at --min-credits")
    tier_remove.add_argument("--min-credits", type=_threshold, required=True)

    commands.add_parser("audit", help="check every balance against the ledger")
    return parser


def _expiry(day: dt.date | None, settings: Settings, now: dt.datetime) -> dt.datetime | None:
    """Credits expiring "on" a day stay usable through that day in the operator's zone."""
    if day is None:
        return None
    expires_at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=settings.zone)
    if expires_at <= now:
        raise CliError("the expiry date must be today or later")
    return expires_at.astimezone(dt.UTC)


async def _dispatch(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    money = settings.currency
    now = dt.datetime.now(dt.UTC)
    actor = "cli"
    command = (args.command, getattr(args, "action", None))

    if command == ("db", "upgrade"):
        print("Database schema is up to date.")
    elif command == ("reseller", "add"):
        billing = Billing.POSTPAID if args.postpaid else Billing.PREPAID
        if args.credit_limit and not args.postpaid:
            raise CliError("--credit-limit needs --postpaid")
        r = await resellers.register_reseller(
            db,
            telegram_id=args.telegram_id,
            name=args.name,
            username=args.username,
            billing=billing,
            credit_limit=args.credit_limit,
            low_balance_threshold=args.threshold,
        )
        limit = f", collection limit {format_amount(r.credit_limit, money)}" if r.postpaid else ""
        print(
            f"Reseller {r.name} ({r.telegram_id}) added: {r.billing}{limit}, "
            f"low-balance threshold {format_amount(r.low_balance_threshold, money)}."
        )
    elif command == ("reseller", "list"):
        rows = await resellers.list_resellers(db)
        if not rows:
            print("No resellers yet.")
        for row in rows:
            r = row.reseller
            print(
                f"{r.telegram_id}\t{r.name}\t{r.billing}\t{r.status}\t"
                f"balance {format_amount(row.balance.balance, money)}\t"
                f"available {format_amount(row.balance.available, money)}"
            )
    elif command == ("plan", "add"):
        p = await plans.add_plan(
            db, code=args.code, name=args.name, days=args.days, price=args.price
        )
        print(f"Plan {p.code} added: {p.name}, {p.days} days, {format_amount(p.price, money)}.")
    elif command == ("plan", "list"):
        found = await plans.list_plans(db)
        if not found:
            print("No plans yet.")
        for p in found:
            state = "active" if p.active else "disabled"
            print(f"{p.code}\t{p.name}\t{p.days} days\t{format_amount(p.price, money)}\t{state}")
    elif command in (("credit", "add"), ("credit", "remove"), ("credit", "cash")):
        key = args.key or f"cli:{uuid.uuid4()}"
        change: wallet.WalletChange
        if args.action == "add":
            change = await wallet.add_credit(
                db,
                telegram_id=args.reseller,
                amount=args.amount,
                tx_type=TxType(args.type),
                actor=actor,
                key=key,
                now=now,
                comment=args.comment,
                expires_at=_expiry(args.expires, settings, now),
            )
        elif args.action == "remove":
            change = await wallet.remove_credit(
                db,
                telegram_id=args.reseller,
                amount=args.amount,
                tx_type=TxType(args.type),
                actor=actor,
                key=key,
                comment=args.comment,
            )
        else:
            change = await wallet.record_cash_received(
                db,
                telegram_id=args.reseller,
                amount=args.amount,
                actor=actor,
                key=key,
                comment=args.comment,
            )
        r, b = change.reseller, change.balance
        verb = {"add": "Added", "remove": "Removed", "cash": "Recorded cash of"}[args.action]
        prefix = "Already done with this key; nothing moved. " if change.movement.replayed else ""
        print(
            f"{prefix}{verb} {format_amount(args.amount, money)} for {r.name} ({r.telegram_id}). "
            f"Balance {format_amount(b.balance, money)}, "
            f"available {format_amount(b.available, money)}."
        )
    elif command == ("credit", "expire"):
        expired = await alerts.expire_grants(db, now)
        total = sum(e.amount for e in expired)
        print(f"Expired {len(expired)} grants, {format_amount(total, money)} removed.")
    elif command == ("payment-method", "add"):
        m = await pricing.add_method(
            db,
            code=args.code,
            name=args.name,
            instructions=args.instructions,
            min_total=args.min_total,
        )
        print(
            f"Payment method {m.code} added: {m.name}, "
            f"minimum {format_amount(m.min_total, settings.price_currency)}."
        )
    elif command == ("payment-method", "list"):
        found_methods = await pricing.list_methods(db)
        if not found_methods:
            print("No payment methods yet.")
        for m in found_methods:
            state = "active" if m.active else "disabled"
            minimum = format_amount(m.min_total, settings.price_currency)
            print(f"{m.code}\t{m.name}\tmin {minimum}\t{state}\t{m.instructions!r}")
    elif command == ("payment-method", "disable"):
        await pricing.disable_method(db, code=args.code)
        print(f"Payment method {args.code} disabled.")
    elif command == ("price-tier", "add"):
        t = await pricing.add_tier(db, min_credits=args.min_credits, unit_price=args.unit_price)
        print(
            f"Price tier added: from {format_amount(t.min_credits, money)}, "
            f"{format_amount(t.unit_price, settings.price_currency)} per credit."
        )
    elif command == ("price-tier", "list"):
        found_tiers = await pricing.list_tiers(db)
        if not found_tiers:
            print("No price tiers yet: top-ups cannot be priced.")
        for t in found_tiers:
            print(
                f"from {format_amount(t.min_credits, money)}\t"
                f"{format_amount(t.unit_price, settings.price_currency)} per credit"
            )
    elif command == ("price-tier", "remove"):
        await pricing.remove_tier(db, min_credits=args.min_credits)
        print(f"Price tier from {format_amount(args.min_credits, money)} removed.")
    elif command == ("audit", None):
        report = await wallet.audit(db)
        for problem in report.problems:
            print(f"problem: {problem}")
        if not report.ok:
            print(f"Ledger audit FAILED: {len(report.problems)} problems.")
            return 1
        print(f"Ledger audit OK: {report.accounts} accounts, {report.transfers} transfers.")
    else:  # pragma: no cover - argparse only lets the commands above through
        raise CliError(f"unknown command {command}")
    return 0


async def _run_command(args: argparse.Namespace, settings: Settings) -> int:
    db = Database.from_url(settings.database_url)
    try:
        await upgrade_schema(db.engine)
        return await _dispatch(args, settings, db)
    finally:
        await db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]).upper()
            print(f"error: setting {field}: {error['msg']}", file=sys.stderr)
        return 2
    if args.command in (None, "run"):
        from bot.app import run_bot  # the Telegram stack is only needed to run the bot

        return run_bot(settings)
    return _guard(lambda: _run_command(args, settings), settings.currency)


def _guard(call: Callable[[], Coroutine[Any, Any, int]], currency: str) -> int:
    try:
        return asyncio.run(call())
    except InsufficientCredit as exc:
        print(
            f"error: not enough credit: {format_amount(exc.requested, currency)} requested, "
            f"{format_amount(exc.available + exc.credit_limit, currency)} can be taken.",
            file=sys.stderr,
        )
        return 1
    except (CliError, AmountError, ResellerError, PlanError, PricingError, LedgerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        print(f"error: cannot use the database: {exc.orig}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        print(f"error: database failure: {exc}", file=sys.stderr)
        return 1
