"""The 3x-ui adapter's sessions and retries against the fake panel.

Cookie login with the CSRF token (or without, on older panels), the empty 404 of a lost
session answered by one login, the static API token, and which calls are tried again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.adapters.panels.base import PanelAuthFailed, PanelUnavailable, UserState
from bot.adapters.panels.xui import XuiAdapter
from tests.panels.fake_xui import API
from tests.panels.xui_harness import Open, new_user, panel_session, put, xui_panels


@pytest.fixture
async def open_panel() -> AsyncIterator[Open]:
    async with xui_panels() as opener:
        yield opener


# --- sessions -----------------------------------------------------------------------


async def test_the_fake_panel_answers_an_unauthenticated_call_with_an_empty_404(
    open_panel: Open,
) -> None:
    panel, _ = await open_panel()
    url = f"{panel.fake.url}{API}/get/anyone"

    async with httpx.AsyncClient() as anonymous:
        plain = await anonymous.get(url)
        xhr = await anonymous.get(url, headers={"X-Requested-With": "XMLHttpRequest"})
    session = await panel_session(panel)
    del session.headers["X-CSRF-Token"]
    no_csrf = await session.post(f"{panel.fake.url}{API}/onlines")
    await session.aclose()

    assert (plain.status_code, plain.content) == (404, b"")
    assert xhr.status_code == 401
    assert (no_csrf.status_code, no_csrf.content) == (403, b"")


async def test_the_cookie_login_carries_the_csrf_token_to_the_login_and_every_post(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel()

    await adapter.create(new_user())

    first, login = panel.fake.seen[:2]
    assert (first.method, first.path) == ("GET", "/csrf-token")
    assert (login.method, login.path) == ("POST", "/login")
    token = login.headers["X-CSRF-Token"]
    posts = [s for s in panel.fake.seen[2:] if s.method == "POST"]
    assert posts and all(s.headers.get("X-CSRF-Token") == token for s in posts)
    assert all("Authorization" not in s.headers for s in panel.fake.seen)


async def test_a_panel_without_csrf_tokens_is_logged_into_without_one(open_panel: Open) -> None:
    panel, adapter = await open_panel(csrf=False)

    made = await adapter.create(new_user())

    assert made.username == "alice" and panel.login_count() == 1
    assert all("X-CSRF-Token" not in s.headers for s in panel.fake.seen)


async def test_a_write_met_by_the_404_of_a_lost_session_is_sent_again_after_one_login(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel()
    await adapter.create(new_user("first"))
    panel.expire_auth()

    await adapter.create(new_user("second"))

    assert panel.login_count() == 2
    adds = panel.fake.calls("POST", f"{API}/add")
    assert [call.body["client"]["email"] for call in adds] == ["first", "second", "second"]
    assert set(panel.fake.clients) == {"first", "second"}


async def test_a_session_refused_right_after_a_login_raises_auth_failed_after_one_retry(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel()
    panel.fake.refuse_sessions = True

    with pytest.raises(PanelAuthFailed):
        await adapter.get("alice")

    assert panel.login_count() == 2


async def test_a_refusal_that_arrives_after_another_call_logged_in_again_does_not_log_in_twice(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel()
    put(panel, "ida")
    put(panel, "jon")
    await adapter.get("ida")
    panel.expire_auth()
    panel.hang_next(0.3)  # one call's 404 comes after the other has logged in again

    got = await asyncio.gather(adapter.get("ida"), adapter.get("jon"))

    assert [user.username for user in got if user] == ["ida", "jon"]
    assert panel.login_count() == 2


async def test_a_wrong_password_raises_panel_auth_failed(open_panel: Open) -> None:
    panel, adapter = await open_panel()
    panel.fake.password = "changed-by-admin"

    with pytest.raises(PanelAuthFailed, match="Invalid username or password"):
        await adapter.get("alice")

    assert panel.login_count() == 0


async def test_token_mode_sends_the_bearer_token_and_never_logs_in(open_panel: Open) -> None:
    panel, adapter = await open_panel(mode="token")

    await adapter.create(new_user())
    await adapter.suspend("alice")
    panel.expire_auth()  # sessions only: the token stays valid
    got = await adapter.get("alice")

    assert got is not None and got.state is UserState.DISABLED
    assert panel.login_count() == 0
    assert {s.path for s in panel.fake.seen}.isdisjoint({"/login", "/csrf-token"})
    bearer = f"Bearer {panel.fake.token}"
    assert all(s.headers.get("Authorization") == bearer for s in panel.fake.seen)


async def test_a_refused_token_raises_auth_failed_without_logging_in_or_leaking_it(
    open_panel: Open, caplog: pytest.LogCaptureFixture
) -> None:
    panel, adapter = await open_panel(mode="token")
    token = panel.fake.token
    panel.fake.token = "another-token-entirely"
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PanelAuthFailed) as raised:
        await adapter.get("alice")

    assert [s.path for s in panel.fake.seen] == [f"{API}/get/alice"]
    assert token not in str(raised.value)
    assert all(token not in record.getMessage() for record in caplog.records)


async def test_a_token_scoped_away_from_clients_raises_auth_failed_with_the_panels_reason(
    open_panel: Open,
) -> None:
    panel, _ = await open_panel(mode="token")
    config = dataclasses.replace(panel.config(), credentials={"token": panel.fake.monitor_token})
    adapter = XuiAdapter(config)

    with pytest.raises(PanelAuthFailed, match="not permitted"):
        await adapter.get("alice")
    await adapter.aclose()


# --- retries ------------------------------------------------------------------------


async def test_a_read_is_tried_again_once_and_a_write_never(open_panel: Open) -> None:
    panel, adapter = await open_panel()
    put(panel, "hal")
    await adapter.get("hal")  # logged in
    panel.fake.seen.clear()

    panel.fail_next(502)
    once = await adapter.get("hal")
    panel.fail_next(502, times=2)
    with pytest.raises(PanelUnavailable):
        await adapter.get("hal")
    panel.fail_next(502)
    with pytest.raises(PanelUnavailable):
        await adapter.create(new_user())

    assert once is not None
    assert len(panel.fake.calls("GET", f"{API}/get/hal")) == 2 + 2
    assert len(panel.fake.calls("POST", f"{API}/add")) == 1
