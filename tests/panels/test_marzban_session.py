"""How the Marzban/PasarGuard adapter logs in, keeps its session and retries.

The login is an OAuth2 password form; the bearer token is reused until it nears its
``exp`` or a 401 comes back, then renewed once; PasarGuard's API key never logs in.
Reads are retried once after a timeout or a 5xx, writes never.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import httpx
import pytest

from bot.adapters.panels.base import PanelAuthFailed, PanelUnavailable
from tests.panels.fake_marzban import ADMIN, PASSWORD
from tests.panels.marzban_rig import FLAVOURS, form, new_user, opened, trail


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_the_login_is_an_oauth2_password_form_and_its_token_a_bearer(flavour: str) -> None:
    user = new_user(flavour)
    async with opened(flavour) as (fake, adapter):
        await adapter.create(user)

    login, create = fake.requests
    assert (login.method, login.path) == ("POST", "/api/admin/token")
    assert login.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(login) == {"grant_type": ["password"], "username": [ADMIN], "password": [PASSWORD]}
    scheme, _, token = create.headers["Authorization"].partition(" ")
    assert scheme == "Bearer" and token in fake._tokens


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_one_login_serves_every_later_call(flavour: str) -> None:
    user = new_user(flavour)
    async with opened(flavour) as (fake, adapter):
        await adapter.create(user)
        for _ in range(3):
            await adapter.get(user.username)
        await adapter.suspend(user.username)

    assert fake.logins == 1
    assert len({r.headers["Authorization"] for r in fake.requests[1:]}) == 1


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_401_logs_in_again_once_and_repeats_the_call(flavour: str) -> None:
    user = new_user(flavour)
    async with opened(flavour) as (fake, adapter):
        await adapter.create(user)
        fake.revoke_tokens()
        fake.requests.clear()
        got = await adapter.get(user.username)

    assert got is not None
    path = f"/api/user/{user.username}"
    assert trail(fake) == [f"GET {path}", "POST /api/admin/token", f"GET {path}"]
    assert fake.logins == 2


async def test_a_create_refused_with_401_is_sent_again_after_logging_in() -> None:
    # FastAPI checks the token before the route runs: the first POST created nothing.
    user = new_user()
    async with opened("marzban") as (fake, adapter):
        await adapter.get("c_warm_up")
        fake.revoke_tokens()
        made = await adapter.create(user)

    assert made.reference == user.reference
    assert len(fake.calls("POST", "/api/user")) == 2
    assert len(fake.users) == 1


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_401_after_logging_in_again_raises_auth_failed_without_a_third_login(
    flavour: str,
) -> None:
    async with opened(flavour) as (fake, adapter):
        await adapter.get("c_warm_up")
        fake.requests.clear()
        # Refused, logged in again, refused again.
        fake.fail_next(401)
        fake.answer_next()
        fake.fail_next(401)
        with pytest.raises(PanelAuthFailed):
            await adapter.get("c_warm_up")

    assert fake.logins == 2
    path = "/api/user/c_warm_up"
    assert trail(fake) == [f"GET {path}", "POST /api/admin/token", f"GET {path}"]


async def test_calls_that_meet_an_expired_session_together_log_in_once() -> None:
    user = new_user()
    async with opened("marzban") as (fake, adapter):
        await adapter.create(user)
        fake.revoke_tokens()
        got = await asyncio.gather(*(adapter.get(user.username) for _ in range(5)))

    assert all(u is not None for u in got)
    assert fake.logins == 2


async def test_a_token_near_its_exp_is_renewed_before_it_is_sent() -> None:
    # Tokens here live 20 s, under the adapter's 30 s margin: every call logs in first,
    # and no call is ever refused.
    async with opened("marzban", token_lifetime=dt.timedelta(seconds=20)) as (fake, adapter):
        await adapter.get("c_someone")
        await adapter.get("c_someone")

    assert trail(fake) == ["POST /api/admin/token", "GET /api/user/c_someone"] * 2


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_wrong_credentials_raise_auth_failed_naming_no_secret(flavour: str) -> None:
    wrong = {"username": ADMIN, "password": "not-the-password-91c2"}
    async with opened(flavour, credentials=wrong) as (fake, adapter):
        with pytest.raises(PanelAuthFailed) as caught:
            await adapter.get("c_someone")

    assert "not-the-password-91c2" not in str(caught.value)
    assert fake.logins == 0
    assert trail(fake) == ["POST /api/admin/token"]


async def test_pasarguard_sends_its_api_key_as_x_api_key_and_never_logs_in() -> None:
    user = new_user("pasarguard")
    async with opened("pasarguard", api_key=True) as (fake, adapter):
        await adapter.create(user)
        await adapter.get(user.username)
        fake.fail_next(401)
        with pytest.raises(PanelAuthFailed):
            await adapter.get(user.username)

    assert fake.logins == 0
    assert fake.calls("POST", "/api/admin/token") == []
    assert all(r.headers.get("X-Api-Key") == fake.api_key for r in fake.requests)
    assert all("Authorization" not in r.headers for r in fake.requests)


async def test_marzban_ignores_an_api_key_and_logs_in() -> None:
    credentials = {"username": ADMIN, "password": PASSWORD, "api_key": "pg_key_ignored"}
    async with opened("marzban", credentials=credentials) as (fake, adapter):
        await adapter.get("c_someone")

    assert fake.logins == 1


# --- retries ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_read_is_retried_once_after_a_server_error(status: int) -> None:
    user = new_user()
    async with opened("marzban") as (fake, adapter):
        await adapter.create(user)
        fake.fail_next(status, times=1)
        got = await adapter.get(user.username)
        fake.fail_next(status, times=5)
        with pytest.raises(PanelUnavailable) as caught:
            await adapter.get(user.username)

    assert got is not None
    assert caught.value.status == status
    # One failed and one retried for the first read, two failed for the second.
    assert len(fake.calls("GET", f"/api/user/{user.username}")) == 4


async def test_a_create_is_never_sent_twice_after_a_server_error_or_a_timeout() -> None:
    async with opened("marzban") as (fake, adapter):
        await adapter.get("c_warm_up")
        fake.fail_next(502)
        with pytest.raises(PanelUnavailable):
            await adapter.create(new_user())
        fake.hang_next(2.0)
        with pytest.raises(PanelUnavailable):
            await adapter.create(new_user())

    assert len(fake.calls("POST", "/api/user")) == 2


@pytest.mark.parametrize("operation", ["extend", "suspend", "resume", "delete"])
async def test_a_write_is_never_sent_twice_after_a_server_error(operation: str) -> None:
    user = new_user()
    async with opened("marzban") as (fake, adapter):
        await adapter.create(user)
        fake.fail_next(503)
        with pytest.raises(PanelUnavailable):
            if operation == "extend":
                await adapter.extend(user.username, expires_at=user.expires_at)
            else:
                await getattr(adapter, operation)(user.username)

    writes = [r for r in fake.requests if r.method in {"PUT", "DELETE"}]
    assert len(writes) == 1


async def test_a_client_passed_in_keeps_the_configured_timeout_and_stays_open() -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        async with opened("marzban", client=client) as (fake, adapter):
            await adapter.get("c_warm_up")
            fake.hang_next(3.0, times=2)
            started = time.monotonic()
            with pytest.raises(PanelUnavailable):
                await adapter.get("c_warm_up")
            elapsed = time.monotonic() - started

        assert not client.is_closed
    # Two attempts of 0.3 s and a short pause, far from the client's own 30 s.
    assert elapsed < 2.0


async def test_the_bearer_token_reaches_no_log_record_or_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    user = new_user()
    async with opened("marzban") as (fake, adapter):
        await adapter.create(user)
        fake.revoke_tokens()
        await adapter.get(user.username)
        for disturb in (lambda: fake.fail_next(500, 5), lambda: fake.garbage_next(5)):
            disturb()
            try:
                await adapter.get(user.username)
            except PanelUnavailable as error:
                errors.extend([str(error), repr(error), str(error.__cause__)])
        tokens = [*fake._tokens, adapter._token or ""]

    messages = [record.getMessage() for record in caplog.records] + errors
    assert any("HTTP Request" in m for m in messages), "httpx's request lines were captured"
    assert len(errors) >= 2
    for token in filter(None, tokens):
        assert not any(token in m for m in messages)
        assert not any(token.split(".")[2] in m for m in messages)
