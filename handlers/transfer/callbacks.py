"""The transfer flow's buttons: one codec per family, ``xf:<family>[:value]``.

Data only says which button was tapped: who tapped it, and whether they may transfer, is
looked up on the server; Send carries the nonce of the confirmation screen it was on.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext

PREFIX = "xf"


@dataclass(frozen=True)
class Plain:
    """A button with nothing to carry: ``xf:<family>``."""

    family: str

    def build(self) -> str:
        return keyboards.data(PREFIX, self.family)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}$"


@dataclass(frozen=True)
class Send:
    """Send, keyed by the confirmation screen's nonce: ``xf:<family>:<nonce>``."""

    family: str

    def build(self, nonce: str) -> str:
        return keyboards.data(PREFIX, self.family, nonce)

    def pattern(self) -> str:
        return rf"^{PREFIX}:{self.family}:([\w-]{{1,32}})$"

    def parse(self, context: BotContext) -> str:
        assert context.matches, "only for handlers routed by this codec's pattern"
        return context.matches[0].group(1)


NEW = Plain(keyboards.TRANSFER_NEW.split(":")[1])  # the menu's 💸 Transfer
SKIP = Plain("skip")  # no note
CANCEL = Plain("cancel")
SEND = Send("send")
