"""Backups and restores on both databases: taken while the bot writes, encrypted or not,
never over a database that has data; the CLI; the scheduled job through the fake Bot API.

PostgreSQL backups need ``pg_dump`` and ``pg_restore``: where they are installed these
tests run them (each in databases of its own on the test server); where they are not,
the PostgreSQL half is skipped with the reason, except in CI, where it fails.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import shutil
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot import cli
from bot.db import Database, create_engine, upgrade_schema
from bot.services import backup, backup_crypto, backup_schedule, wallet
from bot.services.backup import BackupError
from bot.services.backup_crypto import CryptoError
from bot.settings import Settings
from jobs import backups as backup_job
from models import AdminAction, CreditGrant, LedgerAccount, Reseller, Transfer, TxType
from tests.conftest import IN_CI, PG_URL, running_bot
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller

KEY = Fernet.generate_key().decode()
OTHER_KEY = Fernet.generate_key().decode()
T0 = dt.datetime(2031, 3, 10, 12, 0, tzinfo=dt.UTC)
OPERATOR = 4242
COUNTED = (Reseller, Transfer, CreditGrant, AdminAction)

MakeUrl = Callable[[], Awaitable[str]]


# --- databases of the test's own ---------------------------------------------------------


def _needs_pg_tools() -> None:
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        message = f"{' and '.join(missing)} not on PATH: PostgreSQL backups cannot be tested"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
async def new_url(backend: str, database_url: str, tmp_path: Path) -> AsyncIterator[MakeUrl]:
    """Makes empty databases of the backend: a SQLite path, or a PostgreSQL database.

    (``database_url`` is asked for its check that PostgreSQL answers: if not, skipped
    with the reason, or failed in CI.)"""
    made: list[str] = []
    if backend == "postgres":
        _needs_pg_tools()
    admin = create_async_engine(
        make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )

    async def _make() -> str:
        name = f"bk_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / name}.db"
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    yield _make
    async with admin.connect() as connection:
        for name in made:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
async def source(new_url: MakeUrl) -> AsyncIterator[tuple[str, Database]]:
    """A migrated database with two resellers: its URL and the bot's handle on it."""
    url = await new_url()
    db = Database.from_url(url)
    await upgrade_schema(db.engine)
    await make_reseller(db, 1001, name="Alice", credit=10_000)
    await make_reseller(db, 1002, name="Bob", credit=10_000)
    yield url, db
    await db.dispose()


async def _counts(url: str) -> dict[str, int]:
    db = Database.from_url(url)
    try:
        async with db.transaction() as session:
            return {
                model.__name__: await session.scalar(select(func.count()).select_from(model)) or 0
                for model in COUNTED
            }
    finally:
        await db.dispose()


async def _keys(url: str) -> dict[int, list[str]]:
    """Each reseller's transfers' idempotency keys, in the order they were written."""
    db = Database.from_url(url)
    try:
        async with db.transaction() as session:
            rows = await session.execute(
                select(Reseller.telegram_id, Transfer.idempotency_key)
                .join(
                    LedgerAccount,
                    or_(
                        LedgerAccount.id == Transfer.to_account_id,
                        LedgerAccount.id == Transfer.from_account_id,
                    ),
                )
                .join(Reseller, Reseller.id == LedgerAccount.reseller_id)
                .order_by(Transfer.id)
            )
            found: dict[int, list[str]] = {}
            for telegram_id, key in rows:
                found.setdefault(telegram_id, []).append(key)
            return found
    finally:
        await db.dispose()


def _sqlite_tables(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])


async def _tables(url: str) -> int:
    if url.startswith("sqlite"):
        return await asyncio.to_thread(_sqlite_tables, Path(make_url(url).database or ""))
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
            )
            return int(found or 0)
    finally:
        await engine.dispose()


async def _pad(db: Database, rows: int = 20_000) -> None:
    """Old log lines, so that copying the database takes a while."""
    async with db.transaction() as session:
        await session.execute(
            insert(AdminAction),
            [
                {"actor": "cli", "action": "padding", "details": "x" * 1000, "created_at": T0}
                for _ in range(rows)
            ],
        )


# --- consistency while writing --------------------------------------------------------------


