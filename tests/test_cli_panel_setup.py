"""Setting panels and panel plans up from the shell, on both databases: bad input is one
``error:`` line and a non-zero exit, and nothing is written."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot import cli
from bot.db import Database
from models import Panel, Plan
from tests.conftest import database_from_url

KEY = Fernet.generate_key().decode()
CREDENTIALS = {"PANEL_USERNAME": "admin", "PANEL_PASSWORD": "s3cret-pass"}
# A port nothing listens on (1 is reserved): the connection is refused at once.
DEAD_URL = "http://127.0.0.1:1"
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Run]:
    """The CLI in process; ``env`` sets (or, with None, removes) variables for one call."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", KEY)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    for name in ("PANEL_USERNAME", "PANEL_PASSWORD", "PANEL_API_KEY", "PANEL_TOKEN",
                 "PANEL_SECRET"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    # No terminal: a credential missing from the environment cannot be asked for.
    monkeypatch.setattr("sys.stdin", io.StringIO())
    monkeypatch.setattr("bot.db.Database.from_url", staticmethod(database_from_url))

    def _run(*argv: str, env: Mapping[str, str | None] | None = None) -> tuple[int, str, str]:
        with monkeypatch.context() as scoped:
            for name, value in (env or {}).items():
                if value is None:
                    scoped.delenv(name, raising=False)
                else:
                    scoped.setenv(name, value)
            try:
                code = cli.main(list(argv))
            except SystemExit as exc:  # argparse errors
                code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    yield _run


def _rows(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every panel and plan row, as stored (credentials too): what must not change."""

    async def _read() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        db = database_from_url(url)
        try:
            async with db.transaction() as session:
                found = await session.execute(
                    select(Panel.name, Panel.kind, Panel.base_url, Panel.credentials,
                           Panel.options, Panel.enabled).order_by(Panel.id)
                )  # fmt: skip
                panels = [tuple(r) for r in found]
                found = await session.execute(
                    select(Plan.code, Plan.panel_id, Plan.template, Plan.data_limit_bytes,
                           Plan.reset_traffic_on_renewal, Plan.active).order_by(Plan.id)
                )  # fmt: skip
                return panels, [tuple(r) for r in found]
        finally:
            await db.dispose()

    return asyncio.run(_read())


def _setup(run: Run) -> None:
    """Panel de-1 (enabled) and off-1 (disabled), and plan vpn-1m on de-1."""
    for name in ("de-1", "off-1"):
        code, out, err = run("panel", "add", "--name", name, "--kind", "marzban",
                             "--url", DEAD_URL, env=CREDENTIALS)  # fmt: skip
        assert code == 0 and f"Panel {name} added" in out, err
    assert run("panel", "disable", "--name", "off-1")[0] == 0
    code, out, err = run("plan", "add", "--code", "vpn-1m", "--name", "VPN", "--days", "30",
                         "--price", "10", "--panel", "de-1", "--template",
                         '{"inbounds": {"vless": ["VLESS TCP"]}}', "--data-limit-gb", "50",
                         "--reset-traffic")  # fmt: skip
    assert code == 0 and "on panel de-1, 50 GB, traffic reset on renewal" in out, err


def _panel_add(
    *extra: str, kind: str = "marzban", url: str = "https://panel.example"
) -> tuple[str, ...]:
    return ("panel", "add", "--name", "new-1", "--kind", kind, "--url", url, *extra)


def _plan_add(*extra: str) -> tuple[str, ...]:
    return ("plan", "add", "--code", "p2", "--name", "P", "--days", "30", "--price", "5", *extra)


WRONG_KEY = Fernet.generate_key().decode()
Env = dict[str, str | None]


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        # panel add
        (_panel_add(kind="marzbun"), CREDENTIALS, "invalid choice: 'marzbun'"),
        (_panel_add(url="ftp://panel.example"), CREDENTIALS, "must be http(s)://host"),
        (_panel_add(url="panel.example"), CREDENTIALS, "must be http(s)://host"),
        (_panel_add(url="https://admin:pw@panel.example"), CREDENTIALS, "no credentials or query"),
        (_panel_add(url="https://panel.example/?key=1"), CREDENTIALS, "no credentials or query"),
        (_panel_add(url="https://" + "a" * 250 + ".example"), CREDENTIALS, "255 at most"),
        (_panel_add(), {}, "set PANEL_USERNAME + PANEL_PASSWORD in the environment"),
        (
            _panel_add(),
            {"PANEL_USERNAME": "admin"},
            "set PANEL_USERNAME + PANEL_PASSWORD in the environment for a marzban panel",
        ),
        (
            _panel_add(kind="remnawave"),
            CREDENTIALS,
            "set PANEL_TOKEN in the environment for a remnawave panel",
        ),
        (
            _panel_add(kind="pasarguard"),
            {},
            "set PANEL_API_KEY or PANEL_USERNAME + PANEL_PASSWORD",
        ),
        (_panel_add(), {**CREDENTIALS, "SECRET_KEY": None}, "SECRET_KEY is not set"),
        (
            _panel_add(),
            {**CREDENTIALS, "SECRET_KEY": "not-a-key"},
            "SECRET_KEY: Value error, not a Fernet key",
        ),
        (
            ("panel", "add", "--name", "De 1!", "--kind", "marzban", "--url", "https://p.example"),
            CREDENTIALS,
            "a panel name is 1 to 32 lowercase letters",
        ),
        (
            ("panel", "add", "--name", "de-1", "--kind", "marzban", "--url", "https://p.example"),
            CREDENTIALS,
            "a panel named 'de-1' already exists",
        ),
        (_panel_add("--option", "page_size"), CREDENTIALS, "use KEY=VALUE"),
        (
            _panel_add(kind="xui-one"),
            {"PANEL_API_KEY": "k" * 16},
            "XUI.one needs options['access_code']",
        ),
        # panel test
        (("panel", "test", "--name", "nope"), {}, "no panel named 'nope'"),
        (("panel", "test", "--name", "de-1"), {"SECRET_KEY": WRONG_KEY}, "not the key"),
        (("panel", "test", "--name", "de-1"), {}, "the panel did not do it"),
        # panel disable
        (("panel", "disable", "--name", "nope"), {}, "no panel named 'nope'"),
        # plan add on a panel
        (_plan_add("--panel", "nope"), {}, "no panel named 'nope'"),
        (_plan_add("--panel", "off-1"), {}, "panel off-1 is disabled"),
        (_plan_add("--panel", "de-1", "--template", "{bad"), {}, "not JSON"),
        (_plan_add("--panel", "de-1", "--template", "[1, 2]"), {}, "a template is a JSON object"),
        (_plan_add("--template", '{"group_ids": [1]}'), {}, "needs a panel (--panel)"),
        (_plan_add("--data-limit-gb", "50"), {}, "needs a panel (--panel)"),
        (_plan_add("--reset-traffic"), {}, "needs a panel (--panel)"),
        (_plan_add("--panel", "de-1", "--data-limit-gb", "-1"), {}, "above 0 and at most"),
        (_plan_add("--panel", "de-1", "--data-limit-gb", "0"), {}, "above 0 and at most"),
        (_plan_add("--panel", "de-1", "--data-limit-gb", "1000001"), {}, "at most 1000000"),
        (_plan_add("--panel", "de-1", "--data-limit-gb", "1e300"), {}, "at most 1000000"),
        (_plan_add("--panel", "de-1", "--data-limit-gb", "nan"), {}, "above 0 and at most"),
        (_plan_add("--panel", "de-1", "--data-limit-gb", "lots"), {}, "a number of gigabytes"),
    ],
)
def test_bad_panel_setup_is_one_error_line_and_writes_nothing(
    run: Run, db: Database, database_url: str, argv: tuple[str, ...], env: Env, message: str
) -> None:
    _setup(run)
    before = _rows(database_url)
    code, out, err = run(*argv, env=env)
    assert code != 0
    assert message in err
    assert err.count("error:") == 1 and "Traceback" not in err
    assert out == ""
    assert _rows(database_url) == before


def test_credentials_come_from_the_environment_and_are_never_printed(
    run: Run, db: Database, database_url: str
) -> None:
    code, out, err = run(*_panel_add(), env=CREDENTIALS)
    assert code == 0 and "Panel new-1 added: marzban at https://panel.example" in out
    code, listed, _ = run("panel", "list")
    assert code == 0 and "new-1\tmarzban\thttps://panel.example\tenabled" in listed
    [panel], _ = _rows(database_url)
    for shown in (out, err, listed, json.dumps(panel)):
        assert "s3cret-pass" not in shown
