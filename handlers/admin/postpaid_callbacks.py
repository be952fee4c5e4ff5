"""Buttons of the postpaid screens: recording cash received, the debtors list and a
reseller's statement; one codec per family, ``adm:<family>:...`` like the rest of the
admin's, each family's layout beside it below.

Data only says which button was tapped: whether the one who tapped may record cash or see
reports, and whether the reseller is postpaid, is looked up on the server every time.
"""

from __future__ import annotations

from bot.services.statements import Preset
from handlers.admin.callbacks import PAGE, PREFIX, TELEGRAM_ID
from handlers.callback_codecs import NONCE, One, Plain, Two, choice, number

# Cash received, from a postpaid reseller's card.
CASH = One(PREFIX, "cash", TELEGRAM_ID)  # adm:cash:<telegram id>
CASH_METHOD = One(PREFIX, "cashm", number(2))  # adm:cashm:<n>: how it was paid, by its place
CASH_SKIP = Plain(PREFIX, "cashs")  # no reference, or no comment
CASH_SAVE = One(PREFIX, "cashok", NONCE)  # adm:cashok:<nonce minted with its screen>
CASH_CANCEL = Plain(PREFIX, "cashx")
# Who owes (also the admin menu's entry, bot.keyboards.ADMIN_DEBTORS), and a statement.
DEBTORS = One(PREFIX, "debt", PAGE)  # adm:debt:<page>
STATEMENT = One(PREFIX, "stmt", TELEGRAM_ID)  # adm:stmt:<telegram id>: asks for the period
# adm:stmtp:<telegram id>:<preset>: a ready-made period of the reseller's statement.
STATEMENT_PERIOD = Two(PREFIX, "stmtp", TELEGRAM_ID, choice(Preset))
STATEMENT_CANCEL = Plain(PREFIX, "stmtx")
