"""Backups: a consistent copy of the database in one file, and restoring it.

SQLite is copied with its online backup API while the bot keeps writing (WAL readers do
not block writers; the copy is one read transaction, so one moment of the database), and
the copy is a plain, self-contained SQLite file. PostgreSQL is dumped with ``pg_dump`` in
its custom format (one snapshot too) and restored with ``pg_restore``. Either may be
sealed with the ``SECRET_KEY`` (``bot.services.backup_crypto``); restore recognises which.

Restore only fills an empty database, then brings the schema to head and audits the
ledger, so what it returns says whether the copy holds together.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from bot.db import SQLITE_BUSY_TIMEOUT_MS, Database, create_engine, upgrade_schema
from bot.services import backup_crypto, ledger_audit
from bot.services.backup_crypto import CryptoError

if TYPE_CHECKING:
    import sqlite3

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
SUFFIXES = {SQLITE: ".sqlite3", POSTGRESQL: ".pgdump"}
ENCRYPTED_SUFFIX = ".enc"
INSTALL_PG_TOOLS = (
    "install the PostgreSQL client tools of the server's major version "
    "(e.g. apt install postgresql-client)"
)


class BackupError(Exception):
    """A backup or restore was refused or failed; ``code`` says why, the message how."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class BackupMade:
    path: Path
    engine: str  # SQLITE or POSTGRESQL
    encrypted: bool
    size: int  # bytes
    made_at: dt.datetime


@dataclass(frozen=True)
class Restored:
    engine: str
    encrypted: bool
    audit: ledger_audit.AuditReport


# --- names and places ------------------------------------------------------------------


def engine_of(database_url: str) -> str:
    backend = make_url(database_url).get_backend_name()
    if backend not in SUFFIXES:
        raise BackupError("unsupported", f"cannot back up a {backend} database")
    return backend


def default_directory(database_url: str, configured: Path | None) -> Path:
    """The configured folder, else ``backups/`` beside the SQLite file (or here)."""
    if configured is not None:
        return configured
    if engine_of(database_url) == SQLITE:
        return _sqlite_path(make_url(database_url)).parent / "backups"
    return Path("backups")


def file_name(prefix: str, engine: str, now: dt.datetime, *, encrypted: bool) -> str:
    """``<prefix>-20260101T120000Z.sqlite3[.enc]``: names sort as the times they were made."""
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}-{stamp}{SUFFIXES[engine]}{ENCRYPTED_SUFFIX if encrypted else ''}"


def made_by(prefix: str, directory: Path) -> list[Path]:
    """The backups named with ``prefix`` in ``directory``, oldest first."""
    pattern = re.compile(rf"{re.escape(prefix)}-\d{{8}}T\d{{6}}Z(\.sqlite3|\.pgdump)(\.enc)?")
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and pattern.fullmatch(p.name))


