"""The 3x-ui adapter against the fake panel: wire shapes, units, refusals, updates.

The contract suite (``test_contract*.py``) covers what every adapter does; these tests
look at what is particular to 3x-ui: what goes over the wire, and how its answers
(HTTP 200 refusals, the update that replaces the whole client) are read. Sessions and
retries: ``test_xui_sessions.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.adapters.panels.base import GIB, PanelRejected, UserExists, UserNotFound, UserState
from tests.panels.fake_xui import API
from tests.panels.xui_harness import (
    EXPIRY,
    EXPIRY_MS,
    Open,
    new_user,
    panel_session,
    put,
    xui_panels,
)


@pytest.fixture
async def open_panel() -> AsyncIterator[Open]:
    async with xui_panels() as opener:
        yield opener


# --- units and shapes ---------------------------------------------------------------


async def test_create_sends_the_expiry_in_epoch_milliseconds_and_the_limit_in_bytes(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel()
    template = {"inbound_ids": [1, 2], "limit_ip": 2}

    made = await adapter.create(new_user(template=template))

    (call,) = panel.fake.calls("POST", f"{API}/add")
    assert call.body["inboundIds"] == [1, 2]
    client = call.body["client"]
    assert client["email"] == "alice"
    assert client["expiryTime"] == EXPIRY_MS
    assert client["totalGB"] == 7 * GIB == 7_516_192_768
    assert client["limitIp"] == 2
    assert client["comment"] == "order:alice"
    assert made.external_id == "alice"
    assert made.expires_at == EXPIRY
    assert made.data_limit_bytes == 7 * GIB


async def test_an_unlimited_client_goes_as_zero_bytes_and_a_zero_expiry_reads_as_never(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel()

    await adapter.create(new_user(data_limit_bytes=None))
    put(panel, "forever", expiryTime=0, totalGB=0)
    forever = await adapter.get("forever")

    (call,) = panel.fake.calls("POST", f"{API}/add")
    assert call.body["client"]["totalGB"] == 0
    assert forever is not None
    assert forever.expires_at is None
    assert forever.data_limit_bytes is None
    assert forever.state is UserState.ACTIVE


async def test_a_client_that_starts_at_its_first_connection_reads_as_on_hold(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel()
    put(panel, "later", expiryTime=-30 * 86_400_000)  # 30 days from the first use

    later = await adapter.get("later")

    assert later is not None and later.state is UserState.ON_HOLD


async def test_used_traffic_is_upload_plus_download_in_get_and_in_the_list(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel()
    client = put(panel, "bob", totalGB=GIB)
    client.up, client.down = 100, 200

    got = await adapter.get("bob")
    client.up, client.down = 300, GIB
    listed = [user async for user in adapter.list_users()]

    assert got is not None and got.used_bytes == 300
    assert listed[0].used_bytes == GIB + 300
    assert listed[0].state is UserState.LIMITED


async def test_list_users_walks_the_slim_pages_of_the_panel(open_panel: Open) -> None:
    panel, adapter = await open_panel(options={"page_size": 10})
    for n in range(25):
        put(panel, f"c{n:02}", comment="" if n % 2 else f"order:{n}")

    listed = [user async for user in adapter.list_users()]

    assert [user.username for user in listed] == [f"c{n:02}" for n in range(25)]
    assert [user.reference for user in listed[:2]] == ["order:0", None]  # comment left out
    pages = panel.fake.calls("GET", f"{API}/list/paged")
    assert [(call.query["page"], call.query["pageSize"]) for call in pages] == [
        ("1", "10"),
        ("2", "10"),
        ("3", "10"),
    ]


async def test_online_comes_from_the_panels_list_of_online_emails(open_panel: Open) -> None:
    panel, adapter = await open_panel()
    put(panel, "on")
    put(panel, "off")

    nobody = await adapter.get("on")  # the panel answers null when nobody is online
    panel.fake.online = {"on"}
    on, off = await adapter.get("on"), await adapter.get("off")

    assert nobody is not None and nobody.online is False
    assert on is not None and on.online is True
    assert off is not None and off.online is False


async def test_the_subscription_url_joins_the_configured_base_and_the_sub_id(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel(options={"subscription_base_url": "https://s.example/sub/"})
    put(panel, "carol", subId="k3y")

    got = await adapter.get("carol")

    assert got is not None and got.subscription_url == "https://s.example/sub/k3y"


async def test_an_email_with_characters_to_escape_reaches_the_panel_intact(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel()
    name = "a+b@c.d?x#y%"

    made = await adapter.create(new_user(name))
    got = await adapter.get(made.external_id)
    await adapter.delete(made.external_id)

    assert got is not None and got.username == name
    assert panel.stored(name) is None


# --- refusals answered with HTTP 200 ------------------------------------------------


async def test_a_refusal_answered_with_200_on_create_is_panel_rejected_not_user_not_found(
    open_panel: Open,
) -> None:
    _, adapter = await open_panel()

    # The panel says "record not found" about the inbound, not about a client.
    with pytest.raises(PanelRejected, match="record not found") as raised:
        await adapter.create(new_user(template={"inbound_ids": [99]}))

    assert not isinstance(raised.value, UserNotFound)


async def test_the_reference_lives_in_the_comment_and_decides_a_repeated_create(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel()
    put(panel, "dave", comment="order:dave")
    put(panel, "erin", comment="paid in cash")

    again = await adapter.create(new_user("dave"))

    assert again.reference == "order:dave"
    with pytest.raises(UserExists):
        await adapter.create(new_user("erin"))
    # Both creates met the panel's "email already in use", answered with HTTP 200.
    assert len(panel.fake.calls("POST", f"{API}/add")) == 2
    stored = panel.stored("erin")
    assert stored is not None and stored.note == "paid in cash"


async def test_a_template_without_inbounds_is_refused_before_calling_the_panel(
    open_panel: Open,
) -> None:
    panel, adapter = await open_panel()

    with pytest.raises(PanelRejected, match="inbound_ids"):
        await adapter.create(new_user(template={}))

    assert panel.fake.calls("POST", f"{API}/add") == []


# --- the update that replaces the whole client --------------------------------------


async def test_the_fake_panel_resets_what_an_update_leaves_out_and_refuses_a_numeric_id(
    open_panel: Open,
) -> None:
    panel, _ = await open_panel()
    put(panel, "fay", limitIp=3, tgId=42, comment="order:fay", uuid="u-1")
    session = await panel_session(panel)
    url = f"{panel.fake.url}{API}/update/fay"

    partial = {"email": "fay", "expiryTime": EXPIRY_MS, "enable": True}
    replaced = (await session.post(url, json=partial)).json()
    numeric_id = (await session.post(url, json=partial | {"id": 7})).json()
    await session.aclose()

    assert replaced["success"] is True
    record = panel.fake.clients["fay"].record
    assert (record["limitIp"], record["tgId"], record["comment"]) == (0, 0, "")
    assert record["uuid"] == "u-1"  # credentials are kept when left out
    assert numeric_id["success"] is False and "unmarshal" in numeric_id["msg"]


async def test_extend_sends_the_whole_client_back_so_no_field_is_lost(open_panel: Open) -> None:
    panel, adapter = await open_panel()
    kept = {
        "uuid": "6f1c2a4e-1111-4222-8333-944455556666",
        "limitIp": 3,
        "limitHwid": 2,
        "tgId": 42,
        "group": "vip",
        "reset": 30,
        "flow": "xtls-rprx-vision",
        "comment": "order:gus",
        "allowedIPs": "10.0.0.2/32,10.0.0.3/32",
        "trafficReset": "monthly",
        "trafficResetDay": 5,
        "totalGB": 9 * GIB,
    }
    client = put(panel, "gus", expiryTime=EXPIRY_MS - 86_400_000, enable=False, **kept)
    later = EXPIRY + dt.timedelta(days=30)

    extended = await adapter.extend("gus", expires_at=later)

    (call,) = panel.fake.calls("POST", f"{API}/update/gus")
    assert call.body["id"] == kept["uuid"]  # the client id is the UUID, not the row id
    assert call.body["allowedIPs"] == ["10.0.0.2/32", "10.0.0.3/32"]
    assert call.body["expiryTime"] == EXPIRY_MS + 30 * 86_400_000
    record = panel.fake.clients["gus"].record
    assert {key: record[key] for key in kept} == kept
    assert record["subId"] == "sub-gus" and record["enable"] is True
    assert client.row_id == panel.fake.clients["gus"].row_id
    assert extended.state is UserState.ACTIVE and extended.expires_at == later
