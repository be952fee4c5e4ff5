"""What the Marzban/PasarGuard adapter sends and how it reads the answers.

The contract suite checks the outcomes; these tests check the wire: the fields, units and
routes each panel expects, and the quirks of each flavour.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from bot.adapters.panels.base import (
    GIB,
    PanelRejected,
    PanelUnavailable,
    UserExists,
    UserNotFound,
    UserState,
)
from tests.panels.marzban_rig import FLAVOURS, new_user, opened, trail


async def test_marzban_create_sends_seconds_bytes_and_the_reference_as_note() -> None:
    user = new_user("marzban", reference="order:42", data_limit_bytes=5 * GIB)
    async with opened("marzban") as (fake, adapter):
        await adapter.create(user)

    (sent,) = fake.calls("POST", "/api/user")
    assert sent.json() == {
        "username": user.username,
        "expire": int(user.expires_at.timestamp()),
        "data_limit": 5 * 1024**3,
        "data_limit_reset_strategy": "no_reset",
        "note": "order:42",
        "proxies": {"vless": {}},
        "inbounds": {"vless": ["VLESS TCP REALITY"]},
    }
    assert sent.headers["Content-Type"] == "application/json"


async def test_pasarguard_create_sends_group_ids_and_no_marzban_placement() -> None:
    template = {"group_ids": [1, 2], "proxy_settings": {"vless": {"flow": ""}}}
    user = new_user("pasarguard", template=template)
    async with opened("pasarguard") as (fake, adapter):
        made = await adapter.create(user)

    (sent,) = fake.calls("POST", "/api/user")
    body = sent.json()
    assert body["group_ids"] == [1, 2]
    assert body["proxy_settings"] == {"vless": {"flow": ""}}
    assert "proxies" not in body and "inbounds" not in body
    assert body["expire"] == int(user.expires_at.timestamp())
    assert made.state is UserState.ACTIVE
    stored = fake.user(user.username)
    assert stored is not None and stored.group_ids == [1, 2]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_unlimited_user_is_sent_a_data_limit_of_zero(flavour: str) -> None:
    async with opened(flavour) as (fake, adapter):
        made = await adapter.create(new_user(flavour, data_limit_bytes=None))

    (sent,) = fake.calls("POST", "/api/user")
    assert sent.json()["data_limit"] == 0
    assert made.data_limit_bytes is None


async def test_a_plan_may_choose_the_data_limit_reset_strategy() -> None:
    template = {**new_user().template, "data_limit_reset_strategy": "month"}
    async with opened("marzban") as (fake, adapter):
        made = await adapter.create(new_user(template=template))

    assert fake.calls("POST", "/api/user")[0].json()["data_limit_reset_strategy"] == "month"
    stored = fake.user(made.username)
    assert stored is not None and stored.reset_strategy == "month"


async def test_a_pasarguard_group_that_does_not_exist_is_a_refusal_not_a_missing_user() -> None:
    async with opened("pasarguard") as (_, adapter):
        with pytest.raises(PanelRejected) as caught:
            await adapter.create(new_user("pasarguard", template={"group_ids": [99]}))

    assert type(caught.value) is PanelRejected
    assert caught.value.status == 404
    assert "Group not found" in str(caught.value)


async def test_a_marzban_protocol_disabled_on_the_server_is_refused_with_400() -> None:
    async with opened("marzban") as (fake, adapter):
        with pytest.raises(PanelRejected) as caught:
            await adapter.create(new_user(template={"proxies": {"trojan": {}}}))

    assert caught.value.status == 400
    assert "trojan" in str(caught.value)
    assert fake.users == {}


async def test_a_marzban_plan_without_proxies_is_refused_with_the_panels_422_message() -> None:
    async with opened("marzban") as (_, adapter):
        with pytest.raises(PanelRejected) as caught:
            await adapter.create(new_user(template={}))

    assert caught.value.status == 422
    assert "at least one proxy" in str(caught.value)


async def test_marzban_usernames_clash_whatever_their_case_and_pasarguard_ones_do_not() -> None:
    lower = new_user("marzban", username="c_alice", reference="order:1")
    upper = new_user("marzban", username="C_ALICE", reference="order:2")
    async with opened("marzban") as (_, adapter):
        await adapter.create(lower)
        with pytest.raises(UserExists):
            await adapter.create(upper)

    lower = new_user("pasarguard", username="c_alice", reference="order:1")
    upper = new_user("pasarguard", username="C_ALICE", reference="order:2")
    async with opened("pasarguard") as (fake, adapter):
        await adapter.create(lower)
        made = await adapter.create(upper)

    assert made.username == "C_ALICE"
    assert len(fake.users) == 2


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_extend_puts_an_active_status_and_the_expiry_in_seconds_then_resets_usage(
    flavour: str,
) -> None:
    user = new_user(flavour)
    later = user.expires_at + dt.timedelta(days=30)
    async with opened(flavour) as (fake, adapter):
        await adapter.create(user)
        fake.requests.clear()
        await adapter.extend(user.username, expires_at=later, reset_traffic=True)

    assert trail(fake) == [
        f"PUT /api/user/{user.username}",
        f"POST /api/user/{user.username}/reset",
    ]
    assert fake.requests[0].json() == {"status": "active", "expire": int(later.timestamp())}


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_extend_without_a_reset_does_not_call_the_reset_route(flavour: str) -> None:
    user = new_user(flavour)
    async with opened(flavour) as (fake, adapter):
        await adapter.create(user)
        await adapter.extend(user.username, expires_at=user.expires_at + dt.timedelta(days=1))

    assert fake.calls("POST", f"/api/user/{user.username}/reset") == []


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_extending_a_suspended_user_with_a_reset_leaves_it_active(flavour: str) -> None:
    # Marzban's reset reactivates a disabled user by itself, PasarGuard's does not; the
    # adapter's PUT makes both end active.
    user = new_user(flavour)
    async with opened(flavour) as (fake, adapter):
        await adapter.create(user)
        await adapter.suspend(user.username)
        fake.user(user.username).used_traffic = GIB  # type: ignore[union-attr]
        later = user.expires_at + dt.timedelta(days=30)
        extended = await adapter.extend(user.username, expires_at=later, reset_traffic=True)

    assert extended.state is UserState.ACTIVE
    assert extended.used_bytes == 0


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_suspend_and_resume_put_the_disabled_and_active_statuses(flavour: str) -> None:
    user = new_user(flavour)
    async with opened(flavour) as (fake, adapter):
        await adapter.create(user)
        fake.requests.clear()
        await adapter.suspend(user.username)
        await adapter.resume(user.username)

    assert [r.json() for r in fake.calls("PUT")] == [{"status": "disabled"}, {"status": "active"}]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_delete_takes_marzbans_200_body_and_pasarguards_204(flavour: str) -> None:
    user = new_user(flavour)
    async with opened(flavour) as (fake, adapter):
        await adapter.create(user)
        await adapter.delete(user.username)
        with pytest.raises(UserNotFound):
            await adapter.delete(user.username)

    assert fake.user(user.username) is None


@pytest.mark.parametrize(
    ("flavour", "wire_expire"),
    [("marzban", int), ("pasarguard", str)],
)
async def test_the_expiry_is_read_from_seconds_or_from_an_iso_datetime(
    flavour: str, wire_expire: type
) -> None:
    user = new_user(flavour)
    async with opened(flavour, api_key=flavour == "pasarguard") as (fake, adapter):
        await adapter.create(user)
        raw = await _raw_user(fake.url, user.username, adapter)
        got = await adapter.get(user.username)

    assert isinstance(raw["expire"], wire_expire)
    assert got is not None and got.expires_at == user.expires_at


async def _raw_user(url: str, username: str, adapter: object) -> dict[str, object]:
    headers = await adapter._auth_headers()  # type: ignore[attr-defined]
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/api/user/{username}", headers=headers)
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize("prefix", ["", "https://sub.example.com"])
async def test_a_subscription_path_is_made_a_link_on_the_panels_address(prefix: str) -> None:
    # With no URL prefix configured (the default) the panel answers "/sub/<token>".
    user = new_user()
    async with opened("marzban", sub_prefix=prefix) as (fake, adapter):
        made = await adapter.create(user)
        token = fake.user(user.username).sub_token  # type: ignore[union-attr]
        base = fake.url

    assert made.subscription_url == f"{prefix or base}/sub/{token}"


@pytest.mark.parametrize(
    ("seen_ago", "online"),
    [(dt.timedelta(seconds=30), True), (dt.timedelta(minutes=10), False), (None, False)],
)
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_online_means_seen_within_the_last_two_minutes(
    flavour: str, seen_ago: dt.timedelta | None, online: bool
) -> None:
    user = new_user(flavour)
    async with opened(flavour) as (fake, adapter):
        await adapter.create(user)
        stored = fake.user(user.username)
        assert stored is not None
        stored.online_at = dt.datetime.now(dt.UTC) - seen_ago if seen_ago else None
        got = await adapter.get(user.username)

    assert got is not None and got.online is online


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_list_users_pages_by_offset_and_limit_oldest_first(flavour: str) -> None:
    async with opened(flavour) as (fake, adapter):
        for _ in range(23):
            await adapter.create(new_user(flavour))
        fake.requests.clear()
        listed = [user async for user in adapter.list_users()]

    pages = fake.calls("GET", "/api/users")
    assert [dict(page.query) for page in pages] == [
        {"offset": str(offset), "limit": "10", "sort": "created_at"} for offset in (0, 10, 20)
    ]
    assert len(listed) == 23


async def test_a_marzban_user_on_hold_or_limited_reads_as_such() -> None:
    user = new_user()
    async with opened("marzban") as (fake, adapter):
        await adapter.create(user)
        stored = fake.user(user.username)
        assert stored is not None
        stored.used_traffic = 6 * GIB
        stored.review()
        limited = await adapter.get(user.username)
        stored.status = "on_hold"
        on_hold = await adapter.get(user.username)

    assert limited is not None and limited.state is UserState.LIMITED
    assert on_hold is not None and on_hold.state is UserState.ON_HOLD


async def test_a_user_body_with_an_unknown_status_is_not_the_panels() -> None:
    user = new_user()
    async with opened("marzban") as (fake, adapter):
        await adapter.create(user)
        fake.user(user.username).status = "frozen"  # type: ignore[union-attr]
        with pytest.raises(PanelUnavailable):
            await adapter.get(user.username)


async def test_a_wrong_address_is_unavailable_not_a_missing_user() -> None:
    # A 404 page from whatever answers there must not read as "no such user".
    async with opened("pasarguard", api_key=True, base_path="/nowhere") as (_, adapter):
        with pytest.raises(PanelUnavailable):
            await adapter.get("c_anyone")
