"""The XUI.one adapter's wire shapes and the panel's quirks, beyond the contract suite."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
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
    UserState,
)
from bot.adapters.panels.xuione import XuiOneAdapter
from bot.logs import REDACTED, RedactingFormatter
from tests.panels.fake_xuione import XuiOneHarness

EXPIRY = dt.datetime(2031, 1, 17, 15, 38, 45, tzinfo=dt.UTC)
LATER = dt.datetime(2031, 3, 1, 8, 0, 0, tzinfo=dt.UTC)


def new_user(username: str = "alice_01", **template: Any) -> NewUser:
    return NewUser(
        username=username,
        expires_at=EXPIRY,
        reference="order:42",
        template=template or {"bouquets": [1, 4], "max_connections": 2},
    )


@pytest.fixture
async def harness() -> AsyncIterator[XuiOneHarness]:
    harness = XuiOneHarness()
    await harness.fake.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
async def adapter(harness: XuiOneHarness) -> AsyncIterator[XuiOneAdapter]:
    adapter = connect(harness)
    yield adapter
    await adapter.aclose()


def connect(harness: XuiOneHarness, **options: Any) -> XuiOneAdapter:
    harness.options.update(options)
    return XuiOneAdapter(harness.config(harness.fake.url))


def line(harness: XuiOneHarness, username: str = "alice_01") -> dict[str, Any]:
    found = harness.fake.by_username(username)
    assert found is not None, f"no line {username} on the fake"
    return found


def sent(harness: XuiOneHarness, action: str) -> list[dict[str, Any]]:
    return [data for name, data in harness.fake.calls if name == action]


# --- what the adapter sends -----------------------------------------------------------


async def test_the_api_key_travels_in_the_form_body_and_never_in_a_url(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    made = await adapter.create(new_user())
    await adapter.get(made.external_id)

    assert harness.fake.key_sources == ["form", "form"]
    assert all(harness.fake.api_key not in url for url in harness.fake.urls)
    assert "action=create_line" in harness.fake.urls[0]


async def test_a_create_sends_at_seconds_bouquets_as_json_text_and_the_reference_in_admin_notes(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    await adapter.create(new_user())

    [form] = sent(harness, "create_line")
    assert form["exp_date"] == f"@{int(EXPIRY.timestamp())}"
    assert isinstance(form["bouquets_selected"], str)
    assert json.loads(form["bouquets_selected"]) == [1, 4]
    assert form["max_connections"] == "2"
    assert form["admin_notes"] == "order:42"
    assert "is_trial" not in form and "member_id" not in form
    stored = line(harness)
    assert stored["exp_date"] == int(EXPIRY.timestamp())
    assert stored["bouquet"] == "[1,4]"
    assert stored["is_trial"] == 0


async def test_an_iptv_line_gets_no_data_limit_and_reports_no_traffic(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    user = NewUser("alice_01", EXPIRY, "order:42", 10 * GIB, {"bouquets": [1]})

    made = await adapter.create(user)
    extended = await adapter.extend(made.external_id, expires_at=LATER, reset_traffic=True)

    assert made.data_limit_bytes is None and made.used_bytes == 0
    assert extended.data_limit_bytes is None and extended.used_bytes == 0
    [form] = sent(harness, "create_line")
    assert set(form) == {
        "username", "password", "max_connections", "bouquets_selected", "exp_date",
        "admin_notes",
    }  # fmt: skip


async def test_the_line_s_username_and_password_come_back_as_its_credentials(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    made = await adapter.create(new_user())

    password = line(harness)["password"]
    assert made.credentials == {"username": "alice_01", "password": password}
    assert len(password) == 12 and password.isalnum()
    assert made.subscription_url is None
    got = await adapter.get(made.external_id)
    assert got is not None and got.credentials == made.credentials


async def test_with_a_playlist_url_the_user_gets_an_m3u_link_with_its_credentials(
    harness: XuiOneHarness,
) -> None:
    adapter = connect(harness, playlist_url="http://tv.example.net:8080/")

    made = await adapter.create(new_user())

    password = made.credentials["password"]
    assert made.subscription_url == (
        "http://tv.example.net:8080/get.php"
        f"?username=alice_01&password={password}&type=m3u_plus&output=ts"
    )
    await adapter.aclose()


async def test_a_trial_template_makes_a_trial_line(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    await adapter.create(new_user(bouquets=[1], is_trial=True))

    assert sent(harness, "create_line")[0]["is_trial"] == "1"
    assert line(harness)["is_trial"] == 1


async def test_a_package_template_gives_the_line_the_package_s_bouquets_and_connections(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    harness.fake.add_package(id=3, bouquets="[5,6]", max_connections=3)
    harness.fake.add_package(id=4, bouquets="[9]", max_connections=1)

    await adapter.create(new_user(package_id=3))

    assert harness.fake.actions() == ["get_packages", "create_line"]
    stored = line(harness)
    assert stored["bouquet"] == "[5,6]"
    assert stored["max_connections"] == 3


async def test_a_package_the_panel_lacks_is_refused_before_any_line_is_made(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    harness.fake.add_package(id=3, bouquets="[5,6]")

    with pytest.raises(PanelRejected, match="no package 8"):
        await adapter.create(new_user(package_id=8))

    assert harness.fake.actions() == ["get_packages"]


async def test_the_reference_goes_to_reseller_notes_when_configured_so(
    harness: XuiOneHarness,
) -> None:
    adapter = connect(harness, note_field="reseller_notes")

    made = await adapter.create(new_user())

    assert line(harness)["reseller_notes"] == "order:42"
    assert line(harness)["admin_notes"] == ""
    again = await adapter.create(new_user())
    assert again.external_id == made.external_id
    await adapter.aclose()


# --- the panel's edit resets what it is not sent --------------------------------------

KEPT = {
    "password": "Keep-Pass-77",
    "max_connections": 3,
    "bouquet": "[2,7]",
    "is_trial": 1,
    "is_isplock": 1,
    "allowed_ips": '["10.0.0.1", "10.0.0.2"]',
    "allowed_ua": '["VLC"]',
    "allowed_outputs": "[1,2]",
    "admin_notes": "order:42\nprefers sports",
    "reseller_notes": "shop 4",
    "contact": "+100200300",
    "member_id": 5,
}


async def test_an_extend_sends_the_whole_line_back_so_the_panel_resets_nothing(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    seeded = harness.fake.add_line(username="alice_01", enabled=0, **KEPT)

    extended = await adapter.extend(str(seeded["id"]), expires_at=LATER)

    stored = line(harness)
    assert {key: stored[key] for key in KEPT} == {
        **KEPT,
        "allowed_ips": '["10.0.0.1", "10.0.0.2"]',
        "allowed_ua": '["VLC"]',
    }
    assert stored["exp_date"] == int(LATER.timestamp())
    assert stored["enabled"] == 1
    assert extended.state is UserState.ACTIVE
    assert extended.reference == "order:42"
    assert sent(harness, "edit_line")[0]["exp_date"] == f"@{int(LATER.timestamp())}"


async def test_the_fake_like_the_panel_resets_what_an_edit_leaves_out(
    harness: XuiOneHarness,
) -> None:
    # Why the test above can fail: a minimal edit_line loses the line's settings.
    seeded = harness.fake.add_line(username="alice_01", **KEPT)
    form = {"api_key": harness.fake.api_key, "id": str(seeded["id"]), "bouquets_selected": "[]"}

    async with httpx.AsyncClient() as client:
        url = f"{harness.fake.url}/{harness.fake.access_code}/?action=edit_line"
        answer = (await client.post(url, data=form)).json()

    assert answer["status"] == "STATUS_SUCCESS"
    stored = line(harness, answer["data"]["username"])
    assert stored["username"] != "alice_01"
    assert stored["password"] != KEPT["password"]
    assert (stored["max_connections"], stored["is_trial"], stored["exp_date"]) == (1, 0, None)
    assert stored["allowed_ips"] == "[]"


async def test_extending_a_banned_line_leaves_the_ban_to_an_admin(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    seeded = harness.fake.add_line(username="alice_01", admin_enabled=0, bouquet="[1]")

    extended = await adapter.extend(str(seeded["id"]), expires_at=LATER)

    assert line(harness)["admin_enabled"] == 0
    assert extended.state is UserState.DISABLED


# --- what the adapter makes of the answers ----------------------------------------------


async def test_a_bare_seconds_expiry_is_an_invalid_date_to_the_panel_and_a_refusal(
    harness: XuiOneHarness,
) -> None:
    adapter = connect(harness, exp_date_style="unix")

    with pytest.raises(PanelRejected, match="STATUS_INVALID_DATE"):
        await adapter.create(new_user())

    assert harness.fake.by_username("alice_01") is None
    await adapter.aclose()


async def test_a_refused_api_key_raises_auth_failed_and_the_message_has_no_key(
    harness: XuiOneHarness,
) -> None:
    wrong = "xk-not-the-panel-key"
    adapter = XuiOneAdapter(harness.config(harness.fake.url, api_key=wrong))

    with pytest.raises(PanelAuthFailed) as raised:
        await adapter.get("1")

    assert wrong not in str(raised.value) and harness.fake.api_key not in str(raised.value)
    await adapter.aclose()


async def test_a_wrong_access_code_is_a_refusal_and_not_a_missing_line(
    harness: XuiOneHarness,
) -> None:
    harness.options["access_code"] = "WrongCode"
    adapter = XuiOneAdapter(harness.config(harness.fake.url))

    with pytest.raises(PanelRejected) as raised:
        await adapter.get("1")

    assert raised.value.status == 404
    await adapter.aclose()


async def test_a_create_over_the_same_name_in_another_case_raises_user_exists(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    # Usernames are unique regardless of case; find compares them exactly.
    harness.fake.add_line(username="ALICE_01", admin_notes="order:42", bouquet="[1]")

    with pytest.raises(UserExists):
        await adapter.create(new_user())


async def test_find_matches_the_username_though_the_search_also_matches_passwords_and_notes(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    harness.fake.add_line(username="bob", password="alice_01", admin_notes="alice_01's dad")

    assert await adapter.find("alice_01") is None

    [search] = sent(harness, "get_lines")
    assert search["search"] == {"value": "alice_01"}
    harness.fake.add_line(username="alice_01")
    found = await adapter.find("alice_01")
    assert found is not None and found.username == "alice_01"


async def test_list_users_pages_with_start_and_limit(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    for number in range(23):
        harness.fake.add_line(username=f"line_{number:02}")

    listed = [user.username async for user in adapter.list_users()]

    assert listed == [f"line_{number:02}" for number in range(23)]
    pages = [(form["start"], form["limit"]) for form in sent(harness, "get_lines")]
    assert pages == [("0", "10"), ("10", "10"), ("20", "10")]


async def test_lines_read_as_expired_disabled_banned_or_never_expiring(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    past = int(dt.datetime(2020, 5, 1, tzinfo=dt.UTC).timestamp())
    cases: dict[str, dict[str, Any]] = {
        "old": {"exp_date": past},
        "off": {"enabled": 0, "exp_date": past},
        "banned": {"admin_enabled": 0},
        "forever": {"exp_date": None},
    }
    made = {
        name: harness.fake.add_line(username=name, **fields)["id"] for name, fields in cases.items()
    }

    states = {}
    for name, line_id in made.items():
        got = await adapter.get(str(line_id))
        assert got is not None
        states[name] = (got.state, got.expires_at)

    assert states == {
        "old": (UserState.EXPIRED, dt.datetime(2020, 5, 1, tzinfo=dt.UTC)),
        "off": (UserState.DISABLED, dt.datetime(2020, 5, 1, tzinfo=dt.UTC)),
        "banned": (UserState.DISABLED, None),
        "forever": (UserState.ACTIVE, None),
    }


async def test_a_read_is_asked_once_more_after_a_server_error_but_a_create_is_not(
    harness: XuiOneHarness, adapter: XuiOneAdapter
) -> None:
    made = await adapter.create(new_user())
    harness.fake.fail_next(502)

    got = await adapter.get(made.external_id)

    assert got is not None and got.username == "alice_01"
    harness.fake.fail_next(502)
    with pytest.raises(PanelUnavailable):
        await adapter.create(new_user("bob_02"))
    assert harness.fake.by_username("bob_02") is None


async def test_numbers_the_panel_sends_as_numbers_read_like_numbers_sent_as_text() -> None:
    row = {"id": 7, "username": "a", "password": "p", "exp_date": 1924991925, "enabled": 1}
    answer = {"status": "STATUS_SUCCESS", "data": {**row, "admin_enabled": 1, "is_trial": 0}}
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json=answer))
    )
    config = PanelConfig(
        "http://panel.test", {"api_key": "xk-123456"}, options={"access_code": "c"}
    )

    got = await XuiOneAdapter(config, client=client).get("7")

    assert got is not None
    assert (got.external_id, got.state) == ("7", UserState.ACTIVE)
    assert got.expires_at == dt.datetime.fromtimestamp(1924991925, dt.UTC)
    await client.aclose()


async def test_with_the_key_in_the_query_string_only_a_redacting_log_set_up_hides_it(
    harness: XuiOneHarness, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = connect(harness, api_key_in="query")
    caplog.set_level(logging.INFO, logger="httpx")

    await adapter.find("alice_01")

    assert harness.fake.key_sources == ["query"]
    [record] = [r for r in caplog.records if r.name == "httpx"]
    key = harness.fake.api_key
    assert key in record.getMessage()  # httpx logs the request URL at INFO
    assert key not in RedactingFormatter([key]).format(record)
    assert REDACTED in RedactingFormatter([key]).format(record)
    await adapter.aclose()
