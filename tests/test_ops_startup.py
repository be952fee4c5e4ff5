"""What the bot loads at start-up: memory goes to what the process uses.

Alembic (about 12 MB) is loaded only to migrate, openpyxl only for an XLSX export,
qrcode and Pillow only for a QR code, the health server only with HEALTH_PORT, and the
database driver and SQLAlchemy dialect only of the database in use. Babel's locale data
(about 9 MB for the five languages) is read only to name months and days.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from bot.db import alembic_config, head_revisions


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return set(done.stdout.split())


def _loaded_after(code: str) -> set[str]:
    """The top-level packages loaded after running ``code`` in a new interpreter."""
    return {name.split(".")[0] for name in _modules_after(code)}


def test_the_newest_migration_read_from_the_files_is_alembics() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert head_revisions() == frozenset(heads)


def test_building_the_bot_loads_no_exporter_no_qr_code_and_no_alembic() -> None:
    loaded = _loaded_after("import bot.app")
    assert not loaded & {"openpyxl", "qrcode", "PIL", "alembic", "mako"}


def test_building_the_bot_loads_no_database_driver_nor_dialect_before_it_connects() -> None:
    loaded = _modules_after("import bot.app")
    assert not loaded & {"sqlite3", "aiosqlite", "asyncpg"}
    assert not {name for name in loaded if name.startswith("sqlalchemy.dialects.")}


def test_a_bot_on_sqlite_never_loads_postgresqls_dialect(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    # Alembic loads every dialect: the database is migrated first, as by `db upgrade`.
    _modules_after(f"import asyncio\nfrom bot.db import create_engine, upgrade_schema\n"
                   f"asyncio.run(upgrade_schema(create_engine({url!r})))")  # fmt: skip
    work = (  # the bot, then the two services that write with an upsert of their dialect
        "import asyncio, datetime as dt\n"
        "import bot.app\n"
        "from bot.db import Database, upgrade_schema\n"
        "from bot.services import job_runs, languages\n"
        "async def main():\n"
        f"    db = Database.from_url({url!r})\n"
        "    await upgrade_schema(db.engine)\n"
        "    now = dt.datetime.now(dt.UTC)\n"
        "    assert await languages.remember(db, 7, 'fa', now) == 'fa'\n"
        "    async with db.transaction() as session:\n"
        "        assert await job_runs.record(session, 'job', 'today', now)\n"
        "    await db.dispose()\n"
        "asyncio.run(main())\n"
    )
    loaded = _modules_after(work)
    assert "sqlalchemy.dialects.sqlite" in loaded and "alembic" not in loaded
    assert not {name for name in loaded if name.startswith("sqlalchemy.dialects.postgresql")}
    assert "asyncpg" not in loaded


def test_the_health_server_reads_the_newest_migration_without_alembic() -> None:
    loaded = _loaded_after("import bot.health\nbot.health.Probes(None, None, None)")
    assert not loaded & {"alembic", "mako"}


def test_the_catalogs_and_every_languages_numbers_read_no_locale_data() -> None:
    """Month and day names alone need Babel's locale data, and then for their language."""
    probe = (
        "import babel.localedata\n"
        "from datetime import UTC, datetime\n"
        "from decimal import Decimal\n"
        "from zoneinfo import ZoneInfo\n"
        "from bot import i18n\n"
        "catalogs = i18n.load()\n"
        "for language in i18n.LANGUAGES:\n"
        "    t = catalogs.get(language)\n"
        "    t.amount(-1234567, 'credits'), t.number(12345), t.decimal(Decimal('2.5'))\n"
        "    t.date(datetime.now(UTC), ZoneInfo('Asia/Tehran'))\n"
        "assert babel.localedata._cache == {}, list(babel.localedata._cache)\n"
        "catalogs.get('fa').locale.months\n"
        "assert set(babel.localedata._cache) == {'root', 'fa'}, list(babel.localedata._cache)\n"
    )
    subprocess.run([sys.executable, "-c", probe], timeout=120, check=True)


def test_a_database_at_the_newest_migration_is_started_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    start = (
        "import asyncio\n"
        "from bot.db import create_engine, upgrade_schema\n"
        f"engine = create_engine({url!r})\n"
        "asyncio.run(upgrade_schema(engine))\n"
    )
    assert "alembic" in _loaded_after(start)  # a new database is migrated
    assert "alembic" not in _loaded_after(start)  # then it is at head: nothing to load
