"""Buttons of the sub-resellers feature: one codec per family, ``dl:<family>[:...]``, each
family's layout beside it below (a Telegram id has at most 19 digits, a page or a depth 6).

Data only says which button was tapped: whether the one who tapped may see or move the
credits of the sub-reseller it names is looked up in the database every time (a parent
sees its own subtree only), and an admin's buttons check the admin's permission.
"""

from __future__ import annotations

from bot.services.credits import Action
from handlers import callback_codecs as codecs
from handlers.calendar import Calendar
from handlers.callback_codecs import NONCE, One, Plain, number, one_of
from models import TxType

PREFIX = "dl"
_ID = number(19)
_N = number(6)
# A sub-reseller and a number (a page, a depth): dl:<family>:<telegram id>:<n>. The views'
# pagers take one.
Two = codecs.Two[int, int]

# The reseller's screens.
LIST = One(PREFIX, "l", _ID)  # dl:l:<page> of the sub-resellers
CARD = One(PREFIX, "c", _ID)  # dl:c:<telegram id>: a sub-reseller's card
CUSTOMERS = Two(PREFIX, "cu", _ID, _N)  # dl:cu:<telegram id>:<page> of its customers
SALES = Two(PREFIX, "sa", _ID, _N)  # dl:sa:<telegram id>:<page> of its sales
# Registering one.
NEW = Plain(PREFIX, "new")
NEW_SAVE = codecs.Two(PREFIX, "ns", _ID, NONCE)  # dl:ns:<the newcomer's telegram id>:<nonce>
NEW_CANCEL = Plain(PREFIX, "nx")
# Moving credits to or from one: dl:<family>:<the sub-reseller's telegram id>[:...].
CREDITS = One(PREFIX, "a", _ID)
ACTION = codecs.Two(PREFIX, "aa", _ID, one_of(*(a.value for a in Action)))  # ...:<add|remove>
TYPE = codecs.Two(PREFIX, "at", _ID, one_of(*(t.value for t in TxType)))  # ...:<purchase|...>
SKIP = One(PREFIX, "ak", _ID)  # no comment, or no expiry
SAVE = codecs.Two(PREFIX, "as", _ID, NONCE)  # ...:<nonce minted with the summary>
CALENDAR = Calendar(PREFIX, "ad")
# The admin: how deep a reseller's downline may go.
DEPTH_MENU = One(PREFIX, "dm", _ID)  # dl:dm:<telegram id>
DEPTH = Two(PREFIX, "dp", _ID, _N)  # dl:dp:<telegram id>:<depth>
# The request_id of the reply keyboard's user picker that names a new sub-reseller:
# not the admins' pickers' (1 and 2), so an old one left on a keyboard names nobody here.
PICKER = 3
