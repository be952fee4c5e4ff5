"""What each operator command does: one service call and one line of output.

The chat's admin screens call the same service functions, so each rule lives in one place.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.cli import (
    announcement_commands,
    backup_commands,
    chart_command,
    discount_command,
    export_command,
    log_command,
    panel_commands,
    price_list_commands,
    self_pay_command,
    staff_commands,
    stars_commands,
)
from bot.db import Database
from bot.money import format_amount
from bot.services import alerts, panel_suspension, panels, plans, pricing, resellers, wallet
from bot.services.admin_log import ActionError
from bot.services.panel_provider import Panels
from bot.services.panel_suspension import SweepResult
from bot.settings import Settings
from models import Billing, PanelKind, ResellerStatus, TxType


class CliError(Exception):
    """Bad input to a command; printed as one line."""


@dataclass(frozen=True)
class Call:
    args: argparse.Namespace
    settings: Settings
    db: Database
    now: dt.datetime
    actor: str = "cli"

    def money(self, amount: int) -> str:
        return format_amount(amount, self.settings.currency)

    def price(self, amount: int) -> str:
        return format_amount(amount, self.settings.price_currency)


Command = Callable[[Call], Awaitable[int]]


def _expiry(day: dt.date | None, call: Call) -> dt.datetime | None:
    """Credits expiring "on" a day stay usable through that day in the operator's zone."""
    if day is None:
        return None
    expires_at = dt.datetime.combine(
        day + dt.timedelta(days=1), dt.time(), tzinfo=call.settings.zone
    )
    if expires_at <= call.now:
        raise CliError("the expiry date must be today or later")
    return expires_at.astimezone(dt.UTC)


async def db_upgrade(call: Call) -> int:
    print("Database schema is up to date.")
    return 0


async def reseller_add(call: Call) -> int:
    args = call.args
    if args.credit_limit and not args.postpaid:
        raise CliError("--credit-limit needs --postpaid")
    r = await resellers.register_reseller(
        call.db,
        telegram_id=args.telegram_id,
        name=args.name,
        username=args.username,
        billing=Billing.POSTPAID if args.postpaid else Billing.PREPAID,
        credit_limit=args.credit_limit,
        low_balance_threshold=args.threshold,
    )
    limit = f", collection limit {call.money(r.credit_limit)}" if r.postpaid else ""
    print(
        f"Reseller {r.name} ({r.telegram_id}) added: {r.billing}{limit}, "
        f"low-balance threshold {call.money(r.low_balance_threshold)}."
    )
    return 0


async def reseller_list(call: Call) -> int:
    rows = await resellers.list_resellers(call.db)
    if not rows:
        print("No resellers yet.")
    for row in rows:
        r = row.reseller
        print(
            f"{r.telegram_id}\t{r.name}\t{r.billing}\t{r.status}\t"
            f"balance {call.money(row.balance.balance)}\t"
            f"available {call.money(row.balance.available)}"
        )
    return 0


async def _sweep(call: Call, *, suspend: bool) -> SweepResult:
    registry = Panels(call.db, _box(call))
    sweep = panel_suspension.suspend_customers if suspend else panel_suspension.resume_customers
    try:
        return await sweep(
            call.db, registry, telegram_id=call.args.telegram_id, actor=call.actor, now=call.now
        )
    finally:
        await registry.aclose()


def _print_sweep(result: SweepResult) -> int:
    """The counts and each failure; exit code 1 when any failed (running it again retries)."""
    if result.sweep == panel_suspension.Sweep.SUSPEND:
        line = f"Customers disabled on their panels: {result.done}"
        if result.skipped:
            line += f"; already disabled there by hand, left so: {result.skipped}"
    else:
        line = f"Customers resumed on their panels: {result.done}"
    print(f"{line}; failed: {len(result.failed)}.")
    for f in result.failed:
        print(f"  failed: {f.username} on panel {f.panel}: {f.code}")
    return 1 if result.failed else 0


def _set_status(status: ResellerStatus) -> Command:
    suspending = status == ResellerStatus.SUSPENDED

    async def _command(call: Call) -> int:
        # Reactivating always resumes whom the bot suspended; suspending customers is asked.
        with_customers = not suspending or call.args.suspend_customers
        try:
            r = await resellers.set_status(
                call.db,
                telegram_id=call.args.telegram_id,
                status=status,
                actor=call.actor,
                now=call.now,
                reason=call.args.reason,
            )
        except ActionError as exc:
            # Already so: repeating the command retries the customers that failed last time.
            if exc.code != "already_in_status" or not with_customers:
                raise
            result = await _sweep(call, suspend=suspending)
            if not result.attempted:
                raise
            print(f"Reseller {call.args.telegram_id} was already {status}.")
            return _print_sweep(result)
        done = "suspended" if suspending else "active again"
        print(f"Reseller {r.name} ({r.telegram_id}) is {done}; they will be told.")
        if not with_customers:
            return 0
        result = await _sweep(call, suspend=suspending)
        return _print_sweep(result) if suspending or result.attempted else 0

    return _command


