"""The Remnawave adapter's wire shapes and the panel's quirks, beyond the contract suite."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from bot.adapters.panels.base import (
    GIB,
    NewUser,
    PanelAuthFailed,
    PanelConfig,
    PanelRejected,
    PanelUnavailable,
    UserExists,
    UserNotFound,
    UserState,
)
from bot.adapters.panels.remnawave import RemnawaveAdapter, iso
from tests.panels.fake_remnawave import SQUAD_UUID, TOKEN, RemnawaveHarness
from tests.panels.remnawave_wire import FakeUser, Recorded

Rig = tuple[RemnawaveHarness, RemnawaveAdapter]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    harness = RemnawaveHarness()
    adapter = await harness.start()
    try:
        yield harness, adapter
    finally:
        await harness.stop()


def new_user(username: str = "alice_01", *, limit: int | None = 5 * GIB) -> NewUser:
    return NewUser(
        username=username,
        expires_at=dt.datetime(2031, 1, 17, 15, 38, 45, 65000, tzinfo=dt.UTC),
        reference="order:42",
        data_limit_bytes=limit,
        template={"squads": [SQUAD_UUID]},
    )


def sent(harness: RemnawaveHarness, method: str, path: str = "") -> list[Recorded]:
    return [r for r in harness.panel.requests if r.method == method and r.path.startswith(path)]


def stored(harness: RemnawaveHarness, username: str) -> FakeUser:
    user = harness.panel.by_name(username)
    assert user is not None
    return user


def mocked(
    answer: Callable[[httpx.Request], httpx.Response], base_url: str = "https://panel.test"
) -> RemnawaveAdapter:
    """An adapter whose HTTP goes to ``answer`` instead of a socket."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    config = PanelConfig(base_url=base_url, credentials={"token": TOKEN})
    return RemnawaveAdapter(config, client=client)


def wrapped_user() -> dict[str, Any]:
    user = FakeUser(id=7, username="alice_01", status="ACTIVE", expire_at=new_user().expires_at)
    return user.wire({})


# --- what the adapter sends -----------------------------------------------------------


async def test_a_create_posts_the_iso_expiry_the_limit_the_squads_and_the_reference(
    rig: Rig,
) -> None:
    harness, adapter = rig

    made = await adapter.create(new_user())

    [request] = sent(harness, "POST", "/api/users")
    assert request.path == "/api/users"
    assert request.body == {
        "username": "alice_01",
        "expireAt": "2031-01-17T15:38:45.065Z",
        "trafficLimitBytes": 5 * GIB,
        "description": "order:42",
        "activeInternalSquads": [SQUAD_UUID],
    }
    assert made.external_id == str(stored(harness, "alice_01").id)
    assert made.reference == "order:42"


async def test_an_unlimited_user_is_created_with_a_zero_traffic_limit(rig: Rig) -> None:
    harness, adapter = rig

    made = await adapter.create(new_user(limit=None))

    [request] = sent(harness, "POST", "/api/users")
    assert request.body["trafficLimitBytes"] == 0
    assert made.data_limit_bytes is None


def test_expiries_are_sent_in_utc_with_milliseconds_and_a_z() -> None:
    tehran = dt.timezone(dt.timedelta(hours=3, minutes=30))

    assert iso(dt.datetime(2031, 1, 1, 3, 30, tzinfo=tehran)) == "2031-01-01T00:00:00.000Z"
    # A naive datetime is taken as UTC, never as the machine's local time.
    assert iso(dt.datetime(2031, 1, 1, 12, 0)) == "2031-01-01T12:00:00.000Z"


async def test_every_request_carries_the_bearer_token_and_over_http_the_forwarded_headers(
    rig: Rig,
) -> None:
    harness, adapter = rig

    made = await adapter.create(new_user())
    await adapter.get(made.external_id)

    assert len(harness.panel.requests) == 2
    for request in harness.panel.requests:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["X-Forwarded-Proto"] == "https"
        assert request.headers["X-Forwarded-For"] == "127.0.0.1"


async def test_an_adapter_for_an_https_panel_leaves_the_forwarding_to_its_proxy() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"response": wrapped_user()})

    adapter = mocked(answer)
    await adapter.get("7")
    await adapter.aclose()

    [request] = seen
    assert str(request.url) == "https://panel.test/api/users/7"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "X-Forwarded-Proto" not in request.headers
    assert "X-Forwarded-For" not in request.headers


