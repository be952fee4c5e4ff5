"""The panel contract, part two: failures, where the adapter must say the outcome is
unknown (``PanelUnavailable``) or refused (``PanelRejected``), and secrets kept out of
logs and errors.

See ``tests/panels/contract.py`` for what a harness must provide.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from bot.adapters.panels.base import (
    NewUser,
    PanelAdapter,
    PanelConfig,
    PanelRejected,
    PanelUnavailable,
    PanelUser,
)
from tests.panels.contract import (
    EVERY_REQUEST,
    HANG_SECONDS,
    QUICK_SECONDS,
    Rig,
    open_rig,
    registered,
)
from tests.panels.harness import PanelHarness

SECRET_KEY_PARTS = ("pass", "token", "key", "secret")


@pytest.fixture(params=registered())
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with open_rig(str(request.param)) as opened:
        yield opened


Operation = Callable[[PanelAdapter, NewUser, PanelUser], Awaitable[object]]


async def _list_all(adapter: PanelAdapter) -> list[PanelUser]:
    return [user async for user in adapter.list_users()]


def _later(user: NewUser) -> dt.datetime:
    return user.expires_at + dt.timedelta(days=30)


OPERATIONS: dict[str, Operation] = {
    "create": lambda adapter, fresh, made: adapter.create(fresh),
    "extend": lambda adapter, fresh, made: adapter.extend(
        made.external_id, expires_at=_later(fresh)
    ),
    "suspend": lambda adapter, fresh, made: adapter.suspend(made.external_id),
    "resume": lambda adapter, fresh, made: adapter.resume(made.external_id),
    "delete": lambda adapter, fresh, made: adapter.delete(made.external_id),
    "get": lambda adapter, fresh, made: adapter.get(made.external_id),
    "find": lambda adapter, fresh, made: adapter.find(made.username),
    "list": lambda adapter, fresh, made: _list_all(adapter),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_raises_panel_unavailable(
    rig: Rig, operation: str, status: int
) -> None:
    fresh, made = await rig.prepared()
    rig.fake.fail_next(status, times=EVERY_REQUEST)

    with pytest.raises(PanelUnavailable):
        await OPERATIONS[operation](rig.adapter, fresh, made)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_a_body_that_is_not_the_panels_json_raises_panel_unavailable(
    rig: Rig, operation: str
) -> None:
    fresh, made = await rig.prepared()
    rig.fake.garbage_next(times=EVERY_REQUEST)

    with pytest.raises(PanelUnavailable):
        await OPERATIONS[operation](rig.adapter, fresh, made)


@pytest.mark.parametrize("operation", ["create", "extend", "get", "list"])
async def test_a_panel_that_does_not_answer_raises_panel_unavailable_quickly(
    rig: Rig, operation: str
) -> None:
    fresh, made = await rig.prepared()
    rig.fake.hang_next(HANG_SECONDS, times=EVERY_REQUEST)

    started = time.monotonic()
    with pytest.raises(PanelUnavailable):
        await OPERATIONS[operation](rig.adapter, fresh, made)
    assert time.monotonic() - started < QUICK_SECONDS


async def test_a_create_whose_answer_was_lost_is_completed_by_repeating_it(rig: Rig) -> None:
    fresh, _ = await rig.prepared()
    rig.fake.hang_next(HANG_SECONDS, times=1)

    # PanelUnavailable is the expected outcome; a read the adapter retried may absorb it.
    with contextlib.suppress(PanelUnavailable):
        await rig.adapter.create(fresh)

    again = await rig.adapter.create(fresh)

    assert again.username == fresh.username
    assert again.reference == fresh.reference
    assert rig.fake.stored(fresh.username) is not None


async def test_a_read_that_times_out_once_is_retried_or_reported_unavailable(rig: Rig) -> None:
    _, made = await rig.prepared()
    rig.fake.hang_next(HANG_SECONDS, times=1)

    started = time.monotonic()
    try:
        got = await rig.adapter.get(made.external_id)
    except PanelUnavailable:
        got = None
    assert time.monotonic() - started < QUICK_SECONDS
    assert got is None or got.username == made.username

    # The panel answers again, and so does the adapter.
    again = await rig.adapter.get(made.external_id)
    assert again is not None and again.username == made.username


async def test_a_request_the_panel_refuses_raises_panel_rejected_not_unavailable(
    rig: Rig,
) -> None:
    fresh, _ = await rig.prepared()
    rig.fake.fail_next(400, times=EVERY_REQUEST)

    with pytest.raises(PanelRejected):
        await rig.adapter.create(fresh)


# --- secrets ------------------------------------------------------------------------


def _secrets(adapter: PanelAdapter) -> list[str]:
    configs = [value for value in vars(adapter).values() if isinstance(value, PanelConfig)]
    if not configs:
        pytest.fail("the adapter keeps its PanelConfig in an attribute; none was found")
    secrets = [
        value
        for key, value in configs[0].credentials.items()
        if any(part in key.lower() for part in SECRET_KEY_PARTS)
    ]
    if not secrets or any(len(value) < 6 for value in secrets):
        pytest.fail("the harness gives its adapter distinctive secrets (6+ characters)")
    return secrets


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


DISTURBANCES: dict[str, Callable[[PanelHarness], None]] = {
    "none": lambda fake: None,
    "server error": lambda fake: fake.fail_next(500, times=EVERY_REQUEST),
    "garbage": lambda fake: fake.garbage_next(times=EVERY_REQUEST),
    "refusal": lambda fake: fake.fail_next(400, times=EVERY_REQUEST),
}


@pytest.mark.parametrize("disturbance", sorted(DISTURBANCES))
async def test_no_secret_reaches_a_log_record_or_an_exception_message(
    rig: Rig, caplog: pytest.LogCaptureFixture, disturbance: str
) -> None:
    secrets = _secrets(rig.adapter)
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []

    fresh, made = await rig.prepared()
    rig.fake.expire_auth()
    await rig.adapter.get(made.external_id)
    DISTURBANCES[disturbance](rig.fake)
    try:
        await rig.adapter.create(fresh)
    except Exception as error:
        messages.extend(f"{link!s} {link!r}" for link in _chain(error))

    messages.extend(record.getMessage() for record in caplog.records)
    assert messages, "no log record or exception message was produced to check"
    for secret in secrets:
        leaked = [message for message in messages if secret in message]
        assert not leaked, f"a secret appears in: {leaked[0][:200]}"
