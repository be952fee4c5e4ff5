"""Staff admins in the roles service: what is stored and read back, what is refused, and
that every change is in the action log with what it was before and after."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from bot.db import Database
from bot.services import resellers, roles
from bot.services.admin_log import ActionError
from bot.services.resellers import Role
from bot.services.roles import EVERYTHING, Permission
from models import AdminAction, StaffAdmin
from tests.helpers import make_reseller, now

OWNERS = frozenset({900})


async def _add(db: Database, telegram_id: int = 700, *permissions: Permission) -> None:
    await roles.add_staff(
        db,
        telegram_id=telegram_id,
        name="  Sam \n Staff ",
        permissions=permissions,
        owner_ids=OWNERS,
        actor="tg:900",
        now=now(),
    )


async def _log(db: Database) -> list[tuple[str, str, dict[str, object]]]:
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(AdminAction.actor, AdminAction.action, AdminAction.details).order_by(
                    AdminAction.id
                )
            )
        ).all()
    return [(actor, action, json.loads(details or "null")) for actor, action, details in rows]


async def test_permissions_are_stored_sorted_and_read_back_as_given(db: Database) -> None:
    await _add(db, 700, Permission.TOPUPS, Permission.CREDITS)
    async with db.transaction() as session:
        stored = await session.scalar(select(StaffAdmin.permissions))
    assert stored == "credits,topups"
    view = await roles.staff(db, 700)
    assert view is not None
    assert view.name == "Sam Staff"  # one line, no stray spaces
    assert view.permissions == {Permission.TOPUPS, Permission.CREDITS}
    assert await roles.permissions_of(db, 700, OWNERS) == {Permission.TOPUPS, Permission.CREDITS}
    assert [s.telegram_id for s in await roles.list_staff(db)] == [700]


async def test_owners_may_do_everything_and_strangers_nothing(db: Database) -> None:
    await _add(db, 700)
    assert await roles.permissions_of(db, 900, OWNERS) == EVERYTHING
    assert await roles.permissions_of(db, 700, OWNERS) == frozenset()
    assert await roles.permissions_of(db, 701, OWNERS) == frozenset()
    # Told apart: a staff admin without permissions is still an admin, a stranger is not.
    assert await roles.admin_permissions(db, 700, OWNERS) == frozenset()
    assert await roles.admin_permissions(db, 701, OWNERS) is None


async def test_a_stored_permission_this_version_does_not_know_is_ignored(db: Database) -> None:
    await _add(db, 700, Permission.TOPUPS)
    async with db.transaction() as session:
        await session.execute(update(StaffAdmin).values(permissions="retired,topups"))
    assert await roles.permissions_of(db, 700, OWNERS) == {Permission.TOPUPS}


@pytest.mark.parametrize(
    ("telegram_id", "code"),
    [
        (900, "already_owner"),
        (700, "already_staff"),
        (0, "bad_telegram_id"),
        (2**63, "bad_telegram_id"),
    ],
)
async def test_adding_an_owner_someone_already_staff_or_no_user_id_is_refused(
    db: Database, telegram_id: int, code: str
) -> None:
    await _add(db, 700, Permission.REPORTS)
    before = await _log(db)
    with pytest.raises(ActionError) as refused:
        await _add(db, telegram_id, Permission.TOPUPS)
    assert refused.value.code == code
    assert await _log(db) == before  # nothing written
    view = await roles.staff(db, 700)
    assert view is not None and view.permissions == {Permission.REPORTS}


async def test_adding_setting_and_removing_are_logged_with_before_and_after(
    db: Database,
) -> None:
    await _add(db, 700, Permission.REPORTS)
    for allowed in (True, True):  # the same change twice is one change
        await roles.set_permission(
            db, telegram_id=700, permission=Permission.TOPUPS, allowed=allowed,
            actor="tg:900", now=now(),
        )  # fmt: skip
    await roles.set_permission(
        db, telegram_id=700, permission=Permission.REPORTS, allowed=False,
        actor="tg:901", now=now(),
    )  # fmt: skip
    await roles.remove_staff(db, telegram_id=700, actor="cli", now=now())

    assert await _log(db) == [
        ("tg:900", "staff_added", {"before": None, "after": {
            "telegram_id": 700, "name": "Sam Staff", "permissions": "reports"}}),
        ("tg:900", "staff_permissions", {
            "before": {"telegram_id": 700, "permissions": "reports"},
            "after": {"telegram_id": 700, "permissions": "reports,topups"}}),
        ("tg:901", "staff_permissions", {
            "before": {"telegram_id": 700, "permissions": "reports,topups"},
            "after": {"telegram_id": 700, "permissions": "topups"}}),
        ("cli", "staff_removed", {"before": {
            "telegram_id": 700, "name": "Sam Staff", "permissions": "topups"}, "after": None}),
    ]  # fmt: skip
    assert await roles.staff(db, 700) is None
    assert await roles.permissions_of(db, 700, OWNERS) == frozenset()


async def test_changing_or_removing_someone_who_is_not_staff_is_refused(db: Database) -> None:
    with pytest.raises(ActionError) as refused:
        await roles.set_permission(
            db, telegram_id=700, permission=Permission.TOPUPS, allowed=True,
            actor="tg:900", now=now(),
        )  # fmt: skip
    assert refused.value.code == "no_such_staff"
    with pytest.raises(ActionError) as refused:
        await roles.remove_staff(db, telegram_id=700, actor="tg:900", now=now())
    assert refused.value.code == "no_such_staff"
    assert await _log(db) == []


async def test_a_staff_admin_is_identified_as_an_admin_with_their_permissions(
    db: Database,
) -> None:
    await make_reseller(db, 700, name="Sam")
    assert (await resellers.identify(db, 700, OWNERS)).role == Role.RESELLER
    await _add(db, 700, Permission.TOPUPS)
    staff = await resellers.identify(db, 700, OWNERS)
    assert staff.role == Role.ADMIN and not staff.owner
    assert staff.permissions == {Permission.TOPUPS}
    assert staff.reseller is not None and staff.reseller.telegram_id == 700  # still sells
    owner = await resellers.identify(db, 900, OWNERS)
    assert owner.role == Role.ADMIN and owner.owner and owner.permissions == EVERYTHING
    await roles.remove_staff(db, telegram_id=700, actor="tg:900", now=now())
    assert (await resellers.identify(db, 700, OWNERS)).role == Role.RESELLER
