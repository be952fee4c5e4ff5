"""The operator commands that read a panel's users: ``panel check`` and ``panel import``."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.services import panels
from bot.services.panel_import import Imported, import_users
from bot.services.panel_provider import Panels
from bot.services.panel_sync import Difference, PanelReport, compare

if TYPE_CHECKING:
    from bot.cli.commands import Call

SHOWN = 10  # usernames listed per kind of skip; the counts are always whole


def _registry(call: Call) -> Panels:
    key = call.settings.secret_key
    return Panels(call.db, panels.SecretBox(key.get_secret_value() if key else None))


def _day(moment: dt.datetime | None, call: Call) -> str:
    return moment.astimezone(call.settings.zone).strftime("%Y-%m-%d") if moment else "never"


def _report_lines(report: PanelReport, call: Call) -> list[str]:
    def here(d: Difference) -> str:
        return f"here until {_day(d.bot_expires_at, call)}"

    def there(d: Difference) -> str:
        state = d.panel_state.value if d.panel_state else "?"
        return f"{state} on the panel, expires there {_day(d.panel_expires_at, call)}"

    sections = (
        ("Missing on the panel", report.missing, here),
        ("Expired early on the panel", report.expired_early, lambda d: f"{there(d)}, {here(d)}"),
        ("Disabled on the panel", report.disabled, here),
        ("On the panel, unknown to the bot", report.unknown, there),
    )
    lines = []
    for title, found, describe in sections:
        if found:
            lines.append(f"{title} ({len(found)}):")
            lines.extend(f"  {d.username}\t{describe(d)}" for d in found)
    return lines


async def panel_check(call: Call) -> int:
    registry = _registry(call)
    try:
        [report] = await compare(call.db, registry, now=call.now, name=call.args.name)
    finally:
        await registry.aclose()
    if not report.checked:
        print(f"error: panel {report.panel} could not be checked: {report.error}", file=sys.stderr)
        return 1
    counts = f"{report.customers} active customers here, {report.panel_users} users on the panel"
    if report.clean:
        print(f"Panel {report.panel} agrees with the bot: {counts}.")
        return 0
    print(f"Panel {report.panel}: {report.differences} differences; {counts}.")
    for line in _report_lines(report, call):
        print(line)
    print("Nothing was changed.")
    return 0


def _listed(title: str, names: Sequence[str]) -> str | None:
    if not names:
        return None
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return f"{title} ({len(names)}): {', '.join(names[:SHOWN])}{more}"


async def panel_import(call: Call) -> int:
    args = call.args
    registry = _registry(call)
    try:
        done: Imported = await import_users(
            call.db, registry, panel=args.name, reseller_telegram_id=args.reseller,
            plan_code=args.plan, now=call.now, actor=call.actor, dry_run=args.dry_run,
        )  # fmt: skip
    finally:
        await registry.aclose()
    verb = "Would import" if done.dry_run else "Imported"
    print(
        f"{verb} {done.imported} users of panel {done.panel} as customers of {done.reseller} "
        f"on plan {done.plan} ({len(done.active)} active, {len(done.expired)} expired), "
        f"without charging; {done.already} were customers already."
    )
    for line in (
        _listed("Skipped, the username belongs to another customer or sale", done.clashes),
        _listed("Skipped, not a valid customer username", done.invalid),
        _listed("Skipped, no expiry on the panel", done.no_expiry),
    ):
        if line:
            print(line)
    if done.dry_run:
        print("Dry run: nothing was written.")
    return 0
