"""The operator commands' arguments: each value is range-checked as it is parsed, so a bad
one is refused with one line before anything touches the database."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from bot.cli import (
    announcement_commands,
    backup_commands,
    chart_command,
    discount_command,
    export_command,
    price_list_commands,
    self_pay_command,
    stars_commands,
)
from bot.money import AmountError, parse_amount
from bot.services.roles import Permission
from models import PanelKind, TxType

# Telegram ids are 64-bit integers (BIGINT in the database).
MAX_TELEGRAM_ID = 2**63 - 1
MAX_PLAN_DAYS = 3650
# Expiry dates further out than this are a typo, not a plan.
MAX_EXPIRY_YEARS = 10
MAX_KEY = 100
MAX_TEXT = 255
MAX_DATA_LIMIT_GB = 1_000_000
GIB = 1024**3


def amount(text: str) -> int:
    try:
        return parse_amount(text)
    except AmountError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def amount_or_zero(text: str) -> int:
    # A threshold or limit may be zero; anything else follows the amount rules.
    return 0 if text.strip() in {"0", "0.0", "0.00"} else amount(text)


def date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("use a date like 2026-12-31 (yyyy-mm-dd)") from exc
    latest = dt.date.today().replace(year=dt.date.today().year + MAX_EXPIRY_YEARS)
    if day > latest:
        raise argparse.ArgumentTypeError(f"the date must be on or before {latest.isoformat()}")
    return day


def _whole(text: str, *, low: int, high: int, what: str) -> int:
    try:
        value = int(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError("expected a whole number") from exc
    if value < low:
        raise argparse.ArgumentTypeError("expected a number greater than zero")
    if value > high:
        raise argparse.ArgumentTypeError(f"{what} is at most {high}")
    return value


def telegram_id(text: str) -> int:
    return _whole(text, low=1, high=MAX_TELEGRAM_ID, what="a Telegram id")


def days(text: str) -> int:
    return _whole(text, low=1, high=MAX_PLAN_DAYS, what="a plan")


def key(text: str) -> str:
    if not text.strip() or len(text) > MAX_KEY:
        raise argparse.ArgumentTypeError(f"a key is 1 to {MAX_KEY} characters")
    return text


def text(limit: int) -> Callable[[str], str]:
    def _text(value: str) -> str:
        if len(value) > limit:
            raise argparse.ArgumentTypeError(f"at most {limit} characters ({len(value)} given)")
        return value

    return _text


def data_limit_gb(text: str) -> int:
    """Gigabytes (GiB, as the panels count), whole or with decimals; held as bytes."""
    try:
        value = float(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError("expected a number of gigabytes, e.g. 50") from exc
    if not 0 < value <= MAX_DATA_LIMIT_GB:
        raise argparse.ArgumentTypeError(f"a data limit is above 0 and at most {MAX_DATA_LIMIT_GB}")
    return int(value * GIB)


def template(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('a template is a JSON object, e.g. {"group_ids": [1]}')
    return value


def option(text: str) -> tuple[str, Any]:
    """KEY=VALUE; a value that reads as JSON (a number, true, a list) is taken as such."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError("use KEY=VALUE, e.g. page_size=50")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip(), value


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
    add.add_argument("--telegram-id", type=telegram_id, required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--username", help="Telegram @username, optional")
    add.add_argument("--postpaid", action="store_true", help="may go below zero, to the limit")
    add.add_argument(
        "--credit-limit", type=amount_or_zero, default=0, help="postpaid collection limit"
    )
    add.add_argument(
        "--threshold", type=amount_or_zero, default=0, help="low-balance alert threshold"
    )
    reseller.add_parser("list", help="list resellers and balances")
    for name, help_text in (
        ("suspend", "stop a reseller from selling and topping up (it is told, and why)"),
        ("activate", "let a suspended reseller sell again; resumes customers the bot suspended"),
    ):
        sub = reseller.add_parser(name, help=help_text)
        sub.add_argument("--telegram-id", type=telegram_id, required=True)
        sub.add_argument("--reason", type=text(MAX_TEXT), help="logged and told to the reseller")
        if name == "suspend":
            sub.add_argument(
                "--suspend-customers", action="store_true",
                help="also disable its active customers on their panels (activate resumes "
                "them); repeat on a suspended reseller to retry those that failed",
            )  # fmt: skip

    plan = commands.add_parser("plan", help="manage plans").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    plan_add = plan.add_parser("add", help="add a plan")
    plan_add.add_argument("--code", required=True, help="short id, e.g. iptv-1m")
    plan_add.add_argument("--name", required=True)
    plan_add.add_argument("--days", type=days, required=True)
    plan_add.add_argument("--price", type=amount, required=True, help="in credits, e.g. 10.50")
    plan_add.add_argument("--panel", help="the panel it provisions on (default: none, local)")
    plan_add.add_argument(
        "--template", type=template, help="where users go on the panel, JSON (see README)"
    )
    plan_add.add_argument("--data-limit-gb", type=data_limit_gb, help="default: unlimited")
    plan_add.add_argument(
        "--reset-traffic", action="store_true", help="a renewal resets the used traffic"
    )
    plan.add_parser("list", help="list plans")

    panel = commands.add_parser("panel", help="provisioning panels").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    panel_add = panel.add_parser(
        "add",
        help="add a panel; credentials come from PANEL_USERNAME, PANEL_PASSWORD, "
        "PANEL_API_KEY, PANEL_TOKEN or PANEL_SECRET, or are asked for",
    )
    panel_add.add_argument("--name", required=True, help="short id, e.g. de-1")
    panel_add.add_argument("--kind", required=True, choices=[k.value for k in PanelKind])
    panel_add.add_argument("--url", required=True, help="the panel's base URL")
    panel_add.add_argument(
        "--option", type=option, action="append", default=[], metavar="KEY=VALUE",
        help="a panel setting, e.g. access_code=abc (XUI.one); repeat for more",
    )  # fmt: skip
    panel.add_parser("list", help="list panels")
    for name, help_text in (
        ("test", "log in and read one page of users"),
        ("disable", "stop selling on a panel"),
        ("check", "compare the panel's users with the customers here; changes nothing"),
    ):
        sub = panel.add_parser(name, help=help_text)
        sub.add_argument("--name", required=True)
    adopt = panel.add_parser(
        "import", help="make the panel's users customers of a reseller, without charging"
    )
    adopt.add_argument("--name", required=True, help="the panel")
    adopt.add_argument("--reseller", type=telegram_id, required=True, help="Telegram id")
    adopt.add_argument("--plan", type=text(32), required=True, help="a plan code on that panel")
    adopt.add_argument("--dry-run", action="store_true", help="say what it would do, write nothing")

    credit = commands.add_parser("credit", help="move credits").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    for name, help_text in (("add", "grant credits"), ("remove", "take credits back")):
        sub = credit.add_parser(name, help=help_text)
        sub.add_argument("--reseller", type=telegram_id, required=True, help="Telegram id")
        sub.add_argument("--amount", type=amount, required=True, help="e.g. 100 or 100.50")
        sub.add_argument("--type", choices=[t.value for t in TxType], required=True)
        sub.add_argument("--comment", type=text(MAX_TEXT), help="at most 255 characters")
        sub.add_argument(
            "--key", type=key, help="idempotency key: the same command again does nothing"
        )
        if name == "add":
            sub.add_argument("--expires", type=date, help="last day the credits can be used")
    cash = credit.add_parser("cash", help="record cash received from a postpaid reseller")
    cash.add_argument("--reseller", type=telegram_id, required=True, help="Telegram id")
    cash.add_argument("--amount", type=amount, required=True)
    cash.add_argument("--comment", type=text(MAX_TEXT))
    cash.add_argument("--key", type=key)
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
        "--min-total", type=amount_or_zero, default=0, help="smallest payment, in PRICE_CURRENCY"
    )
    method.add_parser("list", help="list payment methods")
    method_disable = method.add_parser("disable", help="stop offering a payment method")
    method_disable.add_argument("--code", required=True)
    stars_commands.add_parser(method)

    tier = commands.add_parser("price-tier", help="what a credit costs").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    tier_add = tier.add_parser("add", help="from --min-credits up, one credit costs --unit-price")
    tier_add.add_argument("--min-credits", type=amount_or_zero, required=True, help="e.g. 500")
    tier_add.add_argument(
        "--unit-price", type=amount, required=True, help="per credit, in PRICE_CURRENCY"
    )
    tier.add_parser("list", help="list price tiers")
    tier_remove = tier.add_parser("remove", help="remove the tier starting at --min-credits")
    tier_remove.add_argument("--min-credits", type=amount_or_zero, required=True)

    commands.add_parser("audit", help="check every balance against the ledger")

    log = commands.add_parser("log", help="the action log: who did what, newest first")
    log.add_argument("--reseller", type=telegram_id, help="only about this reseller (Telegram id)")
    log.add_argument("--actor", type=text(64), help="only by this admin: a Telegram id, or cli")
    log.add_argument(
        "--action", dest="kind", type=text(32), help="only this kind, e.g. credit_added"
    )
    log.add_argument("--since", type=date, help="from this day on (yyyy-mm-dd)")
    log.add_argument("--until", type=date, help="up to and including this day (yyyy-mm-dd)")
    log.add_argument(
        "--limit", type=lambda v: _whole(v, low=1, high=10_000, what="--limit"), default=50,
        help="at most this many lines (default 50)",
    )  # fmt: skip
    _staff_parser(commands)
    price_list_commands.add_parser(commands)
    backup_commands.add_parser(commands)
    export_command.add_parser(commands)
    chart_command.add_parser(commands)
    self_pay_command.add_parser(commands)
    discount_command.add_parser(commands)
    announcement_commands.add_parser(commands)
    return parser


