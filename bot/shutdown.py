"""A bounded graceful stop for ``python -m bot``.

On SIGTERM (a deploy, ``docker stop``) or SIGINT the bot stops taking updates and waits
for the ones under way, such as a sale waiting for its panel, for at most
``SHUTDOWN_GRACE_SECONDS``; what is still running then is cancelled so the process
exits before a supervisor kills it. A sale cut short keeps its order pending with the
credits held, and reconciliation settles it at the next start, as after a crash.
A second signal cuts the wait short at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import cast

from bot.context import BotApplication
from bot.updates import PerUserUpdateProcessor

log = logging.getLogger(__name__)


def install(app: BotApplication, grace_seconds: float) -> None:
    """Replace run_polling's / run_webhook's stop signals (call from post_init)."""
    loop = asyncio.get_running_loop()
    processor = cast(PerUserUpdateProcessor, app.update_processor)
    stopping: list[asyncio.TimerHandle] = []

    def cut_short() -> None:
        cancelled = processor.cancel_under_way()
        if cancelled:
            log.warning(
                "shutdown: %d update(s) still under way were cancelled; a sale among them "
                "is settled by reconciliation at the next start",
                cancelled,
            )

    def on_signal() -> None:
        if stopping:  # asked again: stop waiting
            stopping[0].cancel()
            cut_short()
            return
        log.info("stopping: waiting up to %ss for the updates under way", grace_seconds)
        stopping.append(loop.call_later(grace_seconds, cut_short))
        app.stop_running()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
