"""The panel contract, part one: what each operation does to a user on the panel.

See ``tests/panels/contract.py`` for what a harness must provide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.adapters.panels.base import GIB, UserExists, UserNotFound, UserState
from tests.panels.contract import (
    LISTED_USERS,
    Rig,
    assert_same_instant,
    now,
    open_rig,
    registered,
    unique_name,
    whole_seconds,
)
from tests.panels.registry import HARNESSES


@pytest.fixture(params=registered())
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with open_rig(str(request.param)) as opened:
        yield opened


def test_the_registry_names_at_least_one_panel() -> None:
    assert HARNESSES, "register each fake panel's harness in tests/panels/registry.py"


async def test_the_adapter_the_registry_and_the_harness_agree_on_the_panel_name(
    rig: Rig,
) -> None:
    assert rig.adapter.name == rig.fake.name == rig.name


# --- create -------------------------------------------------------------------------


async def test_a_created_user_is_active_with_the_expiry_limit_and_reference_asked_for(
    rig: Rig,
) -> None:
    user, made = await rig.created(data_limit_bytes=7 * GIB)

    assert made.username == user.username
    assert made.external_id
    assert made.state is UserState.ACTIVE
    assert_same_instant(made.expires_at, user.expires_at)
    assert made.data_limit_bytes == rig.traffic(7 * GIB)
    assert made.used_bytes == 0
    assert made.reference == user.reference
    stored = rig.fake.stored(user.username)
    assert stored is not None
    assert stored.enabled
    assert_same_instant(stored.expires_at, user.expires_at)
    assert stored.data_limit_bytes == rig.traffic(7 * GIB)
    assert stored.note is not None and user.reference in stored.note


async def test_a_user_created_without_a_data_limit_is_unlimited(rig: Rig) -> None:
    user, made = await rig.created(data_limit_bytes=None)

    assert made.data_limit_bytes is None
    stored = rig.fake.stored(user.username)
    assert stored is not None and stored.data_limit_bytes is None


async def test_a_create_repeated_with_the_same_reference_returns_the_user(rig: Rig) -> None:
    user, first = await rig.created()

    again = await rig.adapter.create(user)

    assert again.external_id == first.external_id
    assert again.reference == user.reference
    assert_same_instant(again.expires_at, user.expires_at)


async def test_a_create_after_the_panel_made_the_user_for_this_order_returns_it(
    rig: Rig,
) -> None:
    # The panel made it, then the bot crashed before recording the answer.
    user = rig.new_user()
    rig.fake.seed(user, note=user.reference)

    made = await rig.adapter.create(user)

    assert made.username == user.username
    assert made.reference == user.reference


async def test_a_create_over_a_user_made_for_another_order_raises_user_exists(
    rig: Rig,
) -> None:
    user, _ = await rig.created(reference="order:1")
    clash = rig.new_user(user.username, reference="order:2", days=90)

    with pytest.raises(UserExists):
        await rig.adapter.create(clash)

    stored = rig.fake.stored(user.username)
    assert stored is not None and stored.note is not None
    assert "order:1" in stored.note and "order:2" not in stored.note
    assert_same_instant(stored.expires_at, user.expires_at)


async def test_a_create_over_a_user_an_admin_made_raises_user_exists(rig: Rig) -> None:
    user = rig.new_user()
    rig.fake.seed(user, note=None)

    with pytest.raises(UserExists):
        await rig.adapter.create(user)


# --- extend -------------------------------------------------------------------------


async def test_extending_an_active_user_moves_its_expiry_and_keeps_its_traffic(
    rig: Rig,
) -> None:
    user, made = await rig.created(days=5)
    rig.fake.set_used(user.username, 3 * GIB)
    later = whole_seconds(now() + dt.timedelta(days=35))

    extended = await rig.adapter.extend(made.external_id, expires_at=later)

    assert extended.state is UserState.ACTIVE
    assert_same_instant(extended.expires_at, later)
    assert extended.used_bytes == rig.used(3 * GIB)
    stored = rig.fake.stored(user.username)
    assert stored is not None and stored.enabled
    assert_same_instant(stored.expires_at, later)
    assert stored.used_bytes == rig.used(3 * GIB)
    assert stored.data_limit_bytes == rig.traffic(user.data_limit_bytes)


async def test_an_expired_user_reads_as_expired_and_extending_it_makes_it_active(
    rig: Rig,
) -> None:
    user = rig.new_user(days=-2)
    rig.fake.seed(user, note=user.reference)
    found = await rig.adapter.find(user.username)
    assert found is not None
    assert found.state is UserState.EXPIRED
    later = whole_seconds(now() + dt.timedelta(days=30))

    extended = await rig.adapter.extend(found.external_id, expires_at=later)

    assert extended.state is UserState.ACTIVE
    assert_same_instant(extended.expires_at, later)
    stored = rig.fake.stored(user.username)
    assert stored is not None and stored.enabled
    assert_same_instant(stored.expires_at, later)


async def test_extending_with_reset_traffic_zeroes_the_used_traffic(rig: Rig) -> None:
    user, made = await rig.created()
    rig.fake.set_used(user.username, 4 * GIB)
    later = whole_seconds(now() + dt.timedelta(days=60))

    extended = await rig.adapter.extend(made.external_id, expires_at=later, reset_traffic=True)

    assert extended.used_bytes == 0
    stored = rig.fake.stored(user.username)
    assert stored is not None and stored.used_bytes == 0
    assert_same_instant(stored.expires_at, later)


async def test_extending_a_suspended_user_enables_it(rig: Rig) -> None:
    user, made = await rig.created()
    await rig.adapter.suspend(made.external_id)
    later = whole_seconds(now() + dt.timedelta(days=45))

    extended = await rig.adapter.extend(made.external_id, expires_at=later)

    assert extended.state is UserState.ACTIVE
    stored = rig.fake.stored(user.username)
    assert stored is not None and stored.enabled


async def test_extending_a_missing_user_raises_user_not_found(rig: Rig) -> None:
    user, made = await rig.created()
    await rig.adapter.delete(made.external_id)

    with pytest.raises(UserNotFound):
        await rig.adapter.extend(made.external_id, expires_at=user.expires_at)


# --- suspend, resume, delete --------------------------------------------------------


async def test_suspending_disables_the_user_and_resuming_enables_it_with_its_expiry(
    rig: Rig,
) -> None:
    user, made = await rig.created()

    suspended = await rig.adapter.suspend(made.external_id)

    assert suspended.state is UserState.DISABLED
    stored = rig.fake.stored(user.username)
    assert stored is not None and not stored.enabled

    resumed = await rig.adapter.resume(made.external_id)

    assert resumed.state is UserState.ACTIVE
    assert_same_instant(resumed.expires_at, user.expires_at)
    stored = rig.fake.stored(user.username)
    assert stored is not None and stored.enabled
    assert_same_instant(stored.expires_at, user.expires_at)


async def test_suspending_or_resuming_a_missing_user_raises_user_not_found(rig: Rig) -> None:
    _, made = await rig.created()
    await rig.adapter.delete(made.external_id)

    with pytest.raises(UserNotFound):
        await rig.adapter.suspend(made.external_id)
    with pytest.raises(UserNotFound):
        await rig.adapter.resume(made.external_id)


async def test_deleting_removes_the_user_from_the_panel(rig: Rig) -> None:
    user, made = await rig.created()

    await rig.adapter.delete(made.external_id)

    assert rig.fake.stored(user.username) is None
    assert await rig.adapter.get(made.external_id) is None


async def test_deleting_a_missing_user_raises_user_not_found(rig: Rig) -> None:
    _, made = await rig.created()
    await rig.adapter.delete(made.external_id)

    with pytest.raises(UserNotFound):
        await rig.adapter.delete(made.external_id)


# --- reading ------------------------------------------------------------------------


async def test_get_returns_the_user_with_its_used_traffic_in_bytes(rig: Rig) -> None:
    user, made = await rig.created()
    rig.fake.set_used(user.username, 1536 * 1024**2)

    got = await rig.adapter.get(made.external_id)

    assert got is not None
    assert got.username == user.username
    assert got.external_id == made.external_id
    assert got.used_bytes == rig.used(1536 * 1024**2)
    assert got.data_limit_bytes == rig.traffic(user.data_limit_bytes)
    assert got.reference == user.reference
    assert_same_instant(got.expires_at, user.expires_at)


async def test_get_of_a_missing_user_returns_none(rig: Rig) -> None:
    _, made = await rig.created()
    await rig.adapter.delete(made.external_id)

    assert await rig.adapter.get(made.external_id) is None


async def test_find_returns_the_user_with_that_username_among_others(rig: Rig) -> None:
    for _ in range(3):
        other = rig.new_user()
        rig.fake.seed(other, note=other.reference)
    user, made = await rig.created()

    found = await rig.adapter.find(user.username)

    assert found is not None
    assert found.username == user.username
    assert found.external_id == made.external_id
    assert found.reference == user.reference


async def test_find_of_an_unknown_username_returns_none(rig: Rig) -> None:
    other = rig.new_user()
    rig.fake.seed(other, note=other.reference)

    assert await rig.adapter.find(unique_name()) is None


async def test_list_users_yields_every_user_once_across_pages(rig: Rig) -> None:
    seeded = []
    for _ in range(LISTED_USERS - 1):
        user = rig.new_user()
        rig.fake.seed(user, note=user.reference)
        seeded.append(user)
    mine, _ = await rig.created()

    listed = [user async for user in rig.adapter.list_users()]

    names = [user.username for user in listed]
    assert len(names) == len(set(names)), "a user was listed twice"
    expected = {user.username for user in seeded} | {mine.username}
    assert expected <= set(names)
    by_name = {user.username: user for user in listed}
    assert by_name[mine.username].reference == mine.reference
    assert_same_instant(by_name[mine.username].expires_at, mine.expires_at)


# --- sessions -----------------------------------------------------------------------


async def test_the_adapter_logs_in_once_and_reuses_its_session(rig: Rig) -> None:
    _, made = await rig.created()
    for _ in range(3):
        await rig.adapter.get(made.external_id)
    await rig.adapter.extend(made.external_id, expires_at=whole_seconds(now()) + dt.timedelta(9))

    assert rig.fake.login_count() <= 1


async def test_an_expired_session_is_renewed_by_logging_in_again_once(rig: Rig) -> None:
    user, made = await rig.created()
    before = rig.fake.login_count()
    rig.fake.expire_auth()

    got = await rig.adapter.get(made.external_id)

    assert got is not None and got.username == user.username
    # Panels with a static token never log in; the others log in exactly once more.
    assert rig.fake.login_count() == (before + 1 if before else 0)