PERMISSIONS = ", ".join(p.value for p in Permission)


def permissions(text: str) -> frozenset[Permission]:
    """``topups,credits``: known permission codes, comma-separated (none: an empty text)."""
    codes = [code.strip().lower() for code in text.split(",") if code.strip()]
    unknown = [code for code in codes if code not in {p.value for p in Permission}]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown permission {unknown[0]!r}; use {PERMISSIONS}")
    return frozenset(Permission(code) for code in codes)


def _staff_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = commands.add_parser(
        "staff", help="staff admins: what they may do besides the owners (ADMIN_IDS)"
    ).add_subparsers(dest="action", metavar="ACTION", required=True)
    add = staff.add_parser("add", help="make a Telegram user a staff admin")
    add.add_argument("telegram_id", type=telegram_id, metavar="ID", help="their Telegram id")
    add.add_argument("--name", type=text(128), required=True)
    add.add_argument(
        "--permissions", type=permissions, default=frozenset(),
        help=f"comma-separated, of {PERMISSIONS} (default: none)",
    )  # fmt: skip
    staff.add_parser("list", help="list staff admins and their permissions")
    remove = staff.add_parser("remove", help="take every permission away from a staff admin")
    remove.add_argument("telegram_id", type=telegram_id, metavar="ID", help="their Telegram id")
