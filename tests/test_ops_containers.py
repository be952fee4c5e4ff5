"""The container files are consistent: compose.yaml parses and wires the bot to a
healthy PostgreSQL; the Dockerfile runs unprivileged, probes /healthz and migrates first.

(`docker compose config` is the full check, where Docker's compose plugin is installed.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parent.parent


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_compose_runs_the_bot_after_a_healthy_postgresql_with_a_volume() -> None:
    compose = _compose()
    db, bot = compose["services"]["db"], compose["services"]["bot"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
    assert bot["build"] == "."
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert bot["env_file"] == ".env"
    url = bot["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://bot:") and url.endswith("@db:5432/bot")
    assert bot["environment"]["HEALTH_PORT"] == "9090"


def test_the_image_is_slim_unprivileged_probed_and_migrates_before_it_starts() -> None:
    steps = _instructions()
    kinds = [kind for kind, _ in steps]
    assert steps[0][0] == "FROM" and re.fullmatch(r"python:3\.1[1-9]-slim", steps[0][1])
    user = steps[kinds.index("USER")][1]
    assert user not in {"root", "0"}
    # The user is set before anything runs the bot.
    assert kinds.index("USER") < kinds.index("HEALTHCHECK") < kinds.index("CMD")
    healthcheck = steps[kinds.index("HEALTHCHECK")][1]
    assert "/healthz" in healthcheck and "HEALTH_PORT" in healthcheck
    command = steps[kinds.index("CMD")][1]
    assert command.index("python -m bot db upgrade") < command.index("exec python -m bot")
    for kind, argument in steps:
        if kind == "COPY":
            *sources, _target = argument.split()
            assert all((ROOT / source).exists() for source in sources), argument


def test_secrets_and_local_state_stay_out_of_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", "data", ".git"} <= ignored
