"""The transfer flow's buttons: one codec per family, ``xf:<family>[:value]``.

Data only says which button was tapped: who tapped it, and whether they may transfer, is
looked up on the server; Send (``xf:send:<nonce>``) carries the nonce of the confirmation
screen it was on.
"""

from __future__ import annotations

from bot import keyboards
from handlers.callback_codecs import NONCE, One, Plain

PREFIX = "xf"

NEW = Plain(PREFIX, keyboards.TRANSFER_NEW.split(":")[1])  # the menu's 💸 Transfer
SKIP = Plain(PREFIX, "skip")  # no note
CANCEL = Plain(PREFIX, "cancel")
SEND = One(PREFIX, "send", NONCE)