async def test_a_backup_taken_while_credits_move_restores_a_consistent_moment_that_passes_the_audit(
    source: tuple[str, Database], new_url: MakeUrl, tmp_path: Path
) -> None:
    url, db = source
    await _pad(db)
    base = await _counts(url)
    stop, reached = asyncio.Event(), asyncio.Event()
    committed: list[float] = []
    wanted = [10]  # writes to wait for

    def done() -> None:
        committed.append(time.monotonic())
        if len(committed) >= wanted[0]:
            reached.set()

    async def grants(telegram_id: int) -> None:
        while not stop.is_set():
            await wallet.add_credit(
                db, telegram_id=telegram_id, amount=100, tx_type=TxType.PURCHASE,
                actor="cli", key=f"w:{uuid.uuid4()}", now=T0,
            )  # fmt: skip
            done()

    async def takes_back(telegram_id: int) -> None:
        while not stop.is_set():
            await wallet.remove_credit(
                db, telegram_id=telegram_id, amount=50, tx_type=TxType.ADJUSTMENT,
                actor="cli", key=f"r:{uuid.uuid4()}", now=T0,
            )  # fmt: skip
            done()

    writers = [asyncio.create_task(grants(1001)), asyncio.create_task(takes_back(1002))]
    await reached.wait()
    output = tmp_path / "during.bak"
    started = time.monotonic()
    made = await backup.backup(url, output, key=None, encrypt=False, now=T0)
    ended = time.monotonic()
    wanted[0] = len(committed) + 10
    reached.clear()
    await reached.wait()
    stop.set()
    await asyncio.gather(*writers)

    assert made.path == output and made.size == output.stat().st_size and not made.encrypted
    assert [t for t in committed if started < t < ended], "no write happened during the backup"
    target = await new_url()
    restored = await backup.restore(output, target, key=None)
    assert restored.audit.ok, restored.audit.problems
    assert not restored.encrypted

    # The copy is one moment: each writer's movements up to some point, none after it,
    # every movement whole (its transfer, its grant or debit, its log line).
    final, copy = await _counts(url), await _counts(target)
    assert copy["Reseller"] == final["Reseller"] == 2
    assert base["Transfer"] + 10 <= copy["Transfer"] < final["Transfer"]
    moved = copy["Transfer"] - base["Transfer"]
    assert copy["AdminAction"] - base["AdminAction"] == moved
    source_keys, copy_keys = await _keys(url), await _keys(target)
    assert set(copy_keys) == {1001, 1002}
    for telegram_id, keys in copy_keys.items():
        assert keys == source_keys[telegram_id][: len(keys)]
    assert sum(len(keys) for keys in copy_keys.values()) == copy["Transfer"]


# --- encryption ----------------------------------------------------------------------------


async def test_an_encrypted_backup_is_refused_without_its_key_and_restores_with_it(
    source: tuple[str, Database], new_url: MakeUrl, tmp_path: Path
) -> None:
    url, _ = source
    output = tmp_path / "sealed.bak"
    made = await backup.backup(url, output, key=KEY, encrypt=True, now=T0)
    content = output.read_bytes()
    assert made.encrypted and content.startswith(backup_crypto.MAGIC)
    assert b"Alice" not in content and b"SQLite format" not in content

    target = await new_url()
    with pytest.raises(CryptoError) as missing:
        await backup.restore(output, target, key=None)
    assert missing.value.code == "no_key" and "set SECRET_KEY" in str(missing.value)
    with pytest.raises(CryptoError) as wrong:
        await backup.restore(output, target, key=OTHER_KEY)
    assert wrong.value.code == "wrong_key"
    assert str(wrong.value) == "SECRET_KEY is not the key this backup was encrypted with"
    assert await _tables(target) == 0

    restored = await backup.restore(output, target, key=KEY)
    assert restored.encrypted and restored.audit.ok
    assert await _counts(target) == await _counts(url)
    assert await _keys(target) == await _keys(url)