async def plan_add(call: Call) -> int:
    args = call.args
    p = await plans.add_plan(
        call.db, code=args.code, name=args.name, days=args.days, price=args.price,
        panel=args.panel, template=args.template, data_limit_bytes=args.data_limit_gb,
        reset_traffic_on_renewal=args.reset_traffic,
    )  # fmt: skip
    print(f"Plan {p.code} added: {p.name}, {p.days} days, {call.money(p.price)}{_where(p)}.")
    return 0


def _where(p: plans.PlanView) -> str:
    if p.panel is None:
        return ""
    gb = p.data_limit_bytes / 1024**3 if p.data_limit_bytes is not None else None
    limit = f", {gb:g} GB" if gb is not None else ", unlimited"
    reset = ", traffic reset on renewal" if p.reset_traffic_on_renewal else ""
    return f", on panel {p.panel}{limit}{reset}"


async def plan_list(call: Call) -> int:
    found = await plans.list_plans(call.db)
    if not found:
        print("No plans yet.")
    for p in found:
        state = "active" if p.active else "disabled"
        where = f"\tpanel {p.panel}" if p.panel else "\tlocal"
        print(f"{p.code}\t{p.name}\t{p.days} days\t{call.money(p.price)}\t{state}{where}")
    return 0


async def credit_move(call: Call) -> int:
    args = call.args
    key = args.key or f"cli:{uuid.uuid4()}"
    change: wallet.WalletChange
    if args.action == "add":
        change = await wallet.add_credit(
            call.db,
            telegram_id=args.reseller,
            amount=args.amount,
            tx_type=TxType(args.type),
            actor=call.actor,
            key=key,
            now=call.now,
            comment=args.comment,
            expires_at=_expiry(args.expires, call),
            tell=True,
        )
    elif args.action == "remove":
        change = await wallet.remove_credit(
            call.db,
            telegram_id=args.reseller,
            amount=args.amount,
            tx_type=TxType(args.type),
            actor=call.actor,
            key=key,
            comment=args.comment,
            now=call.now,
            tell=True,
        )
    else:
        change = await wallet.record_cash_received(
            call.db,
            telegram_id=args.reseller,
            amount=args.amount,
            actor=call.actor,
            key=key,
            comment=args.comment,
        )
    r, b = change.reseller, change.balance
    verb = {"add": "Added", "remove": "Removed", "cash": "Recorded cash of"}[args.action]
    prefix = "Already done with this key; nothing moved. " if change.movement.replayed else ""
    print(
        f"{prefix}{verb} {call.money(args.amount)} for {r.name} ({r.telegram_id}). "
        f"Balance {call.money(b.balance)}, available {call.money(b.available)}."
    )
    return 0


async def credit_expire(call: Call) -> int:
    expired = await alerts.expire_grants(call.db, call.now)
    total = sum(e.amount for e in expired)
    print(f"Expired {len(expired)} grants, {call.money(total)} removed.")
    return 0


async def method_add(call: Call) -> int:
    args = call.args
    m = await pricing.add_method(
        call.db,
        code=args.code,
        name=args.name,
        instructions=args.instructions,
        min_total=args.min_total,
    )
    print(f"Payment method {m.code} added: {m.name}, minimum {call.price(m.min_total)}.")
    return 0


async def method_list(call: Call) -> int:
    found = await pricing.list_methods(call.db)
    if not found:
        print("No payment methods yet.")
    for m in found:
        state = "active" if m.active else "disabled"
        line = f"{m.code}\t{m.name}\tmin {call.price(m.min_total)}\t{state}\t{m.instructions!r}"
        print(line + await stars_commands.described(call, m.id))
    return 0


async def method_disable(call: Call) -> int:
    await pricing.disable_method(call.db, code=call.args.code)
    print(f"Payment method {call.args.code} disabled.")
    return 0


async def tier_add(call: Call) -> int:
    t = await pricing.add_tier(
        call.db, min_credits=call.args.min_credits, unit_price=call.args.unit_price
    )
    print(
        f"Price tier added: from {call.money(t.min_credits)}, "
        f"{call.price(t.unit_price)} per credit."
    )
    return 0


