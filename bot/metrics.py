"""Prometheus metrics: what the bot does, counted where it happens.

Label values come from a closed set (handler callback names, job names, panels the
operator configured, a few outcomes), so the number of series stays bounded.

- Updates: the update processor (bot/updates.py) times each update; the handler that
  took it names itself through ``_handled_by`` (each answering handler's callback is
  wrapped once, after registration, by ``instrument_handlers``): the label is the
  callback's module and name. An update no handler took is ``unhandled``.
- Sales: ``observed_sale`` wraps ``sales.sell``; the panel the sale used is noted by
  ``Panels.adapter`` through ``note_panel`` (``local`` when none).
- Panel calls: ``Panels.call`` times every call and counts the ones without a proper answer.
- Telegram 429s: the rate limiter (bot/ratelimit.py) counts each one.
- Outbox: the sender counts what it sent; the backlog is read from the database on
  each scrape (bot/health.py).
- Leadership (bot/leader.py): whether this instance runs the jobs, and each change.
- Jobs: ``timed_job`` wraps each scheduled job's callback (``jobs.register``).
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, ParamSpec, TypeVar

from prometheus_client import Counter, Gauge, Histogram

P = ParamSpec("P")
T = TypeVar("T")

UNHANDLED = "unhandled"
DEFAULT_GROUP = 0  # PTB's default handler group, where the bot's answering handlers are
LOCAL = "local"

UPDATES = Counter(
    "bot_updates_total", "Updates handled, by the handler that took them", ["handler", "outcome"]
)
UPDATE_SECONDS = Histogram(
    "bot_update_seconds",
    "Time to handle one update, by handler",
    ["handler"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SALES = Counter("bot_sales_total", "Sales tried, by panel and outcome", ["panel", "outcome"])
SALE_SECONDS = Histogram(
    "bot_sale_seconds",
    "Time of one sale, provisioning included, by panel",
    ["panel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
PANEL_SECONDS = Histogram(
    "bot_panel_call_seconds",
    "Time of one call to a panel, by panel",
    ["panel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PANEL_ERRORS = Counter(
    "bot_panel_errors_total",
    "Panel calls without a proper answer (unavailable, timed out) or refused",
    ["panel", "kind"],
)
TELEGRAM_429 = Counter("bot_telegram_429_total", "Bot API answers 429 Too Many Requests")
OUTBOX_SENT = Counter("bot_outbox_sent_total", "Outbox messages sent")
OUTBOX_BACKLOG = Gauge("bot_outbox_backlog", "Outbox messages waiting to be sent (at scrape)")
JOB_RUNS = Counter(
    "bot_job_runs_total", "Scheduled job runs, by job and outcome", ["job", "outcome"]
)
JOB_SECONDS = Histogram(
    "bot_job_seconds",
    "Time of one scheduled job run, by job",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
AUDIT_OK = Gauge("bot_ledger_audit_ok", "1 if the last ledger audit found no problem, else 0")
AUDIT_PROBLEMS = Gauge("bot_ledger_audit_problems", "Problems the last ledger audit found")
AUDIT_TIMESTAMP = Gauge("bot_ledger_audit_timestamp_seconds", "When the last ledger audit ran")
JOBS_LEADER = Gauge("bot_jobs_leader", "1 while this instance runs the jobs and the sender")
LEADERSHIP_CHANGES = Counter(
    "bot_leadership_changes_total", "Times this instance became leader or standby", ["role"]
)

# A one-slot list per update (or sale), set by whoever knows the name deeper down. A
# list rather than a value so a callback run in a task of its own (block=False) still
# reaches the caller's slot.
_handled_by: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "bot_metrics_handler", default=None
)
_sale_panel: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "bot_metrics_panel", default=None
)


# --- updates ---------------------------------------------------------------------------


async def observe_update(coroutine: Awaitable[Any]) -> None:
    """Await one update's processing, timing it under the handler that took it."""
    slot: list[str] = []
    token = _handled_by.set(slot)
    started = time.perf_counter()
    outcome = "ok"
    try:
        await coroutine
    except BaseException:
        outcome = "error"
        raise
    finally:
        _handled_by.reset(token)
        name = slot[0] if slot else UNHANDLED
        UPDATE_SECONDS.labels(name).observe(time.perf_counter() - started)
        UPDATES.labels(name, outcome).inc()


