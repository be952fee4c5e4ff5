"""Buttons of a reseller's transfers screen (from its card): one codec per family,
``adm:<family>:<telegram id>[:value]`` like the rest of the admin's, each family's layout
beside it below.

Data only says which button was tapped: whether the one who tapped may manage credits is
looked up on the server every time, and a transfer named by a button must be one the
reseller named beside it sent.
"""

from __future__ import annotations

from handlers.admin.callbacks import PAGE, PREFIX, TELEGRAM_ID
from handlers.callback_codecs import FLAG, One, Two

SCREEN = Two(PREFIX, "xf", TELEGRAM_ID, PAGE)  # the transfers screen: ...:<page>
# adm:xfa:<telegram id>:<1|0>, allow or forbid sending. The data says what the tap asks
# for, so a second tap on the same button changes nothing.
ALLOW = Two(PREFIX, "xfa", TELEGRAM_ID, FLAG)
LIMIT = One(PREFIX, "xfl", TELEGRAM_ID)  # asks for the daily limit
CLEAR = One(PREFIX, "xfc", TELEGRAM_ID)  # clears it
REVERSE = Two(PREFIX, "xfr", TELEGRAM_ID, TELEGRAM_ID)  # ...:<transfer id>: asks the reason
CONFIRM = Two(PREFIX, "xfy", TELEGRAM_ID, TELEGRAM_ID)  # ...:<transfer id>: reverses it
