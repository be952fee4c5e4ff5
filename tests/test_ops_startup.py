"""What the bot loads at start-up: memory goes to what the process uses.

Alembic (about 12 MB) is loaded only to migrate, openpyxl only for an XLSX export,
qrcode and Pillow only for a QR code, the health server only with HEALTH_PORT.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from bot.db import alembic_config, head_revisions


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return set(done.stdout.split())


def test_the_newest_migration_read_from_the_files_is_alembics() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert head_revisions() == frozenset(heads)


def test_building_the_bot_loads_no_exporter_no_qr_code_and_no_alembic() -> None:
    loaded = _loaded_after("import bot.app")
    assert not loaded & {"openpyxl", "qrcode", "PIL", "alembic", "mako"}


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
