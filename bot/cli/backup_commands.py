"""``python -m bot backup`` and ``python -m bot restore FILE`` (see bot/services/backup.py).

Neither brings the schema to head first: a backup copies the database as it is, and a
restore needs the target empty (it brings the restored copy to head itself).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.services import backup

if TYPE_CHECKING:
    from bot.cli.commands import Call

NO_UPGRADE = frozenset({"backup", "restore"})


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    make = commands.add_parser(
        "backup", help="write a consistent copy of the database to a file, while the bot runs"
    )
    make.add_argument(
        "--output", type=Path, metavar="FILE",
        help="where to write it (default: BACKUP_DIR, or backups/ beside the SQLite file, "
        "named with the UTC time)",
    )  # fmt: skip
    sealed = make.add_mutually_exclusive_group()
    sealed.add_argument(
        "--encrypt", dest="encrypt", action="store_true", default=None,
        help="encrypt it with SECRET_KEY (the default when SECRET_KEY is set)",
    )  # fmt: skip
    sealed.add_argument("--no-encrypt", dest="encrypt", action="store_false", help="write it plain")
    restore = commands.add_parser(
        "restore", help="fill an empty database (DATABASE_URL) from a backup, then audit it"
    )
    restore.add_argument("file", type=Path, metavar="FILE")


def _key(call: Call) -> str | None:
    key = call.settings.secret_key
    return key.get_secret_value() if key else None


async def make_backup(call: Call) -> int:
    url = call.settings.database_url
    encrypt = call.args.encrypt if call.args.encrypt is not None else _key(call) is not None
    output = call.args.output
    if output is None:
        directory = backup.default_directory(url, call.settings.backup_dir)
        output = directory / backup.file_name(
            "bot", backup.engine_of(url), call.now, encrypted=encrypt
        )
    made = await backup.backup(url, output, key=_key(call), encrypt=encrypt, now=call.now)
    sealed = "encrypted with SECRET_KEY" if made.encrypted else "not encrypted"
    print(
        f"Backup written: {made.path} ({made.size} bytes, {made.engine}, {sealed}). "
        f"Restore it into an empty database with: python -m bot restore {made.path}"
    )
    return 0


async def restore(call: Call) -> int:
    done = await backup.restore(call.args.file, call.settings.database_url, key=_key(call))
    print(f"Restored {call.args.file} ({done.engine}); the schema is up to date.")
    report = done.audit
    for problem in report.problems:
        print(f"problem: {problem}")
    if not report.ok:
        print(f"Ledger audit FAILED: {len(report.problems)} problems.")
        return 1
    print(f"Ledger audit OK: {report.accounts} accounts, {report.transfers} transfers.")
    return 0


COMMANDS: dict[tuple[str, str | None], Callable[[Call], Awaitable[int]]] = {
    ("backup", None): make_backup,
    ("restore", None): restore,
}
