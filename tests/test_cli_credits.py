"""``python -m bot credit add / remove`` follow the chat's rules: the reseller is told, the
most that can be removed is said, a repeated key moves and tells nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import Database
from models import AdminAction, OutboxMessage
from tests.test_cli import _on_database, run  # noqa: F401  (the CLI in process)


def _rows(url: str) -> tuple[list[tuple[str, int]], list[tuple[str, str, str | None]]]:
    async def _read(session):  # type: ignore[no-untyped-def]
        told = (
            await session.execute(
                select(OutboxMessage.kind, OutboxMessage.chat_id).order_by(OutboxMessage.id)
            )
        ).all()
        logged = (
            await session.execute(
                select(AdminAction.actor, AdminAction.action, AdminAction.reason)
                .where(AdminAction.action.like("credit_%"))
                .order_by(AdminAction.id)
            )
        ).all()
        return [tuple(t) for t in told], [tuple(a) for a in logged]

    return _on_database(url, _read)  # type: ignore[no-any-return]


def test_the_cli_tells_the_reseller_and_refuses_removing_more_than_allowed(
    run,  # noqa: F811  (the fixture imported above)
    db: Database,
    database_url: str,
) -> None:
    assert run("reseller", "add", "--telegram-id", "111", "--name", "Alice")[0] == 0
    code, out, _ = run("credit", "add", "--reseller", "111", "--amount", "100.50",
                       "--type", "purchase", "--comment", "bank transfer")  # fmt: skip
    assert code == 0 and "Balance 100.50 credits" in out
    code, _, err = run("credit", "remove", "--reseller", "111", "--amount", "100.51",
                       "--type", "adjustment")  # fmt: skip
    assert code == 1 and "100.50 credits can be taken" in err
    for _ in range(2):  # the same key twice: one movement, one notice
        code, out, _ = run("credit", "remove", "--reseller", "111", "--amount", "20",
                           "--type", "adjustment", "--key", "fix-1")  # fmt: skip
        assert code == 0 and "Balance 80.50 credits" in out
    told, logged = _rows(database_url)
    assert told[-2:] == [("credit_added", 111), ("credit_removed", 111)]
    assert len([kind for kind, _ in told if kind.startswith("credit_")]) == 2
    assert logged == [("cli", "credit_added", "bank transfer"), ("cli", "credit_removed", None)]
