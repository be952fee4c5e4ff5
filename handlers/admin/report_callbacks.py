"""Buttons of the owners' scheduled reports screen: ``adm:rpt`` shows it, ``adm:rpt:<name>:
<0|1>`` switches a report or a summary's section off or on.

The button says what it asks for (on or off), so a second tap changes nothing; whether the
one who tapped is an owner is looked up on the server.
"""

from __future__ import annotations

from bot import keyboards
from handlers.admin.callbacks import PREFIX
from handlers.callback_codecs import FLAG, Field, Plain, Two

FAMILY = keyboards.ADMIN_REPORTS.split(":")[1]
SCREEN = Plain(PREFIX, FAMILY)
SWITCH = Two(PREFIX, FAMILY, Field("[a-z]{1,16}", str), FLAG)  # a report or a section; on?
