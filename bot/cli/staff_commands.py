"""``python -m bot staff``: staff admins from the shell, through the same roles service as
the owners' Staff screen in chat (so the same rules, and the same action log)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services import roles
from bot.services.roles import Permission, StaffView

if TYPE_CHECKING:
    from bot.cli.commands import Call


def _permissions(view: StaffView) -> str:
    return ",".join(p.value for p in Permission if p in view.permissions) or "none"


async def staff_add(call: Call) -> int:
    args = call.args
    view = await roles.add_staff(
        call.db,
        telegram_id=args.telegram_id,
        name=args.name,
        permissions=args.permissions,
        owner_ids=call.settings.admin_ids,
        actor=call.actor,
        now=call.now,
    )
    print(
        f"Staff admin {view.name} ({view.telegram_id}) added, may: {_permissions(view)}. "
        "Telegram shows them the admin commands from their next /start."
    )
    return 0


async def staff_list(call: Call) -> int:
    found = await roles.list_staff(call.db)
    if not found:
        print("No staff admins yet.")
    for view in found:
        since = view.created_at.astimezone(call.settings.zone).strftime("%Y-%m-%d")
        print(
            f"{view.telegram_id}\t{view.name}\t{_permissions(view)}\t"
            f"added {since} by {view.added_by}"
        )
    return 0


async def staff_remove(call: Call) -> int:
    telegram_id = call.args.telegram_id
    await roles.remove_staff(call.db, telegram_id=telegram_id, actor=call.actor, now=call.now)
    print(f"{telegram_id} is no longer a staff admin: nothing is allowed them from now on.")
    return 0
