"""The webhook adapter's signed requests, the fake endpoint's checks, and the adapter's
reading of every answer the contract documents."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.adapters.panels.base import (
    GIB,
    NewUser,
    PanelAuthFailed,
    PanelRejected,
    PanelUnavailable,
    UserExists,
    UserNotFound,
    UserState,
)
from bot.adapters.panels.webhook import WebhookAdapter, signature
from tests.panels.fake_webhook import PATH, WINDOW_SECONDS, Received, WebhookHarness

EXPIRY = dt.datetime(2031, 1, 17, 15, 38, 45, tzinfo=dt.UTC)
LATER = dt.datetime(2031, 3, 1, 8, 0, 0, tzinfo=dt.UTC)
Rig = tuple[WebhookHarness, WebhookAdapter]


def new_user(username: str = "alice_01", reference: str = "order:42") -> NewUser:
    return NewUser(username, EXPIRY, reference, 5 * GIB, {"plan": "basic"})


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    harness = WebhookHarness()
    adapter = await harness.start()
    assert isinstance(adapter, WebhookAdapter)
    try:
        yield harness, adapter
    finally:
        await adapter.aclose()
        await harness.stop()


def user_body(**fields: Any) -> dict[str, Any]:
    return {"ok": True, "user": {"id": "u-9", "username": "alice_01", **fields}}


async def post(harness: WebhookHarness, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """A request from outside the adapter: a replay, a forgery."""
    async with httpx.AsyncClient() as client:
        return await client.post(f"{harness.fake.url}{PATH}", content=body, headers=headers)


def signed(
    harness: WebhookHarness, payload: dict[str, Any], at: float
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    timestamp = str(int(at))
    return body, {
        "Content-Type": "application/json",
        "X-Timestamp": timestamp,
        "X-Signature": signature(harness.fake.secret, timestamp, body),
    }


def last(harness: WebhookHarness) -> Received:
    return harness.fake.received[-1]


# --- the signature --------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_over_the_timestamp_a_dot_and_the_body() -> None:
    # The same value as: printf '%s' '<timestamp>.<body>' | openssl dgst -sha256 -hmac <secret>
    body = b'{"request_id":"00112233445566778899aabbccddeeff","action":"get","user_id":"u-1"}'

    assert signature("shared-secret", "1767225600", body) == (
        "sha256=91b16e57bd845995d0e3c9f2bd5f19607c012ff84506a4e1e336b76a6a82c1b0"
    )


async def test_a_create_is_one_signed_json_post_a_receiver_can_verify(rig: Rig) -> None:
    harness, adapter = rig

    await adapter.create(new_user())

    request = last(harness)
    timestamp = request.headers["X-Timestamp"]
    mac = hmac.new(
        harness.fake.secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    )
    assert request.headers["X-Signature"] == f"sha256={mac.hexdigest()}"
    assert abs(int(timestamp) - time.time()) < 5
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert len(body.pop("request_id")) == 32
    assert body == {
        "action": "create",
        "user": {
            "username": "alice_01",
            "expires_at": int(EXPIRY.timestamp()),
            "reference": "order:42",
            "data_limit_bytes": 5 * GIB,
            "template": {"plan": "basic"},
        },
    }
    assert harness.fake.secret not in request.body.decode()


async def test_the_endpoint_refuses_a_tampered_body(rig: Rig) -> None:
    harness, adapter = rig
    made = await adapter.extend((await adapter.create(new_user())).external_id, expires_at=LATER)
    original = last(harness)
    forged = original.body.replace(str(int(LATER.timestamp())).encode(), b"4102444800")
    forged = forged.replace(json.loads(original.body)["request_id"].encode(), b"f" * 32)

    answer = await post(harness, forged, original.headers)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_signature"
    assert last(harness).verdict == "bad_signature"
    assert harness.fake.accounts[made.external_id].expires_at == int(LATER.timestamp())


@pytest.mark.parametrize("offset", [-(WINDOW_SECONDS + 5), WINDOW_SECONDS + 5])
async def test_the_endpoint_refuses_a_timestamp_outside_its_window(rig: Rig, offset: int) -> None:
    harness, _ = rig
    payload = {"request_id": "a" * 32, "action": "find", "username": "alice_01"}

    answer = await post(harness, *signed(harness, payload, time.time() + offset))

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "stale_timestamp"


async def test_the_endpoint_acts_on_a_request_signed_a_little_while_ago(rig: Rig) -> None:
    harness, _ = rig
    harness.fake.add("alice_01")
    payload = {"request_id": "b" * 32, "action": "find", "username": "alice_01"}

    answer = await post(harness, *signed(harness, payload, time.time() - WINDOW_SECONDS + 30))

    assert answer.status_code == 200 and answer.json()["user"]["username"] == "alice_01"


async def test_the_endpoint_refuses_a_replayed_request_even_within_the_window(rig: Rig) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())
    await adapter.extend(made.external_id, expires_at=EXPIRY + dt.timedelta(days=5))
    first_extend = last(harness)
    await adapter.extend(made.external_id, expires_at=LATER)

    answer = await post(harness, first_extend.body, first_extend.headers)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "replayed"
    assert harness.fake.accounts[made.external_id].expires_at == int(LATER.timestamp())


async def test_a_wrong_secret_raises_auth_failed_and_nothing_is_made(rig: Rig) -> None:
    harness, _ = rig
    adapter = WebhookAdapter(harness.config(secret="whs-not-the-shared-one"))

    with pytest.raises(PanelAuthFailed) as raised:
        await adapter.create(new_user())

    assert "bad_signature" in str(raised.value)
    assert harness.fake.accounts == {}
    await adapter.aclose()


# --- retries ----------------------------------------------------------------------------


async def test_a_read_is_retried_as_a_new_signed_request_so_it_is_no_replay(rig: Rig) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())
    harness.fake.fail_next(503)

    got = await adapter.get(made.external_id)

    assert got is not None and got.username == "alice_01"
    failed, retried = harness.fake.received[-2:]
    assert (failed.verdict, retried.verdict) == ("scripted", "accepted")
    assert json.loads(failed.body)["request_id"] != json.loads(retried.body)["request_id"]


async def test_a_write_is_sent_once_when_its_outcome_is_unknown(rig: Rig) -> None:
    harness, adapter = rig
    made = await adapter.create(new_user())
    harness.fake.fail_next(503)

    with pytest.raises(PanelUnavailable):
        await adapter.extend(made.external_id, expires_at=LATER)

    assert json.loads(last(harness).body)["action"] == "extend"
    assert [r.verdict for r in harness.fake.received] == ["accepted", "scripted"]


# --- the answers ------------------------------------------------------------------------


async def test_a_user_comes_back_in_plain_units_with_its_credentials_and_link(rig: Rig) -> None:
    harness, adapter = rig

    made = await adapter.create(new_user())

    account = harness.fake.accounts[made.external_id]
    assert made.external_id == account.id
    assert (made.state, made.expires_at, made.used_bytes) == (UserState.ACTIVE, EXPIRY, 0)
    assert made.data_limit_bytes == 5 * GIB
    assert made.credentials == {"password": account.password}
    assert made.subscription_url == f"https://sub.example.test/{account.id}"
    assert made.online is None


@pytest.mark.parametrize("idempotent", [False, True], ids=["409 then find", "200 at once"])
async def test_a_username_taken_by_this_order_is_returned_whichever_way_the_endpoint_answers(
    rig: Rig, idempotent: bool
) -> None:
    harness, adapter = rig
    harness.fake.idempotent_create = idempotent
    first = await adapter.create(new_user())

    again = await adapter.create(new_user())

    assert again.external_id == first.external_id
    actions = [body["action"] for body in harness.fake.accepted()]
    assert actions == (["create", "create"] if idempotent else ["create", "create", "find"])


@pytest.mark.parametrize("idempotent", [False, True], ids=["409 then find", "200 at once"])
async def test_a_username_taken_by_another_order_raises_user_exists(
    rig: Rig, idempotent: bool
) -> None:
    harness, adapter = rig
    harness.fake.idempotent_create = idempotent
    harness.fake.add("alice_01", reference="order:7")

    with pytest.raises(UserExists):
        await adapter.create(new_user())


async def test_a_200_create_answer_with_another_order_s_user_raises_user_exists(rig: Rig) -> None:
    harness, adapter = rig
    harness.fake.answer_next(200, user_body(reference="order:7"))

    with pytest.raises(UserExists):
        await adapter.create(new_user())


async def test_a_create_answer_without_the_reference_is_an_unknown_outcome(rig: Rig) -> None:
    harness, adapter = rig
    harness.fake.answer_next(200, user_body())

    with pytest.raises(PanelUnavailable):
        await adapter.create(new_user())


async def test_not_found_reads_as_none_for_get_and_find_and_raises_for_writes(rig: Rig) -> None:
    _, adapter = rig

    assert await adapter.get("u-404") is None
    assert await adapter.find("nobody") is None
    for write in (adapter.suspend, adapter.resume, adapter.delete):
        with pytest.raises(UserNotFound):
            await write("u-404")
    with pytest.raises(UserNotFound):
        await adapter.extend("u-404", expires_at=LATER)


async def test_a_404_without_the_contract_s_code_is_a_refusal_and_not_a_missing_user(
    rig: Rig,
) -> None:
    harness, _ = rig
    adapter = WebhookAdapter(harness.config(path="/not-the-hook"))

    with pytest.raises(PanelRejected) as raised:
        await adapter.get("u-1001")

    assert raised.value.status == 404 and not isinstance(raised.value, UserNotFound)
    await adapter.aclose()


async def test_a_refusal_reports_the_endpoint_s_code_and_message(rig: Rig) -> None:
    harness, adapter = rig
    error = {"code": "plan_unknown", "message": "no plan called basic"}
    harness.fake.answer_next(422, {"ok": False, "error": error})

    with pytest.raises(PanelRejected, match="plan_unknown: no plan called basic") as raised:
        await adapter.create(new_user())

    assert raised.value.status == 422


@pytest.mark.parametrize(
    "answer",
    [
        {"user": {"id": "u-9", "username": "alice_01"}},
        {"ok": "yes", "user": {"id": "u-9", "username": "alice_01"}},
        {"ok": True},
        user_body(id=9),
        user_body(state="paused"),
        user_body(expires_at="2031-01-17"),
        user_body(used_bytes=True),
        user_body(credentials={"pin": 1234}),
        [1, 2],
    ],
    ids=[
        "no ok", "ok not true", "no user", "numeric id", "unknown state", "expiry as text",
        "boolean bytes", "credentials not text", "not an object",
    ],
)  # fmt: skip
async def test_a_2xx_answer_off_the_contract_is_an_unknown_outcome(rig: Rig, answer: Any) -> None:
    harness, adapter = rig
    harness.fake.answer_next(200, answer)
    harness.fake.answer_next(200, answer)  # the retry of the read meets it too

    with pytest.raises(PanelUnavailable):
        await adapter.get("u-9")


async def test_list_follows_the_cursor_until_it_is_null(rig: Rig) -> None:
    harness, adapter = rig
    for number in range(23):
        harness.fake.add(f"user_{number:02}")

    listed = [user.username async for user in adapter.list_users()]

    assert listed == [f"user_{number:02}" for number in range(23)]
    pages = [(b["cursor"], b["limit"]) for b in harness.fake.accepted()]
    assert pages == [(None, 10), ("after:1010", 10), ("after:1020", 10)]


async def test_a_list_whose_cursor_comes_back_again_stops_as_unavailable(rig: Rig) -> None:
    harness, adapter = rig
    page = {"ok": True, "users": [user_body()["user"]], "next_cursor": "same"}
    for _ in range(3):
        harness.fake.answer_next(200, page)

    with pytest.raises(PanelUnavailable, match="repeated a cursor"):
        _ = [user async for user in adapter.list_users()]