async def tier_list(call: Call) -> int:
    found = await pricing.list_tiers(call.db)
    if not found:
        print("No price tiers yet: top-ups cannot be priced.")
    for t in found:
        print(f"from {call.money(t.min_credits)}\t{call.price(t.unit_price)} per credit")
    return 0


async def tier_remove(call: Call) -> int:
    await pricing.remove_tier(call.db, min_credits=call.args.min_credits)
    print(f"Price tier from {call.money(call.args.min_credits)} removed.")
    return 0


def _box(call: Call) -> panels.SecretBox:
    key = call.settings.secret_key
    return panels.SecretBox(key.get_secret_value() if key else None)


def _credentials(kind: PanelKind) -> dict[str, str]:
    """From PANEL_<FIELD> in the environment, else asked for without echo: never from the
    command line, where they would stay in the shell's history and the process list."""
    alternatives = panels.CREDENTIALS[kind]
    for fields in alternatives:
        found = {f: os.environ.get(f"PANEL_{f.upper()}", "") for f in fields}
        if all(found.values()):
            return found
    names = " or ".join(" + ".join(f"PANEL_{f.upper()}" for f in fs) for fs in alternatives)
    if not sys.stdin.isatty():
        raise CliError(f"set {names} in the environment for a {kind.value} panel")
    return {f: getpass.getpass(f"{f.replace('_', ' ')}: ") for f in alternatives[0]}


async def panel_add(call: Call) -> int:
    args = call.args
    box = _box(call)
    box.seal({})  # says how to make SECRET_KEY before anything is asked
    kind = PanelKind(args.kind)
    p = await panels.add_panel(
        call.db, box, name=args.name, kind=kind, base_url=args.url,
        credentials=_credentials(kind), options=dict(args.option),
    )  # fmt: skip
    print(f"Panel {p.name} added: {p.kind.value} at {p.base_url}. Check it with `panel test`.")
    return 0


async def panel_list(call: Call) -> int:
    found = await panels.list_panels(call.db)
    if not found:
        print("No panels yet.")
    for p in found:
        state = "enabled" if p.enabled else "disabled"
        print(f"{p.name}\t{p.kind.value}\t{p.base_url}\t{state}")
    return 0


async def panel_test(call: Call) -> int:
    p = await panels.check_panel(call.db, _box(call), call.args.name)
    print(f"Panel {p.name} answers and accepts the credentials.")
    return 0


async def panel_disable(call: Call) -> int:
    p = await panels.set_enabled(call.db, call.args.name, enabled=False)
    print(f"Panel {p.name} disabled: its plans cannot be sold until it is enabled again.")
    return 0


async def audit(call: Call) -> int:
    report = await wallet.audit(call.db)
    for problem in report.problems:
        print(f"problem: {problem}")
    if not report.ok:
        print(f"Ledger audit FAILED: {len(report.problems)} problems.")
        return 1
    print(f"Ledger audit OK: {report.accounts} accounts, {report.transfers} transfers.")
    return 0


COMMANDS: dict[tuple[str, str | None], Command] = {
    ("db", "upgrade"): db_upgrade,
    ("reseller", "add"): reseller_add,
    ("reseller", "list"): reseller_list,
    ("reseller", "suspend"): _set_status(ResellerStatus.SUSPENDED),
    ("reseller", "activate"): _set_status(ResellerStatus.ACTIVE),
    ("plan", "add"): plan_add,
    ("plan", "list"): plan_list,
    ("panel", "add"): panel_add,
    ("panel", "list"): panel_list,
    ("panel", "test"): panel_test,
    ("panel", "disable"): panel_disable,
    ("panel", "check"): panel_commands.panel_check,
    ("panel", "import"): panel_commands.panel_import,
    ("credit", "add"): credit_move,
    ("credit", "remove"): credit_move,
    ("credit", "cash"): credit_move,
    ("credit", "expire"): credit_expire,
    ("payment-method", "add"): method_add,
    ("payment-method", "list"): method_list,
    ("payment-method", "disable"): method_disable,
    ("payment-method", "stars"): stars_commands.method_stars,
    ("price-tier", "add"): tier_add,
    ("price-tier", "list"): tier_list,
    ("price-tier", "remove"): tier_remove,
    ("audit", None): audit,
    ("log", None): log_command.log,
    ("staff", "add"): staff_commands.staff_add,
    ("staff", "list"): staff_commands.staff_list,
    ("staff", "remove"): staff_commands.staff_remove,
    **price_list_commands.COMMANDS,
    **backup_commands.COMMANDS,
    **export_command.COMMANDS,
    **chart_command.COMMANDS,
    **self_pay_command.COMMANDS,
    **discount_command.COMMANDS,
    **announcement_commands.COMMANDS,
}