async def test_a_cut_or_tampered_encrypted_backup_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 10_000)
    sealed = tmp_path / "sealed"
    backup_crypto.encrypt_file(plain, sealed, KEY)
    content = sealed.read_bytes()
    opened = tmp_path / "opened"
    backup_crypto.decrypt_file(sealed, opened, KEY)
    assert opened.read_bytes() == plain.read_bytes()

    cut = tmp_path / "cut"
    cut.write_bytes(content[: len(content) - 100])
    with pytest.raises(CryptoError) as damaged:
        backup_crypto.decrypt_file(cut, opened, KEY)
    assert damaged.value.code == "damaged"
    flipped = bytearray(content)
    flipped[len(content) // 2] ^= 1
    cut.write_bytes(bytes(flipped))
    with pytest.raises(CryptoError) as tampered:
        backup_crypto.decrypt_file(cut, opened, KEY)
    assert tampered.value.code == "damaged"
    with pytest.raises(CryptoError) as no_key:
        backup_crypto.fernet(None)
    assert no_key.value.code == "no_key"


# --- never over data ------------------------------------------------------------------


async def test_a_restore_into_a_database_that_has_data_is_refused_and_changes_nothing(
    source: tuple[str, Database], new_url: MakeUrl, tmp_path: Path
) -> None:
    url, db = source
    output = tmp_path / "copy.bak"
    await backup.backup(url, output, key=None, encrypt=False, now=T0)
    await wallet.add_credit(
        db, telegram_id=1001, amount=555, tx_type=TxType.PURCHASE, actor="cli",
        key="after-backup", now=T0,
    )  # fmt: skip
    before, keys = await _counts(url), await _keys(url)
    with pytest.raises(BackupError) as refused:
        await backup.restore(output, url, key=None)
    assert refused.value.code == "not_empty" and "restore only into an empty database" in str(
        refused.value
    )
    assert await _counts(url) == before and await _keys(url) == keys

    migrated = await new_url()
    engine = create_engine(migrated)
    await upgrade_schema(engine)  # tables but no data yet: still not an empty database
    await engine.dispose()
    with pytest.raises(BackupError, match="not empty"):
        await backup.restore(output, migrated, key=None)


async def test_a_backup_is_never_written_over_an_existing_file(
    source: tuple[str, Database], tmp_path: Path
) -> None:
    url, _ = source
    (tmp_path / "out").mkdir()
    output = tmp_path / "out" / "taken.bak"
    output.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="already exists"):
        await backup.backup(url, output, key=None, encrypt=False, now=T0)
    assert output.read_bytes() == b"keep me"
    assert list((tmp_path / "out").iterdir()) == [output]  # no part left behind


# --- the CLI -----------------------------------------------------------------------------------


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    for name in ("TELEGRAM_BOT_TOKEN", "SECRET_KEY", "BACKUP_CHAT_ID", "BACKUP_INTERVAL_HOURS"):
        monkeypatch.delenv(name, raising=False)

    def _run(*argv: str, **env: str) -> tuple[int, str, str]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return _run


async def test_the_backup_and_restore_commands_print_one_line_and_the_audit(
    source: tuple[str, Database], new_url: MakeUrl, tmp_path: Path, run
) -> None:
    url, _ = source
    folder = tmp_path / "kept"
    target, other = await new_url(), await new_url()

    def commands() -> None:
        code, out, err = run("backup", DATABASE_URL=url, SECRET_KEY=KEY, BACKUP_DIR=str(folder))
        assert code == 0, err
        [made] = list(folder.iterdir())
        assert made.name.startswith("bot-") and made.name.endswith(".enc")
        assert f"Backup written: {made} (" in out and "encrypted with SECRET_KEY" in out
        assert made.read_bytes().startswith(backup_crypto.MAGIC)

        plain = tmp_path / "plain.bak"
        code, out, _ = run("backup", "--no-encrypt", "--output", str(plain))
        assert code == 0 and "not encrypted" in out and plain.is_file()
        code, out, err = run("backup", "--output", str(plain))
        assert (code, out) == (
            1,
            "",
        ) and err == f"error: {plain} already exists; choose another --output\n"

        code, out, err = run("restore", str(made), DATABASE_URL=target, SECRET_KEY="")
        assert code == 1 and out == "" and err.startswith("error: this backup is encrypted")
        code, out, err = run("restore", str(made), DATABASE_URL=target, SECRET_KEY=KEY)
        assert code == 0, err
        assert out.splitlines()[-1] == "Ledger audit OK: 6 accounts, 2 transfers."
        code, out, err = run("restore", str(made))
        assert code == 1 and out == "" and "is not empty" in err and err.count("\n") == 1
        code, out, _ = run("audit")
        assert code == 0 and "Ledger audit OK" in out

        code, out, err = run("restore", str(plain), DATABASE_URL=other, SECRET_KEY="")
        assert code == 0 and "Ledger audit OK" in out, err
        code, _, err = run("restore", str(tmp_path / "nothing.bak"))
        assert code == 1 and err == f"error: there is no file {tmp_path / 'nothing.bak'}\n"

    await asyncio.to_thread(commands)
    assert await _keys(target) == await _keys(url) == await _keys(other)