def prune(prefix: str, directory: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest backups named with ``prefix``; returns the deleted."""
    found = made_by(prefix, directory)
    old = found[: max(0, len(found) - keep)]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def _sqlite_path(url: URL) -> Path:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("unsupported", "only a SQLite database in a file can be backed up")
    return Path(database)


@contextmanager
def _scratch(beside: Path) -> Iterator[Path]:
    """A private temporary file in ``beside``'s folder, removed afterwards."""
    beside.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{beside.name}.", suffix=".part", dir=beside.parent)
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


# --- backup ------------------------------------------------------------------------------


async def backup(
    database_url: str, output: Path, *, key: str | None, encrypt: bool, now: dt.datetime
) -> BackupMade:
    """Write a consistent copy of the database to ``output`` (never over an existing file)."""
    engine = engine_of(database_url)
    if encrypt:
        backup_crypto.fernet(key)  # no key: say so before any work
    await asyncio.to_thread(_check_free, output)
    with _scratch(output) as plain:
        if engine == SQLITE:
            await asyncio.to_thread(_sqlite_copy, _sqlite_path(make_url(database_url)), plain)
        else:
            await _pg_dump(make_url(database_url), plain)
        size = await asyncio.to_thread(_put_in_place, plain, output, key if encrypt else None)
    return BackupMade(output, engine, encrypt, size, now)


def _check_free(output: Path) -> None:
    if output.exists():
        raise BackupError("exists", f"{output} already exists; choose another --output")


def _put_in_place(plain: Path, output: Path, key: str | None) -> int:
    """Move the copy to ``output``, sealed first when there is a key; returns its size."""
    if key is None:
        os.replace(plain, output)
    else:
        with _scratch(output) as sealed:
            backup_crypto.encrypt_file(plain, sealed, key)
            os.replace(sealed, output)
    return output.stat().st_size


def _sqlite_connect(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    import sqlite3  # here: a bot on PostgreSQL does not load it (about 1 MB)

    return sqlite3.connect(path, timeout=timeout)


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError("no_database", f"there is no database at {source}")
    src = _sqlite_connect(source, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        dst = _sqlite_connect(target)
        try:
            # All pages in one step: one read transaction, so one moment of the database,
            # while the bot's writers go on in the write-ahead log.
            src.backup(dst)
            # A single self-contained file, not one that expects a -wal beside it.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def _pg_env(url: URL) -> dict[str, str]:
    """The connection for the client tools, in their environment: the password never
    shows in the process list."""
    env = dict(os.environ)
    for name, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            env[name] = str(value)
    ssl = url.query.get("sslmode") or url.query.get("ssl")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = {"true": "require", "false": "disable"}.get(ssl.lower(), ssl)
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"no_{name}", f"{name} is not on PATH: {INSTALL_PG_TOOLS}")
    return path


async def _run(tool: str, args: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        _tool(tool), *args, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    if process.returncode != 0:
        lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
        reason = lines[0] if lines else f"exit code {process.returncode}"
        raise BackupError(f"{tool}_failed", f"{tool} failed: {reason}")


async def _pg_dump(url: URL, target: Path) -> None:
    await _run("pg_dump", ["--format=custom", "--no-password", f"--file={target}"], _pg_env(url))


# --- restore -----------------------------------------------------------------------------


def _kind_of(path: Path) -> str:
    with path.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return SQLITE
    if head.startswith(PGDUMP_MAGIC):
        return POSTGRESQL
    raise BackupError("not_a_backup", "the file is not a backup made by `python -m bot backup`")


async def restore(source: Path, database_url: str, *, key: str | None) -> Restored:
    """Fill an empty database from a backup, bring the schema to head, audit the ledger."""
    engine = engine_of(database_url)
    await asyncio.to_thread(_check_source, source)
    await _refuse_non_empty(engine, database_url)
    encrypted = await asyncio.to_thread(backup_crypto.is_encrypted, source)
    with _scratch(Path(tempfile.gettempdir()) / source.name) as scratch:
        plain = source
        if encrypted:
            await asyncio.to_thread(backup_crypto.decrypt_file, source, scratch, key)
            plain = scratch
        kind = await asyncio.to_thread(_kind_of, plain)
        if kind != engine:
            names = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
            raise BackupError(
                "wrong_engine",
                f"this is a {names[kind]} backup; restore it with a {names[kind]} DATABASE_URL",
            )
        if engine == SQLITE:
            await asyncio.to_thread(_sqlite_fill, plain, _sqlite_path(make_url(database_url)))
        else:
            await _pg_restore(make_url(database_url), plain)
    db = Database.from_url(database_url)
    try:
        await upgrade_schema(db.engine)
        async with db.transaction() as session:
            report = await ledger_audit.audit(session)
    finally:
        await db.dispose()
    return Restored(engine, encrypted, report)


def _check_source(source: Path) -> None:
    if not source.is_file():
        raise BackupError("no_file", f"there is no file {source}")


def _sqlite_tables_at(path: Path) -> int:
    return _sqlite_tables(path) if path.is_file() and path.stat().st_size else 0


def _sqlite_tables(path: Path) -> int:
    connection = _sqlite_connect(path)
    try:
        row = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view')"
        ).fetchone()
        return int(row[0])
    finally:
        connection.close()


async def _refuse_non_empty(engine: str, database_url: str) -> None:
    if engine == SQLITE:
        path = _sqlite_path(make_url(database_url))
        tables = await asyncio.to_thread(_sqlite_tables_at, path)
        where = str(path)
    else:
        sql_engine = create_engine(database_url)
        try:
            async with sql_engine.connect() as connection:
                tables = await connection.scalar(
                    text(
                        "SELECT count(*) FROM information_schema.tables WHERE table_schema "
                        "NOT IN ('pg_catalog', 'information_schema')"
                    )
                )
        finally:
            await sql_engine.dispose()
        where = f"database {make_url(database_url).database}"
    if tables:
        raise BackupError(
            "not_empty",
            f"{where} is not empty ({tables} tables); restore only into an empty database: "
            "a new SQLite file path, or a PostgreSQL database just made with createdb",
        )


def _sqlite_fill(plain: Path, target: Path) -> None:
    src = _sqlite_connect(plain)
    try:
        if src.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise BackupError("damaged", "the backup's database is damaged")
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = _sqlite_connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


async def _pg_restore(url: URL, plain: Path) -> None:
    args = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    args += ["--no-password", f"--dbname={url.database}", str(plain)]
    await _run("pg_restore", args, _pg_env(url))


__all__ = ["BackupError", "BackupMade", "CryptoError", "Restored", "backup", "restore"]
