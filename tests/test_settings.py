"""Settings: .env.example works as it stands, and bad values are named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import DEFAULT_DATABASE_URL, Settings

EXAMPLE = Path(__file__).parent.parent / ".env.example"


def test_env_example_copied_as_is_with_a_token_loads(tmp_path: Path, monkeypatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    env = tmp_path / ".env"
    env.write_text(
        EXAMPLE.read_text().replace("TELEGRAM_BOT_TOKEN=\n", "TELEGRAM_BOT_TOKEN=1:abc\n")
    )
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    assert settings.telegram_bot_token is not None
    assert settings.telegram_api_base_url is None and settings.admin_chat_id is None
    assert settings.admin_ids == frozenset()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.reminder_offsets_days == (7, 3, 1, 0)
    assert settings.digest_time == dt.time(9, 0)
    assert settings.topup_min_credits == 1_000


def test_every_setting_is_documented_in_env_example() -> None:
    documented = {
        line.split("=", 1)[0] for line in EXAMPLE.read_text().splitlines() if "=" in line
        and not line.startswith("#")
    }  # fmt: skip
    assert {name.upper() for name in Settings.model_fields} == documented


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("admin_ids", "1,two"),
        ("timezone", "Mars/Base"),
        ("log_level", "LOUD"),
        ("reminder_offsets_days", "7,99"),
        ("topup_min_credits", "-5"),
        ("provisioning_provider", "nope"),
        ("digest_time", "25:00"),
    ],
)
def test_bad_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **{field: value})  # type: ignore[call-arg,arg-type]


def test_admin_ids_and_base_url_are_normalised() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        admin_ids="1, 2,3",  # type: ignore[arg-type]
        telegram_api_base_url="http://127.0.0.1:8081/",
    )
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.telegram_api_base_url == "http://127.0.0.1:8081"