def test_a_postgresql_backup_without_pg_dump_says_what_to_install(
    tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no client tools at all
    url = make_url(PG_URL).set(database="any").render_as_string(hide_password=False)
    code, out, err = run("backup", "--output", str(tmp_path / "x.bak"), DATABASE_URL=url)
    assert code == 1 and out == ""
    assert err.startswith("error: pg_dump is not on PATH: install the PostgreSQL client tools")
    assert not (tmp_path / "x.bak").exists()


async def test_a_backup_restores_only_into_the_kind_of_database_it_came_from(
    tmp_path: Path,
) -> None:
    dump = tmp_path / "prod.pgdump"
    dump.write_bytes(b"PGDMP" + bytes(100))
    target = tmp_path / "new" / "bot.db"
    with pytest.raises(BackupError) as refused:
        await backup.restore(dump, f"sqlite+aiosqlite:///{target}", key=None)
    assert str(refused.value) == (
        "this is a PostgreSQL backup; restore it with a PostgreSQL DATABASE_URL"
    )
    assert await _tables(f"sqlite+aiosqlite:///{target}") == 0
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(BackupError, match="not a backup"):
        await backup.restore(tmp_path / "notes.txt", f"sqlite+aiosqlite:///{target}", key=None)


# --- settings ----------------------------------------------------------------------------


def test_the_backup_settings_go_together_and_need_the_key() -> None:
    def settings(**values: Any) -> Settings:
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    with pytest.raises(ValidationError, match="BACKUP_CHAT_ID and BACKUP_INTERVAL_HOURS"):
        settings(backup_chat_id=-100, secret_key=KEY)
    with pytest.raises(ValidationError, match="needs SECRET_KEY"):
        settings(backup_chat_id=-100, backup_interval_hours=6)
    with pytest.raises(ValidationError):
        settings(backup_keep=0)
    # As the environment gives them: text, and blank for unset.
    chosen = settings(
        backup_chat_id="-100", backup_interval_hours="6", secret_key=KEY, backup_keep="3",
        backup_dir="",
    )  # fmt: skip
    assert (chosen.backup_chat_id, chosen.backup_interval_hours, chosen.backup_keep) == (-100, 6, 3)
    assert chosen.backup_dir is None


# --- the scheduled job ----------------------------------------------------------------------


async def test_the_job_sends_one_encrypted_backup_per_interval_and_keeps_the_last_ones(
    source: tuple[str, Database], new_url: MakeUrl, fake_api: FakeBotAPI, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    url, db = source
    fake_api.user(OPERATOR, "Operator")
    folder = tmp_path / "auto"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=SecretStr(fake_api.token), telegram_api_base_url=fake_api.url,
        database_url=url, secret_key=SecretStr(KEY), jobs_enabled=False,
        backup_chat_id=OPERATOR, backup_interval_hours=6, backup_keep=2, backup_dir=folder,
    )  # fmt: skip

    async def at(moment: dt.datetime) -> bool:
        async with running_bot(settings, db) as app:  # a restart before every run
            made = await backup_job.run_backup(app.bot, db, settings, moment, app.bot_data["i18n"])
        return made is not None

    def documents() -> list[dict[str, object]]:
        return [e.message for e in fake_api.events(OPERATOR) if e.method == "sendDocument"]

    assert await at(T0)
    [first] = documents()
    name = "auto-20310310T120000Z." + ("sqlite3" if url.startswith("sqlite") else "pgdump")
    document = first["document"]
    assert isinstance(document, dict) and document["file_name"] == name + ".enc"
    caption = str(first["caption"])
    assert caption.startswith(f"Database backup <code>{name}.enc</code> (")
    assert "<code>python -m bot restore FILE</code>" in caption
    assert "2031-03-10 12:00 UTC" in caption

    assert not await at(T0 + dt.timedelta(hours=1))
    assert not await at(T0 + dt.timedelta(hours=5, minutes=59))
    assert len(documents()) == 1

    fake_api.fail("sendDocument", 500, "Internal Server Error", chat_id=OPERATOR)
    with caplog.at_level(logging.ERROR, logger="jobs.backups"):
        assert not await at(T0 + dt.timedelta(hours=6))
    assert any("could not be sent" in r.message for r in caplog.records)
    assert len(documents()) == 1
    assert await at(T0 + dt.timedelta(hours=6, minutes=10))
    assert not await at(T0 + dt.timedelta(hours=12))
    assert await at(T0 + dt.timedelta(hours=12, minutes=10))
    assert len(documents()) == 3

    kept = sorted(p.name for p in folder.iterdir())
    assert kept == [
        f"auto-20310310T181000Z.{name.split('.')[1]}.enc",
        f"auto-20310311T001000Z.{name.split('.')[1]}.enc",
    ]
    sent = await backup_schedule.history(db, OPERATOR)
    assert [s.at for s in sent] == [
        T0,
        T0 + dt.timedelta(hours=6, minutes=10),
        T0 + dt.timedelta(hours=12, minutes=10),
    ]
    assert [s.message_id for s in sent] == [int(str(m["message_id"])) for m in documents()]

    # What reached the chat is the database: it restores with the key, and only with it.
    uploaded = tmp_path / "from-telegram.enc"
    uploaded.write_bytes(fake_api.file_content(str(document["file_id"])))
    target = await new_url()
    with pytest.raises(CryptoError):
        await backup.restore(uploaded, target, key=None)
    restored = await backup.restore(uploaded, target, key=KEY)
    assert restored.audit.ok and await _keys(target) == await _keys(url)


async def test_the_job_is_scheduled_only_when_a_backup_chat_is_set(
    settings: Settings, db: Database
) -> None:
    enabled = settings.model_copy(update={"jobs_enabled": True})
    async with running_bot(enabled, db) as app:
        assert app.job_queue is not None and not app.job_queue.get_jobs_by_name("backup")
    chosen = enabled.model_copy(
        update={
            "backup_chat_id": OPERATOR,
            "backup_interval_hours": 6.0,
            "secret_key": SecretStr(KEY),
        }
    )
    async with running_bot(chosen, db) as app:
        assert app.job_queue is not None
        [job] = app.job_queue.get_jobs_by_name("backup")
        assert job.job.trigger.interval == dt.timedelta(seconds=backup_job.CHECK_SECONDS)


def test_only_the_scheduled_files_beyond_the_last_n_are_deleted(tmp_path: Path) -> None:
    names = [
        "auto-20310101T000000Z.sqlite3.enc", "auto-20310102T000000Z.pgdump.enc",
        "auto-20310103T000000Z.sqlite3.enc", "bot-20300101T000000Z.sqlite3",
        "auto-notes.txt", "auto-20310104T000000Z.sqlite3.enc",
    ]  # fmt: skip
    for name in names:
        (tmp_path / name).write_text("x")
    deleted = backup.prune("auto", tmp_path, 2)
    assert [p.name for p in deleted] == names[:2]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
    assert json.dumps(backup.prune("auto", tmp_path / "missing", 2)) == "[]"


async def test_a_backup_the_job_cannot_make_is_logged_and_tried_again_at_the_next_check(
    source: tuple[str, Database], fake_api: FakeBotAPI, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    url, db = source
    fake_api.user(OPERATOR, "Operator")
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("x")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=SecretStr(fake_api.token), telegram_api_base_url=fake_api.url,
        database_url=url, secret_key=SecretStr(KEY), jobs_enabled=False,
        backup_chat_id=OPERATOR, backup_interval_hours=1, backup_dir=blocked,
    )  # fmt: skip
    async with running_bot(settings, db) as app:
        with caplog.at_level(logging.ERROR, logger="jobs.backups"):
            made = await backup_job.run_backup(app.bot, db, settings, T0, app.bot_data["i18n"])
        assert made is None
        assert any("could not be made" in r.message for r in caplog.records)
        assert fake_api.events(OPERATOR) == [] and await backup_schedule.history(db, OPERATOR) == []
        fixed = settings.model_copy(update={"backup_dir": tmp_path / "ok"})
        later = T0 + dt.timedelta(minutes=10)
        made = await backup_job.run_backup(app.bot, db, fixed, later, app.bot_data["i18n"])
    assert made is not None and made.path.parent == tmp_path / "ok"
    assert [e.method for e in fake_api.events(OPERATOR)] == ["sendDocument"]