def _named(callback: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(callback, "__bot_metrics__", False):
        return callback
    name = getattr(callback, "__qualname__", None) or type(callback).__name__
    module = getattr(callback, "__module__", "") or ""
    label = f"{module}.{name}" if module else name

    @functools.wraps(callback)
    async def named(*args: Any, **kwargs: Any) -> Any:
        slot = _handled_by.get()
        if slot is not None:
            slot.append(label)
        result = callback(*args, **kwargs)
        if isinstance(result, Awaitable):
            return await result
        return result

    named.__bot_metrics__ = True  # type: ignore[attr-defined]
    return named


def _handlers_in(handlers: Iterable[Any]) -> Iterable[Any]:
    # Imported here: services import this module, and they never import telegram.
    from telegram.ext import ConversationHandler

    for handler in handlers:
        if isinstance(handler, ConversationHandler):
            yield from _handlers_in(handler.entry_points)
            for state in handler.states.values():
                yield from _handlers_in(state)
            yield from _handlers_in(handler.fallbacks)
        else:
            yield handler


def instrument_handlers(app: Any) -> None:
    """Make the callbacks that answer updates name themselves to ``observe_update``.

    Only the default group's: the others (reachability marks before, conversation
    write-through after) run for every update and would name them all alike.
    """
    for handler in _handlers_in(app.handlers.get(DEFAULT_GROUP, [])):
        handler.callback = _named(handler.callback)


# --- sales and panels ------------------------------------------------------------------


def note_panel(name: str) -> None:
    """The sale under way (if any) uses this panel."""
    slot = _sale_panel.get()
    if slot is not None and not slot:
        slot.append(name)


def observed_sale(
    sell: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Count each sale by panel and outcome (the exception's class name when it raises)."""

    @functools.wraps(sell)
    async def observed(*args: P.args, **kwargs: P.kwargs) -> T:
        slot: list[str] = []
        token = _sale_panel.set(slot)
        started = time.perf_counter()
        outcome = "completed"
        try:
            result = await sell(*args, **kwargs)
            if getattr(result, "replayed", False):
                outcome = "replayed"
            return result
        except Exception as exc:
            outcome = type(exc).__name__
            raise
        finally:
            _sale_panel.reset(token)
            panel = slot[0] if slot else LOCAL
            SALES.labels(panel, outcome).inc()
            SALE_SECONDS.labels(panel).observe(time.perf_counter() - started)

    return observed


def panel_call(panel: str, seconds: float, error: str | None) -> None:
    PANEL_SECONDS.labels(panel).observe(seconds)
    if error is not None:
        PANEL_ERRORS.labels(panel, error).inc()


# --- jobs ------------------------------------------------------------------------------


def timed_job(
    name: str, job: Callable[P, Awaitable[Any]]
) -> Callable[P, Coroutine[Any, Any, None]]:
    @functools.wraps(job)
    async def timed(*args: P.args, **kwargs: P.kwargs) -> None:
        started = time.perf_counter()
        outcome = "ok"
        try:
            await job(*args, **kwargs)
        except Exception:
            outcome = "error"
            raise
        finally:
            JOB_SECONDS.labels(name).observe(time.perf_counter() - started)
            JOB_RUNS.labels(name, outcome).inc()

    return timed


def audited(ok: bool, problems: int) -> None:
    AUDIT_OK.set(1 if ok else 0)
    AUDIT_PROBLEMS.set(problems)
    AUDIT_TIMESTAMP.set(time.time())


def leadership(role: str) -> None:
    JOBS_LEADER.set(1 if role == "leader" else 0)
    LEADERSHIP_CHANGES.labels(role).inc()
