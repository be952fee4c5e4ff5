"""The sale feature's buttons: one codec per family builds their data and the pattern
that routes a tap back, so no callback string or regex is written twice.

Data is ``cu:<family>[:values]``, each family's layout beside it below (ids have at most 9
digits, pages 6). It only says which button was tapped: who tapped it, and whether the
customer is theirs, is looked up on the server.
"""

from __future__ import annotations

from bot import keyboards
from bot.services.customers import Filter
from handlers.callback_codecs import NONCE, One, Plain, Two, choice, number

PREFIX = "cu"
_ID = number(9)
_PAGE = number(6)

# The menu's entries (bot.keyboards builds the menu and keeps their data).
ACTIVATE = Plain(PREFIX, keyboards.SALE_NEW.split(":")[1])  # cu:new
RENEW = Plain(PREFIX, keyboards.SALE_RENEW.split(":")[1])  # cu:renew
CANCEL = Plain(PREFIX, "x")
# In the flow.
PICK_CUSTOMER = One(PREFIX, "pk", _ID)  # cu:pk:<customer>
CUSTOMER_PAGE = One(PREFIX, "pg", _PAGE)  # cu:pg:<page> of the customer picker
PLAN = One(PREFIX, "p", _ID)  # cu:p:<plan>
CONFIRM = One(PREFIX, "c", NONCE)  # cu:c:<nonce minted with the confirmation>
# Entries from a card and from a customer's renewal request (jobs build the latter).
RENEW_CUSTOMER = One(PREFIX, "r", _ID)  # cu:r:<customer>
RENEW_REQUESTED = Two(PREFIX, "rq", _ID, _ID)  # cu:rq:<customer>:<plan they asked for>
# The list, the card and the invite link.
LIST = Two(PREFIX, "l", choice(Filter), _PAGE)  # cu:l:<filter>:<page>
CARD = One(PREFIX, "v", _ID)  # cu:v:<customer>
INVITE = One(PREFIX, "i", _ID)  # cu:i:<customer>
NEW_LINK = One(PREFIX, "n", _ID)  # cu:n:<customer>
REVOKE_LINK = One(PREFIX, "k", _ID)  # cu:k:<customer>
