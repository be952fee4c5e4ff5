"""``python -m bot``: run the bot, or operate it from the shell.

With no arguments it runs the bot. Every other command brings the schema to head first,
runs one service call, prints one line, and exits non-zero with one ``error:`` line (and
nothing written) on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.adapters.panels.base import PanelError
from bot.cli.args import build_parser
from bot.cli.backup_commands import NO_UPGRADE
from bot.cli.commands import COMMANDS, Call, CliError
from bot.db import Database, upgrade_schema
from bot.money import AmountError, format_amount
from bot.services.admin_log import ActionError
from bot.services.backup import BackupError, CryptoError
from bot.services.ledger import InsufficientCredit, LedgerError
from bot.services.panel_import import PanelImportError
from bot.services.panels import PanelConfigError
from bot.services.plans import PlanError
from bot.services.pricing import PricingError
from bot.services.resellers import ResellerError
from bot.services.stars import StarsError
from bot.settings import Settings

__all__ = ["CliError", "build_parser", "main"]


async def _run_command(args: argparse.Namespace, settings: Settings) -> int:
    db = Database.from_url(settings.database_url, schema=settings.database_schema)
    try:
        if args.command not in NO_UPGRADE:
            await upgrade_schema(db.engine)
        command = COMMANDS[(args.command, getattr(args, "action", None))]
        return await command(Call(args, settings, db, dt.datetime.now(dt.UTC)))
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
    """Run a command; whatever refuses it ends as one ``error:`` line and exit code 1."""
    try:
        return asyncio.run(call())
    except InsufficientCredit as exc:
        print(
            f"error: not enough credit: {format_amount(exc.requested, currency)} requested, "
            f"{format_amount(exc.available + exc.credit_limit, currency)} can be taken.",
            file=sys.stderr,
        )
    except (
        CliError,
        AmountError,
        ResellerError,
        PlanError,
        PricingError,
        LedgerError,
        ActionError,
        PanelConfigError,
        PanelImportError,
        StarsError,
        BackupError,
        CryptoError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except PanelError as exc:
        print(f"error: the panel did not do it: {_first_line(exc)}", file=sys.stderr)
    except OperationalError as exc:
        print(f"error: cannot use the database: {_first_line(exc.orig)}", file=sys.stderr)
    except SQLAlchemyError as exc:
        # The transaction rolled back; the driver's message says what the database refused.
        reason = _first_line(getattr(exc, "orig", None) or exc)
        print(f"error: the database refused it: {reason}", file=sys.stderr)
    except (OverflowError, ValueError) as exc:
        print(f"error: a value is out of range: {_first_line(exc)}", file=sys.stderr)
    except OSError as exc:
        print(f"error: {_first_line(exc)}", file=sys.stderr)
    return 1


def _first_line(exc: BaseException | None) -> str:
    text = str(exc) if exc is not None else "unknown error"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
