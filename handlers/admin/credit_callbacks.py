"""Buttons of the add / remove credit form: one codec per family, ``adm:<family>:...``
like the rest of the admin's, each naming (by its Telegram id) the reseller whose form it
belongs to; each family's layout is beside it below.

Data only says which button was tapped: whether the one who tapped may manage credits is
looked up on the server every time, and a button naming another reseller than the form
under way changes nothing.
"""

from __future__ import annotations

from bot.services.credits import Action
from handlers.admin.callbacks import PREFIX, TELEGRAM_ID
from handlers.calendar import Calendar
from handlers.callback_codecs import NONCE, One, Two, choice
from models import TxType

OPEN = One(PREFIX, "cr", TELEGRAM_ID)  # adm:cr:<id>, on the reseller card: opens the form
ACTION = Two(PREFIX, "cra", TELEGRAM_ID, choice(Action))  # adm:cra:<id>:<add|remove>
TYPE = Two(PREFIX, "crt", TELEGRAM_ID, choice(TxType))  # adm:crt:<id>:<purchase|adjustment>
SKIP = One(PREFIX, "crk", TELEGRAM_ID)  # adm:crk:<id>: the comment or the expiry: none
SAVE = Two(PREFIX, "crs", TELEGRAM_ID, NONCE)  # adm:crs:<id>:<nonce minted with the summary>
CALENDAR = Calendar(PREFIX, "crd")  # the expiry date's calendar; its scope is the reseller