async def test_the_fake_like_the_panel_closes_the_connection_without_the_forwarded_headers(
    rig: Rig,
) -> None:
    harness, _ = rig
    url = harness.panel.url + "/api/users/1"
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(url, headers=auth)
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(url, headers=auth | {"X-Forwarded-For": "127.0.0.1"})
        with pytest.raises(httpx.RemoteProtocolError):
            proto_http = {"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http"}
            await client.get(url, headers=auth | proto_http)
        through = {"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "https"}
        reply = await client.get(url, headers=auth | through)

    assert reply.status_code == 404
    assert reply.json()["errorCode"] == "A063"


# --- what the adapter reads -----------------------------------------------------------


async def test_a_user_is_read_from_the_response_wrapper_with_traffic_under_user_traffic(
    rig: Rig,
) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())
    harness.set_used("alice_01", 3 * GIB)
    stored(harness, "alice_01").online_at = dt.datetime.now(dt.UTC)

    got = await adapter.get(made.external_id)

    assert got is not None
    assert got.used_bytes == 3 * GIB
    assert got.data_limit_bytes == 5 * GIB
    assert got.online is True
    assert got.expires_at == new_user().expires_at
    short_uuid = stored(harness, "alice_01").short_uuid
    assert got.subscription_url == f"https://sub.panel.test/{short_uuid}"


async def test_a_user_last_seen_a_minute_ago_is_not_online(rig: Rig) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())
    stored(harness, "alice_01").online_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)

    got = await adapter.get(made.external_id)

    assert got is not None and got.online is False


async def test_a_user_over_its_traffic_limit_reads_as_limited(rig: Rig) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())
    harness.set_used("alice_01", 5 * GIB)

    got = await adapter.get(made.external_id)

    assert got is not None and got.state is UserState.LIMITED


async def test_an_answer_without_the_response_wrapper_raises_panel_unavailable() -> None:
    adapter = mocked(lambda request: httpx.Response(200, json=wrapped_user()))

    with pytest.raises(PanelUnavailable):
        await adapter.get("7")
    await adapter.aclose()


async def test_a_user_missing_a_field_raises_panel_unavailable() -> None:
    user = wrapped_user()
    del user["userTraffic"]
    adapter = mocked(lambda request: httpx.Response(200, json={"response": user}))

    with pytest.raises(PanelUnavailable):
        await adapter.get("7")
    await adapter.aclose()


async def test_list_users_pages_by_start_and_size_oldest_first(rig: Rig) -> None:
    harness, adapter = rig
    for number in range(12):
        harness.seed(new_user(f"user_{number:02}"), note=None)

    listed = [user.username async for user in adapter.list_users()]

    assert listed == [f"user_{number:02}" for number in range(12)]
    pages = [request.query for request in sent(harness, "GET", "/api/users")]
    assert [(page["start"], page["size"]) for page in pages] == [("0", "10"), ("10", "10")]
    assert json.loads(pages[0]["sorting"]) == [{"id": "id", "desc": False}]


# --- expiry, status and the panel's answers to repeats --------------------------------


async def test_extend_patches_an_absolute_expiry_by_numeric_id_not_the_extend_action(
    rig: Rig,
) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())
    later = dt.datetime(2032, 5, 1, tzinfo=dt.UTC)

    await adapter.extend(made.external_id, expires_at=later)
    await adapter.extend(made.external_id, expires_at=later)

    patches = sent(harness, "PATCH", "/api/users")
    assert [p.body for p in patches] == 2 * [
        {"id": int(made.external_id), "expireAt": "2032-05-01T00:00:00.000Z", "status": "ACTIVE"}
    ]
    assert not [r for r in harness.panel.requests if r.path.endswith("/actions/extend")]
    # Repeating the call changed nothing: the time was not given twice.
    assert stored(harness, "alice_01").expire_at == later


async def test_extend_with_reset_traffic_calls_the_reset_traffic_action(rig: Rig) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())
    harness.set_used("alice_01", 5 * GIB)

    extended = await adapter.extend(
        made.external_id, expires_at=dt.datetime(2032, 5, 1, tzinfo=dt.UTC), reset_traffic=True
    )

    [reset] = sent(harness, "POST", f"/api/users/{made.external_id}/actions/reset-traffic")
    assert reset.body is None
    assert extended.state is UserState.ACTIVE and extended.used_bytes == 0


async def test_an_expiry_in_the_past_is_refused_by_the_panel_and_raises_panel_rejected(
    rig: Rig,
) -> None:
    _, adapter = rig
    made = await adapter.create(new_user())
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)

    with pytest.raises(PanelRejected) as refused:
        await adapter.extend(made.external_id, expires_at=past)

    assert not isinstance(refused.value, UserNotFound)
    assert refused.value.status == 400
    assert "Expiration date cannot be in the past" in str(refused.value)


async def test_suspending_twice_is_done_although_the_panel_answers_already_disabled(
    rig: Rig,
) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())
    await adapter.suspend(made.external_id)

    again = await adapter.suspend(made.external_id)

    assert again.state is UserState.DISABLED
    assert len(sent(harness, "POST", f"/api/users/{made.external_id}/actions/disable")) == 2


