"""The admin feature's buttons: one codec per family builds their data and the pattern
that routes a tap back, so no callback string or regex is written twice.

Data is ``adm:<family>[:values]``, each family's layout beside it below; a reseller or a
staff admin is named by its Telegram id. It only says which button was tapped: whether the
one who tapped it is an admin is looked up on the server. The admin's other screens
(``credit_``, ``postpaid_``, ``report_``, ``reseller_`` and ``transfer_callbacks``) use
the same prefix and values.
"""

from __future__ import annotations

from bot import keyboards
from bot.services.roles import Permission
from handlers.callback_codecs import FLAG, One, Plain, Three, choice, number

PREFIX = "adm"
TELEGRAM_ID = number(19)
PAGE = number(6)

# The admin menu's entries (bot.keyboards builds the menu and keeps their data).
RESELLERS = One(PREFIX, keyboards.ADMIN_RESELLERS.split(":")[1], PAGE)  # adm:res:<page>
AUDIT = Plain(PREFIX, keyboards.ADMIN_AUDIT.split(":")[1])  # adm:audit
# The reseller card and what it leads to: adm:<family>:<telegram id>.
CARD = One(PREFIX, "rs", TELEGRAM_ID)
REACTIVATE = One(PREFIX, "act", TELEGRAM_ID)
SUSPEND = One(PREFIX, "sus", TELEGRAM_ID)  # asks for the reason
SUSPEND_NOW = One(PREFIX, "susy", TELEGRAM_ID)  # without a reason
SUSPEND_CUSTOMERS = One(PREFIX, "susc", TELEGRAM_ID)  # toggles: their customers too
# Staff admins (the owners' screens): adm:<family>[:<telegram id>].
STAFF = One(PREFIX, keyboards.ADMIN_STAFF.split(":")[1], PAGE)  # adm:staff:<page>
STAFF_CARD = One(PREFIX, "stf", TELEGRAM_ID)
STAFF_ADD = Plain(PREFIX, "stfa")  # asks who
# adm:stfp:<telegram id>:<permission>:<1|0>, allow or forbid it. The data says what the
# tap asks for, not "switch it": a second tap on the same button changes nothing.
STAFF_TOGGLE = Three(PREFIX, "stfp", TELEGRAM_ID, choice(Permission), FLAG)
STAFF_REMOVE = One(PREFIX, "stfx", TELEGRAM_ID)  # asks to confirm
STAFF_REMOVE_YES = One(PREFIX, "stfy", TELEGRAM_ID)
# The request_id of the reply keyboard's user picker that names a new staff admin: the
# users_shared message it brings back carries it. Not the reseller picker's (1), so that
# one left on a keyboard can never name a staff admin.
STAFF_PICKER = 2
