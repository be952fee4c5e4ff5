"""Every button's callback data, pinned: what a sample build gives, the pattern that routes
it back, and what the handler reads from it.

Buttons already sent stay in users' chats: a codec that built other data, or a pattern that
no longer took the old data, would leave them routing nowhere or to another handler. So a
family's data layout never changes; a new family gets its row here.
"""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace
from typing import Any, NamedTuple

import pytest

from bot.adapters.exports import Format
from bot.services.chart_queries import Step
from bot.services.charts_data import Chart, Window
from bot.services.credits import Action
from bot.services.customers import Filter
from bot.services.exports import Kind
from bot.services.reseller_search import Field, ListFilter
from bot.services.roles import Permission
from bot.services.statements import Preset
from handlers.admin import action_log_callbacks as action_log
from handlers.admin import callbacks as admin
from handlers.admin import catalogue_callbacks as catalogue
from handlers.admin import credit_callbacks as credit
from handlers.admin import postpaid_callbacks as postpaid
from handlers.admin import report_callbacks as report
from handlers.admin import reseller_callbacks as reseller
from handlers.admin import transfer_callbacks as admin_transfer
from handlers.announce import callbacks as announce
from handlers.charts import callbacks as charts
from handlers.customer import callbacks as customer
from handlers.downline import callbacks as downline
from handlers.exports import callbacks as exports
from handlers.portal import callbacks as portal
from handlers.pricelists import callbacks as pricelists
from handlers.sale import callbacks as sale
from handlers.topup import callbacks as topup
from handlers.transfer import callbacks as transfer
from models.ledger import TxType
from models.reseller import Billing


class Pin(NamedTuple):
    build: Any  # a codec's build (or a calendar's day, month or nothing)
    args: tuple[Any, ...]
    data: str
    pattern: str
    parsed: str | None  # the repr of what parse (or page) reads back; None: no reader