async def test_resuming_an_active_user_is_done_although_the_panel_answers_already_enabled(
    rig: Rig,
) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())

    resumed = await adapter.resume(made.external_id)

    assert resumed.state is UserState.ACTIVE
    assert len(sent(harness, "POST", f"/api/users/{made.external_id}/actions/enable")) == 1


# --- errors ---------------------------------------------------------------------------


async def test_a_taken_username_is_answered_a019_and_raises_user_exists(rig: Rig) -> None:
    harness, adapter = rig
    harness.seed(new_user(), note="order:7")

    with pytest.raises(UserExists) as taken:
        await adapter.create(new_user())

    assert taken.value.status == 400
    # The adapter looked the user up by name to compare the reference, and stopped there.
    assert len(sent(harness, "GET", "/api/users/by-username/alice_01")) == 1
    assert stored(harness, "alice_01").description == "order:7"


async def test_a_username_the_panel_refuses_raises_panel_rejected_with_the_reason(
    rig: Rig,
) -> None:
    _, adapter = rig

    with pytest.raises(PanelRejected) as refused:
        await adapter.create(new_user("al"))

    assert type(refused.value) is PanelRejected
    assert "username" in str(refused.value)


async def test_a_missing_user_is_none_for_reads_and_user_not_found_for_writes(rig: Rig) -> None:
    _, adapter = rig

    assert await adapter.get("999") is None
    assert await adapter.find("nobody_here") is None
    with pytest.raises(UserNotFound):
        await adapter.delete("999")
    with pytest.raises(UserNotFound):
        await adapter.extend("999", expires_at=dt.datetime(2032, 1, 1, tzinfo=dt.UTC))


async def test_an_id_that_is_not_a_remnawave_id_is_missing_without_asking_the_panel(
    rig: Rig,
) -> None:
    harness, adapter = rig

    assert await adapter.get("3f2b9c1e-0000-4000-8000-000000000000") is None
    with pytest.raises(UserNotFound):
        await adapter.suspend("0")

    assert harness.panel.requests == []


async def test_a_404_without_a_user_error_code_is_a_refusal_not_a_missing_user() -> None:
    # Nest's answer for a route it does not have, e.g. a base URL pointing elsewhere.
    body = {"message": "Cannot GET /api/users/7", "error": "Not Found", "statusCode": 404}
    adapter = mocked(lambda request: httpx.Response(404, json=body))

    with pytest.raises(PanelRejected) as refused:
        await adapter.get("7")

    assert not isinstance(refused.value, UserNotFound)
    await adapter.aclose()


async def test_an_expired_api_token_raises_panel_auth_failed(rig: Rig) -> None:
    harness, adapter = rig
    harness.panel.expire_token()

    with pytest.raises(PanelAuthFailed) as refused:
        await adapter.find("alice_01")

    assert refused.value.status == 401


async def test_a_deleted_api_token_raises_panel_auth_failed(rig: Rig) -> None:
    harness, adapter = rig
    harness.panel.revoke_token()

    with pytest.raises(PanelAuthFailed) as refused:
        await adapter.create(new_user())

    assert refused.value.status == 403


async def test_a_server_error_on_create_is_unavailable_and_the_create_is_not_repeated(
    rig: Rig,
) -> None:
    harness, adapter = rig
    harness.fail_next(500)

    with pytest.raises(PanelUnavailable):
        await adapter.create(new_user())

    assert len(sent(harness, "POST", "/api/users")) == 1


async def test_a_server_error_on_extend_is_unavailable_and_the_change_is_not_repeated(
    rig: Rig,
) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())
    harness.fail_next(502)

    with pytest.raises(PanelUnavailable):
        await adapter.extend(made.external_id, expires_at=dt.datetime(2032, 1, 1, tzinfo=dt.UTC))

    assert len(sent(harness, "PATCH", "/api/users")) == 1


async def test_a_read_is_tried_again_once_after_a_server_error(rig: Rig) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())
    harness.fail_next(503)

    got = await adapter.get(made.external_id)

    assert got is not None and got.username == "alice_01"
    assert len(sent(harness, "GET", f"/api/users/{made.external_id}")) == 2


async def test_a_squad_the_panel_does_not_have_fails_the_create_with_a_server_error(
    rig: Rig,
) -> None:
    # The panel answers 500 (A018) for a foreign key that fails inside its create, which
    # cannot be told from a failure after the user was made: the outcome is unknown.
    harness, adapter = rig
    user = NewUser(
        username="alice_01",
        expires_at=new_user().expires_at,
        reference="order:42",
        template={"squads": ["00000000-0000-4000-8000-000000000000"]},
    )

    with pytest.raises(PanelUnavailable) as failed:
        await adapter.create(user)

    assert failed.value.status == 500
    assert harness.panel.by_name("alice_01") is None