PINS = [
    Pin(sale.ACTIVATE.build, (), "cu:new", "^cu:new$", None),
    Pin(sale.RENEW.build, (), "cu:renew", "^cu:renew$", None),
    Pin(sale.CANCEL.build, (), "cu:x", "^cu:x$", None),
    Pin(sale.PICK_CUSTOMER.build, (42,), "cu:pk:42", r"^cu:pk:(\d{1,9})$", "42"),
    Pin(sale.CUSTOMER_PAGE.build, (42,), "cu:pg:42", r"^cu:pg:(\d{1,6})$", "42"),
    Pin(sale.PLAN.build, (42,), "cu:p:42", r"^cu:p:(\d{1,9})$", "42"),
    Pin(
        sale.CONFIRM.build, ("Nonce_9-x",), "cu:c:Nonce_9-x", r"^cu:c:([\w-]{1,32})$", "'Nonce_9-x'"
    ),
    Pin(sale.RENEW_CUSTOMER.build, (42,), "cu:r:42", r"^cu:r:(\d{1,9})$", "42"),
    Pin(
        sale.RENEW_REQUESTED.build, (42, 7), "cu:rq:42:7", r"^cu:rq:(\d{1,9}):(\d{1,9})$", "(42, 7)"
    ),
    Pin(
        sale.LIST.build,
        (Filter.ACTIVE, 7),
        "cu:l:active:7",
        r"^cu:l:(all|active|expiring|expired):(\d{1,6})$",
        "(<Filter.ACTIVE: 'active'>, 7)",
    ),
    Pin(sale.CARD.build, (42,), "cu:v:42", r"^cu:v:(\d{1,9})$", "42"),
    Pin(sale.INVITE.build, (42,), "cu:i:42", r"^cu:i:(\d{1,9})$", "42"),
    Pin(sale.NEW_LINK.build, (42,), "cu:n:42", r"^cu:n:(\d{1,9})$", "42"),
    Pin(sale.REVOKE_LINK.build, (42,), "cu:k:42", r"^cu:k:(\d{1,9})$", "42"),
    Pin(downline.LIST.build, (42,), "dl:l:42", r"^dl:l:(\d{1,19})$", "42"),
    Pin(downline.CARD.build, (42,), "dl:c:42", r"^dl:c:(\d{1,19})$", "42"),
    Pin(
        downline.CUSTOMERS.build, (42, 7), "dl:cu:42:7", r"^dl:cu:(\d{1,19}):(\d{1,6})$", "(42, 7)"
    ),
    Pin(downline.SALES.build, (42, 7), "dl:sa:42:7", r"^dl:sa:(\d{1,19}):(\d{1,6})$", "(42, 7)"),
    Pin(downline.NEW.build, (), "dl:new", "^dl:new$", None),
    Pin(
        downline.NEW_SAVE.build,
        (42, "Nonce_9-x"),
        "dl:ns:42:Nonce_9-x",
        r"^dl:ns:(\d{1,19}):([\w-]{1,32})$",
        "(42, 'Nonce_9-x')",
    ),
    Pin(downline.NEW_CANCEL.build, (), "dl:nx", "^dl:nx$", None),
    Pin(downline.CREDITS.build, (42,), "dl:a:42", r"^dl:a:(\d{1,19})$", "42"),
    Pin(
        downline.ACTION.build,
        (42, "remove"),
        "dl:aa:42:remove",
        r"^dl:aa:(\d{1,19}):(add|remove)$",
        "(42, 'remove')",
    ),
    Pin(
        downline.TYPE.build,
        (42, "adjustment"),
        "dl:at:42:adjustment",
        r"^dl:at:(\d{1,19}):(purchase|adjustment)$",
        "(42, 'adjustment')",
    ),
    Pin(downline.SKIP.build, (42,), "dl:ak:42", r"^dl:ak:(\d{1,19})$", "42"),
    Pin(
        downline.SAVE.build,
        (42, "Nonce_9-x"),
        "dl:as:42:Nonce_9-x",
        r"^dl:as:(\d{1,19}):([\w-]{1,32})$",
        "(42, 'Nonce_9-x')",
    ),
    Pin(
        downline.CALENDAR.day,
        (42, dt.date(2026, 2, 28)),
        "dl:ad:42:d:20260228",
        r"^dl:ad:(\d{1,19}):([dmn])(?::(\d{6}|\d{8}))?$",
        "Tap(scope=42, kind=<TapKind.DAY: 'd'>, day=datetime.date(2026, 2, 28))",
    ),
    Pin(
        downline.CALENDAR.month,
        (42, dt.date(2026, 3, 1)),
        "dl:ad:42:m:202603",
        r"^dl:ad:(\d{1,19}):([dmn])(?::(\d{6}|\d{8}))?$",
        "Tap(scope=42, kind=<TapKind.MONTH: 'm'>, day=datetime.date(2026, 3, 1))",
    ),
    Pin(
        downline.CALENDAR.nothing,
        (42,),
        "dl:ad:42:n",
        r"^dl:ad:(\d{1,19}):([dmn])(?::(\d{6}|\d{8}))?$",
        "Tap(scope=42, kind=<TapKind.NOTHING: 'n'>, day=None)",
    ),
    Pin(downline.DEPTH_MENU.build, (42,), "dl:dm:42", r"^dl:dm:(\d{1,19})$", "42"),
    Pin(downline.DEPTH.build, (42, 7), "dl:dp:42:7", r"^dl:dp:(\d{1,19}):(\d{1,6})$", "(42, 7)"),
    Pin(admin.RESELLERS.build, (42,), "adm:res:42", r"^adm:res:(\d{1,6})$", "42"),
    Pin(admin.AUDIT.build, (), "adm:audit", "^adm:audit$", None),
    Pin(admin.CARD.build, (42,), "adm:rs:42", r"^adm:rs:(\d{1,19})$", "42"),
    Pin(admin.REACTIVATE.build, (42,), "adm:act:42", r"^adm:act:(\d{1,19})$", "42"),
    Pin(admin.SUSPEND.build, (42,), "adm:sus:42", r"^adm:sus:(\d{1,19})$", "42"),
    Pin(admin.SUSPEND_NOW.build, (42,), "adm:susy:42", r"^adm:susy:(\d{1,19})$", "42"),
    Pin(admin.SUSPEND_CUSTOMERS.build, (42,), "adm:susc:42", r"^adm:susc:(\d{1,19})$", "42"),
    Pin(admin.STAFF.build, (42,), "adm:staff:42", r"^adm:staff:(\d{1,6})$", "42"),
    Pin(admin.STAFF_CARD.build, (42,), "adm:stf:42", r"^adm:stf:(\d{1,19})$", "42"),
    Pin(admin.STAFF_ADD.build, (), "adm:stfa", "^adm:stfa$", None),
    Pin(
        admin.STAFF_TOGGLE.build,
        (42, Permission.CREDITS, True),
        "adm:stfp:42:credits:1",
        r"^adm:stfp:(\d{1,19}):(topups|credits|resellers|catalogue|reports|announcements):([01])$",
        "(42, <Permission.CREDITS: 'credits'>, True)",
    ),
    Pin(admin.STAFF_REMOVE.build, (42,), "adm:stfx:42", r"^adm:stfx:(\d{1,19})$", "42"),
    Pin(admin.STAFF_REMOVE_YES.build, (42,), "adm:stfy:42", r"^adm:stfy:(\d{1,19})$", "42"),
    Pin(
        action_log.PAGE.build,
        (
            42,
            action_log.Filters(
                "tg:5", 3, "credit_removed", dt.date(2026, 1, 2), dt.date(2026, 1, 31)
            ),
        ),
        "alg:42:5:3:1:20260102:20260131",
        r"^alg:(\d{1,6}):(c|\d{1,19})?:(\d{1,10})?:(\d{1,2})?:(\d{8})?:(\d{8})?$",
        (
            "(42, Filters(actor='tg:5', reseller_id=3, "
            "kind='credit_removed', first=datetime.date(2026, 1, 2), "
            "last=datetime.date(2026, 1, 31)))"
        ),
    ),
    Pin(
        action_log.PICK.build,
        (
            action_log.Pick.RESELLER,
            action_log.Filters(
                "tg:5", 3, "credit_removed", dt.date(2026, 1, 2), dt.date(2026, 1, 31)
            ),
        ),
        "alp:r:5:3:1:20260102:20260131",
        r"^alp:([arkd]):(c|\d{1,19})?:(\d{1,10})?:(\d{1,2})?:(\d{8})?:(\d{8})?$",
        (
            "(<Pick.RESELLER: 'r'>, Filters(actor='tg:5', reseller_id=3, "
            "kind='credit_removed', first=datetime.date(2026, 1, 2), "
            "last=datetime.date(2026, 1, 31)))"
        ),
    ),
    Pin(catalogue.MENU.build, (), "cat:menu", "^cat:menu$", None),
    Pin(
        catalogue.LIST.build,
        (catalogue.Kind.TIER,),
        "cat:l:t",
        "^cat:l:(p|t|m)$",
        "<Kind.TIER: 't'>",
    ),
    Pin(
        catalogue.CARD.build,
        (catalogue.Kind.TIER, 7),
        "cat:c:t:7",
        r"^cat:c:(p|t|m):(\d{1,9})$",
        "(<Kind.TIER: 't'>, 7)",
    ),
    Pin(
        catalogue.PREVIEW.build,
        (catalogue.Kind.TIER,),
        "cat:pv:t",
        "^cat:pv:(p|t|m)$",
        "<Kind.TIER: 't'>",
    ),
    Pin(
        catalogue.METHOD_PREVIEW.build,
        (catalogue.Kind.TIER, 7),
        "cat:mp:t:7",
        r"^cat:mp:(p|t|m):(\d{1,9})$",
        "(<Kind.TIER: 't'>, 7)",
    ),
    Pin(
        catalogue.ENABLE.build,
        (catalogue.Kind.TIER, 7),
        "cat:on:t:7",
        r"^cat:on:(p|t|m):(\d{1,9})$",
        "(<Kind.TIER: 't'>, 7)",
    ),
    Pin(
        catalogue.DISABLE.build,
        (catalogue.Kind.TIER, 7),
        "cat:off:t:7",
        r"^cat:off:(p|t|m):(\d{1,9})$",
        "(<Kind.TIER: 't'>, 7)",
    ),
    Pin(
        catalogue.UP.build,
        (catalogue.Kind.TIER, 7),
        "cat:up:t:7",
        r"^cat:up:(p|t|m):(\d{1,9})$",
        "(<Kind.TIER: 't'>, 7)",
    ),
    Pin(
        catalogue.DOWN.build,
        (catalogue.Kind.TIER, 7),
        "cat:dn:t:7",
        r"^cat:dn:(p|t|m):(\d{1,9})$",
        "(<Kind.TIER: 't'>, 7)",
    ),
    Pin(
        catalogue.ADD.build,
        (catalogue.Kind.TIER,),
        "cat:a:t",
        "^cat:a:(p|t|m)$",
        "<Kind.TIER: 't'>",
    ),
    Pin(
        catalogue.EDIT.build,
        (catalogue.Kind.TIER, 7, catalogue.Field.NAME),
        "cat:e:t:7:name",
        r"^cat:e:(p|t|m):(\d{1,9}):(code|name|days|price|min|unit|text|mint)$",
        "(<Kind.TIER: 't'>, 7, <Field.NAME: 'name'>)",
    ),
    Pin(
        catalogue.REMOVE.build,
        (catalogue.Kind.TIER, 7),
        "cat:rm:t:7",
        r"^cat:rm:(p|t|m):(\d{1,9})$",
        "(<Kind.TIER: 't'>, 7)",
    ),
    Pin(
        catalogue.SAVE.build,
        ("Nonce_9-x",),
        "cat:sv:Nonce_9-x",
        r"^cat:sv:([\w-]{1,32})$",
        "'Nonce_9-x'",
    ),
    Pin(catalogue.CANCEL.build, (), "cat:x", "^cat:x$", None),
    Pin(credit.OPEN.build, (42,), "adm:cr:42", r"^adm:cr:(\d{1,19})$", "42"),
    Pin(
        credit.ACTION.build,
        (42, Action.REMOVE),
        "adm:cra:42:remove",
        r"^adm:cra:(\d{1,19}):(add|remove)$",
        "(42, <Action.REMOVE: 'remove'>)",
    ),
    Pin(
        credit.TYPE.build,
        (42, TxType.ADJUSTMENT),
        "adm:crt:42:adjustment",
        r"^adm:crt:(\d{1,19}):(purchase|adjustment)$",
        "(42, <TxType.ADJUSTMENT: 'adjustment'>)",
    ),
    Pin(credit.SKIP.build, (42,), "adm:crk:42", r"^adm:crk:(\d{1,19})$", "42"),
    Pin(
        credit.SAVE.build,
        (42, "Nonce_9-x"),
        "adm:crs:42:Nonce_9-x",
        r"^adm:crs:(\d{1,19}):([\w-]{1,32})$",
        "(42, 'Nonce_9-x')",
    ),
    Pin(
        credit.CALENDAR.day,
        (42, dt.date(2026, 2, 28)),
        "adm:crd:42:d:20260228",
        r"^adm:crd:(\d{1,19}):([dmn])(?::(\d{6}|\d{8}))?$",
        "Tap(scope=42, kind=<TapKind.DAY: 'd'>, day=datetime.date(2026, 2, 28))",
    ),
    Pin(
        credit.CALENDAR.month,
        (42, dt.date(2026, 3, 1)),
        "adm:crd:42:m:202603",
        r"^adm:crd:(\d{1,19}):([dmn])(?::(\d{6}|\d{8}))?$",
        "Tap(scope=42, kind=<TapKind.MONTH: 'm'>, day=datetime.date(2026, 3, 1))",
    ),
    Pin(
        credit.CALENDAR.nothing,
        (42,),
        "adm:crd:42:n",
        r"^adm:crd:(\d{1,19}):([dmn])(?::(\d{6}|\d{8}))?$",
        "Tap(scope=42, kind=<TapKind.NOTHING: 'n'>, day=None)",
    ),
    Pin(postpaid.CASH.build, (42,), "adm:cash:42", r"^adm:cash:(\d{1,19})$", "42"),
    Pin(postpaid.CASH_METHOD.build, (42,), "adm:cashm:42", r"^adm:cashm:(\d{1,2})$", "42"),
    Pin(postpaid.CASH_SKIP.build, (), "adm:cashs", "^adm:cashs$", None),
    Pin(
        postpaid.CASH_SAVE.build,
        ("Nonce_9-x",),
        "adm:cashok:Nonce_9-x",
        r"^adm:cashok:([\w-]{1,32})$",
        "'Nonce_9-x'",
    ),
    Pin(postpaid.CASH_CANCEL.build, (), "adm:cashx", "^adm:cashx$", None),
    Pin(postpaid.DEBTORS.build, (42,), "adm:debt:42", r"^adm:debt:(\d{1,6})$", "42"),
    Pin(postpaid.STATEMENT.build, (42,), "adm:stmt:42", r"^adm:stmt:(\d{1,19})$", "42"),
    Pin(
        postpaid.STATEMENT_PERIOD.build,
        (42, Preset.LAST_MONTH),
        "adm:stmtp:42:lm",
        r"^adm:stmtp:(\d{1,19}):(tm|lm|30)$",
        "(42, <Preset.LAST_MONTH: 'lm'>)",
    ),
    Pin(postpaid.STATEMENT_CANCEL.build, (), "adm:stmtx", "^adm:stmtx$", None),
    Pin(report.SCREEN.build, (), "adm:rpt", "^adm:rpt$", None),
    Pin(
        report.SWITCH.build,
        ("abc", True),
        "adm:rpt:abc:1",
        "^adm:rpt:([a-z]{1,16}):([01])$",
        "('abc', True)",
    ),
    Pin(
        reseller.LIST.build,
        (ListFilter.PREPAID, 7),
        "adm:rl:pre:7",
        r"^adm:rl:(all|pre|post|sus|low|owe):(\d{1,6})(?::(.+))?$",
        "(<ListFilter.PREPAID: 'pre'>, 7, '')",
    ),
    Pin(
        reseller.LIST.build,
        (ListFilter.PREPAID, 7, "Nonce_9-x"),
        "adm:rl:pre:7:Nonce_9-x",
        r"^adm:rl:(all|pre|post|sus|low|owe):(\d{1,6})(?::(.+))?$",
        "(<ListFilter.PREPAID: 'pre'>, 7, 'Nonce_9-x')",
    ),
    Pin(reseller.SEARCH.build, (), "adm:rq", "^adm:rq$", None),
    Pin(
        reseller.HISTORY.build, (42, 7), "adm:rh:42:7", r"^adm:rh:(\d{1,19}):(\d{1,6})$", "(42, 7)"
    ),
    Pin(
        reseller.CUSTOMERS.build,
        (42, 7),
        "adm:rc:42:7",
        r"^adm:rc:(\d{1,19}):(\d{1,6})$",
        "(42, 7)",
    ),
    Pin(reseller.EDIT_MENU.build, (42,), "adm:rem:42", r"^adm:rem:(\d{1,19})$", "42"),
    Pin(
        reseller.EDIT.build,
        (42, Field.LIMIT),
        "adm:re:42:limit",
        r"^adm:re:(\d{1,19}):(type|limit|thr|name)$",
        "(42, <Field.LIMIT: 'limit'>)",
    ),
    Pin(
        reseller.EDIT_TYPE.build,
        (Billing.POSTPAID,),
        "adm:ret:postpaid",
        "^adm:ret:(prepaid|postpaid)$",
        "<Billing.POSTPAID: 'postpaid'>",
    ),
    Pin(reseller.NEW.build, (), "adm:rn", "^adm:rn$", None),
    Pin(
        reseller.NEW_TYPE.build,
        (Billing.POSTPAID,),
        "adm:rnt:postpaid",
        "^adm:rnt:(prepaid|postpaid)$",
        "<Billing.POSTPAID: 'postpaid'>",
    ),
    Pin(
        reseller.NEW_SAVE.build,
        ("Nonce_9-x",),
        "adm:rns:Nonce_9-x",
        r"^adm:rns:([\w-]{1,32})$",
        "'Nonce_9-x'",
    ),
    Pin(reseller.NEW_CANCEL.build, (), "adm:rnx", "^adm:rnx$", None),
    Pin(
        admin_transfer.SCREEN.build,
        (42, 7),
        "adm:xf:42:7",
        r"^adm:xf:(\d{1,19}):(\d{1,6})$",
        "(42, 7)",
    ),
    Pin(
        admin_transfer.ALLOW.build,
        (42, True),
        "adm:xfa:42:1",
        r"^adm:xfa:(\d{1,19}):([01])$",
        "(42, True)",
    ),
    Pin(admin_transfer.LIMIT.build, (42,), "adm:xfl:42", r"^adm:xfl:(\d{1,19})$", "42"),
    Pin(admin_transfer.CLEAR.build, (42,), "adm:xfc:42", r"^adm:xfc:(\d{1,19})$", "42"),
    Pin(
        admin_transfer.REVERSE.build,
        (42, 7),
        "adm:xfr:42:7",
        r"^adm:xfr:(\d{1,19}):(\d{1,19})$",
        "(42, 7)",
    ),
    Pin(
        admin_transfer.CONFIRM.build,
        (42, 7),
        "adm:xfy:42:7",
        r"^adm:xfy:(\d{1,19}):(\d{1,19})$",
        "(42, 7)",
    ),
    Pin(customer.STATUS.build, (), "cs:st", r"^cs:st(?::(\d{1,4}))?$", "0"),
    Pin(customer.STATUS.build, (42,), "cs:st:42", r"^cs:st(?::(\d{1,4}))?$", "42"),
    Pin(customer.RENEWAL_REQUEST.build, (), "cs:rr", "^cs:rr$", None),
    Pin(customer.PAY_RENEWAL.build, (), "cs:pay", "^cs:pay$", None),
    Pin(customer.SUBSCRIBE.build, (), "cs:sub", "^cs:sub$", None),
    Pin(customer.UNSUBSCRIBE.build, (), "cs:unsub", "^cs:unsub$", None),
    Pin(customer.UNLINK.build, (), "cs:ul", "^cs:ul$", None),
    Pin(customer.UNLINK_CONFIRM.build, (), "cs:ul:y", "^cs:ul:y$", None),
    Pin(customer.NOTICES.build, (), "cs:nt", "^cs:nt$", None),
    Pin(customer.NOTICES_OF.build, (42,), "cs:ntc:42", r"^cs:ntc:(\d{1,9})$", "42"),
    Pin(
        customer.NOTICES_SET.build,
        (42, "p", "on"),
        "cs:nts:42:p:on",
        r"^cs:nts:(\d{1,9}):(p:(?:on|off)|r:(?:all|last))$",
        "(42, 'p', 'on')",
    ),
    Pin(
        customer.NOTICES_SET.build,
        (42, "r", "last"),
        "cs:nts:42:r:last",
        r"^cs:nts:(\d{1,9}):(p:(?:on|off)|r:(?:all|last))$",
        "(42, 'r', 'last')",
    ),
    Pin(customer.NOTICES_PROMOTIONS.build, (), "cs:nt:p", "^cs:nt:p$", None),
    Pin(customer.NOTICES_REMINDERS.build, (), "cs:nt:r", "^cs:nt:r$", None),
    Pin(topup.NEW.build, (), "tu:new", "^tu:new$", None),
    Pin(topup.CANCEL_FLOW.build, (), "tu:cancel", "^tu:cancel$", None),
    Pin(topup.METHOD.build, (42,), "tu:m:42", r"^tu:m:(\d{1,9})$", "Tapped(id=42, page=0)"),
    Pin(topup.METHOD.build, (42, 7), "tu:m:42", r"^tu:m:(\d{1,9})$", "Tapped(id=42, page=0)"),
    Pin(
        topup.CONFIRM.build,
        ("Nonce_9-x",),
        "tu:c:Nonce_9-x",
        r"^tu:c:([\w-]{1,32})$",
        "'Nonce_9-x'",
    ),
    Pin(topup.LIST.build, (), "tu:list:0", r"^tu:list(?::(\d{1,6}))?$", "0"),
    Pin(topup.LIST.build, (42,), "tu:list:42", r"^tu:list(?::(\d{1,6}))?$", "42"),
    Pin(
        topup.WITHDRAW.build,
        (42,),
        "tu:x:42",
        r"^tu:x:(\d{1,9})(?::(\d{1,6}))?$",
        "Tapped(id=42, page=0)",
    ),
    Pin(
        topup.WITHDRAW.build,
        (42, 7),
        "tu:x:42:7",
        r"^tu:x:(\d{1,9})(?::(\d{1,6}))?$",
        "Tapped(id=42, page=7)",
    ),
    Pin(topup.PENDING.build, (), "tu:pending:0", r"^tu:pending(?::(\d{1,6}))?$", "0"),
    Pin(topup.PENDING.build, (42,), "tu:pending:42", r"^tu:pending(?::(\d{1,6}))?$", "42"),
    Pin(
        topup.APPROVE.build,
        (42,),
        "tu:ok:42",
        r"^tu:ok:(\d{1,9})(?::(\d{1,6}))?$",
        "Tapped(id=42, page=0)",
    ),
    Pin(
        topup.APPROVE.build,
        (42, 7),
        "tu:ok:42:7",
        r"^tu:ok:(\d{1,9})(?::(\d{1,6}))?$",
        "Tapped(id=42, page=7)",
    ),
    Pin(topup.REJECT.build, (42,), "tu:no:42", r"^tu:no:(\d{1,9})$", "Tapped(id=42, page=0)"),
    Pin(topup.REJECT.build, (42, 7), "tu:no:42", r"^tu:no:(\d{1,9})$", "Tapped(id=42, page=0)"),
    Pin(
        topup.REJECT_WITHOUT_REASON.build,
        (42,),
        "tu:skip:42",
        r"^tu:skip:(\d{1,9})$",
        "Tapped(id=42, page=0)",
    ),
    Pin(
        topup.REJECT_WITHOUT_REASON.build,
        (42, 7),
        "tu:skip:42",
        r"^tu:skip:(\d{1,9})$",
        "Tapped(id=42, page=0)",
    ),
    Pin(announce.NEW.build, (), "an:new", "^an:new$", None),
    Pin(announce.AUDIENCE.build, ("abc",), "an:aud:abc", "^an:aud:([a-z]{2,16})$", "'abc'"),
    Pin(announce.SEGMENT.build, ("abc",), "an:seg:abc", "^an:seg:([a-z]{2,16})$", "'abc'"),
    Pin(announce.VALUE.build, (42,), "an:val:42", r"^an:val:([\w-]{1,32})$", "'42'"),
    Pin(announce.MAINTENANCE.build, (), "an:mnt", "^an:mnt$", None),
    Pin(announce.BUTTON.build, ("abc",), "an:btn:abc", "^an:btn:([a-z]{2,16})$", "'abc'"),
    Pin(announce.SERVICE.build, (), "an:svc", "^an:svc$", None),
    Pin(
        announce.SEND.build,
        ("Nonce_9-x",),
        "an:go:Nonce_9-x",
        r"^an:go:([\w-]{1,32})$",
        "'Nonce_9-x'",
    ),
    Pin(
        announce.SCHEDULE.build,
        ("Nonce_9-x",),
        "an:at:Nonce_9-x",
        r"^an:at:([\w-]{1,32})$",
        "'Nonce_9-x'",
    ),
    Pin(announce.CANCEL.build, (), "an:x", "^an:x$", None),
    Pin(announce.STOP.build, (42,), "an:stop:42", r"^an:stop:(\d{1,9})$", "42"),
    Pin(announce.VALUES_PAGE.build, (42,), "an:vp:42", r"^an:vp:(\d{1,4})$", "42"),
    Pin(announce.HISTORY.build, (42,), "an:h:42", r"^an:h:(\d{1,4})$", "42"),
    Pin(announce.CARD.build, (42, 7), "an:c:42:7", r"^an:c:(\d{1,9}):(\d{1,4})$", "(42, 7)"),
    Pin(
        announce.CANCEL_SCHEDULED.build,
        (42, 7),
        "an:cx:42:7",
        r"^an:cx:(\d{1,9}):(\d{1,4})$",
        "(42, 7)",
    ),
    Pin(announce.QUICK_TIME.build, (42,), "an:qt:42", r"^an:qt:([\w-]{1,32})$", "'42'"),
    Pin(
        announce.CALENDAR.day,
        (42, dt.date(2026, 2, 28)),
        "an:cal:42:d:20260228",
        r"^an:cal:(\d{1,19}):([dmn])(?::(\d{6}|\d{8}))?$",
        "Tap(scope=42, kind=<TapKind.DAY: 'd'>, day=datetime.date(2026, 2, 28))",
    ),
    Pin(
        announce.CALENDAR.month,
        (42, dt.date(2026, 3, 1)),
        "an:cal:42:m:202603",
        r"^an:cal:(\d{1,19}):([dmn])(?::(\d{6}|\d{8}))?$",
        "Tap(scope=42, kind=<TapKind.MONTH: 'm'>, day=datetime.date(2026, 3, 1))",
    ),
    Pin(
        announce.CALENDAR.nothing,
        (42,),
        "an:cal:42:n",
        r"^an:cal:(\d{1,19}):([dmn])(?::(\d{6}|\d{8}))?$",
        "Tap(scope=42, kind=<TapKind.NOTHING: 'n'>, day=None)",
    ),
    Pin(announce.DAY_HOUR.build, (42,), "an:dh:42", r"^an:dh:([\w-]{1,32})$", "'42'"),
    Pin(
        charts.MENU.build,
        (charts.Whose(12345, True),),
        "ch:m:12345:1",
        r"^ch:m:(\d{1,19}):([01])$",
        "Whose(reseller=12345, subtree=True)",
    ),
    Pin(
        charts.PICK.build,
        (Chart.CREDITS, charts.Whose(12345, True)),
        "ch:p:c:12345:1",
        r"^ch:p:([sctidkeb]):(\d{1,19}):([01])$",
        "(<Chart.CREDITS: 'c'>, Whose(reseller=12345, subtree=True))",
    ),
    Pin(
        charts.PICTURE.build,
        (charts.Drawing(Chart.CREDITS, Window.DAYS_30, Step.WEEK, charts.Whose(12345, False)),),
        "ch:g:c:30:w:12345:0",
        r"^ch:g:([sctidkeb]):(7|30|tm|lm|90|12m|n30):([dwm]):(\d{1,19}):([01])$",
        (
            "Drawing(chart=<Chart.CREDITS: 'c'>, "
            "window=<Window.DAYS_30: '30'>, step=<Step.WEEK: 'w'>, "
            "whose=Whose(reseller=12345, subtree=False))"
        ),
    ),
    Pin(
        charts.TABLE.build,
        (charts.Drawing(Chart.CREDITS, Window.DAYS_30, Step.WEEK, charts.Whose(12345, False)),),
        "ch:t:c:30:w:12345:0",
        r"^ch:t:([sctidkeb]):(7|30|tm|lm|90|12m|n30):([dwm]):(\d{1,19}):([01])$",
        (
            "Drawing(chart=<Chart.CREDITS: 'c'>, "
            "window=<Window.DAYS_30: '30'>, step=<Step.WEEK: 'w'>, "
            "whose=Whose(reseller=12345, subtree=False))"
        ),
    ),
    Pin(exports.MENU.build, (), "ex:m:0", r"^ex:m:(\d{1,19})$", "0"),
    Pin(exports.MENU.build, (42,), "ex:m:42", r"^ex:m:(\d{1,19})$", "42"),
    Pin(
        exports.PICK.build,
        (42, Kind.CUSTOMERS),
        "ex:k:42:c",
        r"^ex:k:(\d{1,19}):([hctsa])$",
        "(42, <Kind.CUSTOMERS: 'customers'>)",
    ),
    Pin(
        exports.WHEN.build,
        (42, Kind.CUSTOMERS, "20260101-20260131"),
        "ex:p:42:c:20260101-20260131",
        r"^ex:p:(\d{1,19}):([hctsa]):(tm|lm|30|all|\d{8}-\d{8})$",
        "(42, <Kind.CUSTOMERS: 'customers'>, '20260101-20260131')",
    ),
    Pin(
        exports.MAKE.build,
        (42, Kind.CUSTOMERS, "20260101-20260131", Format.XLSX),
        "ex:f:42:c:20260101-20260131:xlsx",
        r"^ex:f:(\d{1,19}):([hctsa]):(tm|lm|30|all|\d{8}-\d{8}):(csv|xlsx)$",
        "(42, <Kind.CUSTOMERS: 'customers'>, '20260101-20260131', <Format.XLSX: 'xlsx'>)",
    ),
    Pin(portal.HOME.build, (42,), "pt:h:42", r"^pt:h:(\d{1,12})$", "('42',)"),
    Pin(portal.LIST.build, (), "pt:l", "^pt:l$", "()"),
    Pin(portal.SUBSCRIPTION.build, (42,), "pt:s:42", r"^pt:s:(\d{1,12})$", "('42',)"),
    Pin(portal.ACCESS.build, (42,), "pt:q:42", r"^pt:q:(\d{1,12})$", "('42',)"),
    Pin(
        portal.PAYMENTS.build, (42, 7), "pt:p:42:7", r"^pt:p:(\d{1,12}):(\d{1,12})$", "('42', '7')"
    ),
    Pin(portal.RENEWAL.build, (42,), "pt:rr:42", r"^pt:rr:(\d{1,12})$", "('42',)"),
    Pin(portal.PAUSE.build, (42,), "pt:ps:42", r"^pt:ps:(\d{1,12})$", "('42',)"),
    Pin(
        portal.PAUSE_FOR.build,
        (42, 7),
        "pt:pd:42:7",
        r"^pt:pd:(\d{1,12}):(\d{1,12})$",
        "('42', '7')",
    ),
    Pin(portal.RESUME.build, (42,), "pt:rs:42", r"^pt:rs:(\d{1,12})$", "('42',)"),
    Pin(portal.CANCEL.build, (42,), "pt:cx:42", r"^pt:cx:(\d{1,12})$", "('42',)"),
    Pin(
        portal.CANCEL_REASON.build,
        (42, "moving"),
        "pt:cr:42:moving",
        r"^pt:cr:(\d{1,12}):([a-z_]{1,16})$",
        "('42', 'moving')",
    ),
    Pin(portal.CANCEL_CONFIRM.build, (42,), "pt:cy:42", r"^pt:cy:(\d{1,12})$", "('42',)"),
    Pin(portal.CANCEL_KEEP.build, (), "pt:cn", "^pt:cn$", "()"),
    Pin(portal.CHANGE.build, (42,), "pt:ch:42", r"^pt:ch:(\d{1,12})$", "('42',)"),
    Pin(
        portal.CHANGE_TO.build,
        (42, 7),
        "pt:cp:42:7",
        r"^pt:cp:(\d{1,12}):(\d{1,12})$",
        "('42', '7')",
    ),
    Pin(
        portal.CHANGE_PAY.build,
        (42, 7),
        "pt:cs:42:7",
        r"^pt:cs:(\d{1,12}):(\d{1,12})$",
        "('42', '7')",
    ),
    Pin(portal.UNLINK.build, (42,), "pt:u:42", r"^pt:u:(\d{1,12})$", "('42',)"),
    Pin(portal.UNLINK_CONFIRM.build, (42,), "pt:uy:42", r"^pt:uy:(\d{1,12})$", "('42',)"),
    Pin(
        portal.CHANGE_APPROVE_AT.build,
        (42, 7),
        "pc:oa:42:7",
        r"^pc:oa:(\d{1,12}):(\d{1,12})$",
        "('42', '7')",
    ),
    Pin(portal.CHANGE_APPROVE.build, (42,), "pc:ok:42", r"^pc:ok:(\d{1,12})$", "('42',)"),
    Pin(portal.CHANGE_DECLINE.build, (42,), "pc:no:42", r"^pc:no:(\d{1,12})$", "('42',)"),
    Pin(
        portal.CHANGE_DECLINE_REASON.build,
        (42, "moving"),
        "pc:nr:42:moving",
        r"^pc:nr:(\d{1,12}):([a-z_]{1,16})$",
        "('42', 'moving')",
    ),
    Pin(portal.CHANGE_DECLINE_OTHER.build, (42,), "pc:nt:42", r"^pc:nt:(\d{1,12})$", "('42',)"),
    Pin(portal.POLICY_OWN.build, (), "pp:me", "^pp:me$", "()"),
    Pin(portal.POLICY.build, (42,), "pp:r:42", r"^pp:r:(\d{1,12})$", "('42',)"),
    Pin(
        portal.POLICY_SET.build,
        (42, 7),
        "pp:s:42:7",
        r"^pp:s:(\d{1,12}):(\d{1,12})$",
        "('42', '7')",
    ),
    Pin(
        pricelists.HOME.build,
        (pricelists.Scope.PARENT,),
        "pl:p:h",
        "^pl:(a|p):h$",
        "<Scope.PARENT: 'p'>",
    ),
    Pin(
        pricelists.CARD.build,
        (pricelists.Scope.PARENT, 7),
        "pl:p:c:7",
        r"^pl:(a|p):c:(\d{1,19})$",
        "(<Scope.PARENT: 'p'>, 7)",
    ),
    Pin(
        pricelists.SET.build,
        (pricelists.Scope.PARENT, 7, 3),
        "pl:p:set:7:3",
        r"^pl:(a|p):set:(\d{1,19}):(\d{1,19})$",
        "(<Scope.PARENT: 'p'>, 7, 3)",
    ),
    Pin(
        pricelists.CLEAR.build,
        (pricelists.Scope.PARENT, 7, 3),
        "pl:p:clr:7:3",
        r"^pl:(a|p):clr:(\d{1,19}):(\d{1,19})$",
        "(<Scope.PARENT: 'p'>, 7, 3)",
    ),
    Pin(
        pricelists.NEW.build,
        (pricelists.Scope.PARENT,),
        "pl:p:new",
        "^pl:(a|p):new$",
        "<Scope.PARENT: 'p'>",
    ),
    Pin(
        pricelists.RENAME.build,
        (pricelists.Scope.PARENT, 7),
        "pl:p:ren:7",
        r"^pl:(a|p):ren:(\d{1,19})$",
        "(<Scope.PARENT: 'p'>, 7)",
    ),
    Pin(
        pricelists.DELETE.build,
        (pricelists.Scope.PARENT, 7),
        "pl:p:del:7",
        r"^pl:(a|p):del:(\d{1,19})$",
        "(<Scope.PARENT: 'p'>, 7)",
    ),
    Pin(
        pricelists.DELETE_YES.build,
        (pricelists.Scope.PARENT, 7),
        "pl:p:dely:7",
        r"^pl:(a|p):dely:(\d{1,19})$",
        "(<Scope.PARENT: 'p'>, 7)",
    ),
    Pin(
        pricelists.RESELLER.build,
        (pricelists.Scope.PARENT, 7),
        "pl:p:rs:7",
        r"^pl:(a|p):rs:(\d{1,19})$",
        "(<Scope.PARENT: 'p'>, 7)",
    ),
    Pin(
        pricelists.PUT.build,
        (pricelists.Scope.PARENT, 7, 3),
        "pl:p:put:7:3",
        r"^pl:(a|p):put:(\d{1,19}):(\d{1,19})$",
        "(<Scope.PARENT: 'p'>, 7, 3)",
    ),
    Pin(
        pricelists.CANCEL.build,
        (pricelists.Scope.PARENT,),
        "pl:p:x",
        "^pl:(a|p):x$",
        "<Scope.PARENT: 'p'>",
    ),
    Pin(transfer.NEW.build, (), "xf:new", "^xf:new$", None),
    Pin(transfer.SKIP.build, (), "xf:skip", "^xf:skip$", None),
    Pin(transfer.CANCEL.build, (), "xf:cancel", "^xf:cancel$", None),
    Pin(
        transfer.SEND.build,
        ("Nonce_9-x",),
        "xf:send:Nonce_9-x",
        r"^xf:send:([\w-]{1,32})$",
        "'Nonce_9-x'",
    ),
]

MODULES = (sale, downline, admin, action_log, catalogue, credit, postpaid, report, reseller,
           admin_transfer, customer, topup, announce, charts, exports, portal, pricelists,
           transfer)  # fmt: skip


def _read(codec: Any, match: re.Match[str]) -> str | None:
    for name in ("parse", "page"):
        if hasattr(codec, name):
            return repr(getattr(codec, name)(SimpleNamespace(matches=[match])))
    return None


@pytest.mark.parametrize("pin", PINS, ids=[pin.data for pin in PINS])
def test_a_button_keeps_its_data_its_route_and_what_it_reads(pin: Pin) -> None:
    codec = pin.build.__self__
    data = pin.build(*pin.args)
    assert data == pin.data
    assert codec.pattern() == pin.pattern
    match = re.match(codec.pattern(), data)
    assert match is not None
    assert _read(codec, match) == pin.parsed


def test_every_family_of_every_feature_is_pinned() -> None:
    pinned = {id(pin.build.__self__) for pin in PINS}
    missing = [
        f"{module.__name__}.{name}"
        for module in MODULES
        for name, value in vars(module).items()
        if callable(getattr(type(value), "pattern", None))
        if id(value) not in pinned
    ]
    assert missing == []
