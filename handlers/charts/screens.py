"""📊 Charts: which chart, which period, then the picture with its key figures and, on a
button, the same numbers as a table.

Every tap asks ``charts_data.scope`` whether the asker may see that chart about those
resellers. The picture is drawn in a worker thread (matplotlib is slow and blocking), so
the other users' updates go on meanwhile; a second tap on a button whose picture or table
was already sent is told so and draws nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatAction

from bot.adapters.chart_figures import Figure
from bot.context import BotContext
from bot.services import charts_data
from bot.services.charts_data import (
    ADMIN_CHARTS,
    PERIODIC,
    RESELLER_CHARTS,
    Audience,
    Chart,
    ChartError,
    Window,
)
from handlers.charts import callbacks as buttons
from handlers.charts import picture_views, views
from handlers.charts.callbacks import Drawing, Whose
from handlers.common import answer, now, refuse, show
from handlers.language import reader
from handlers.reader import Reader

log = logging.getLogger(__name__)
SENT = "charts_sent"  # bot_data: the buttons already answered (chat, message, data)
SENT_KEPT = 1_000


async def _scope(
    update: Update, context: BotContext, r: Reader, chart: Chart, whose: Whose
) -> Audience | None:
    """Whose figures the asker may see in ``chart``; if none, they are told why."""
    user = update.effective_user
    if user is None:
        return None
    try:
        return await charts_data.scope(
            context.db,
            chart,
            asker=user.id,
            owner_ids=context.settings.admin_ids,
            reseller=whose.reseller or None,
            subtree=whose.subtree,
        )
    except ChartError as exc:
        await refuse(update, views.refusal(exc, r.t))
        return None


async def _show(
    update: Update, context: BotContext, text: str, keyboard: InlineKeyboardMarkup
) -> None:
    """In place on a text message; under a picture (which cannot become text), anew."""
    query = update.callback_query
    message = query.message if query is not None else None
    if query is not None and message is not None and getattr(message, "text", None) is None:
        await answer(query)
        await context.bot.send_message(message.chat.id, text, reply_markup=keyboard)
        return
    await show(update, text, keyboard)


async def _menu(update: Update, context: BotContext, whose: Whose) -> None:
    r = await reader(update, context)
    where = await _scope(update, context, r, Chart.SALES, whose)
    if where is None:
        return
    offered = ADMIN_CHARTS if where.admin and where.reseller is None else RESELLER_CHARTS
    name = where.reseller.name if whose.reseller and where.reseller else None
    parent = where.reseller is not None and where.reseller.parent and not whose.reseller
    await _show(update, context, *views.menu(offered, whose, name, bool(parent), r))


async def charts_command(update: Update, context: BotContext) -> None:
    """/charts: the charts the asker may see."""
    await _menu(update, context, Whose(0, True))


async def menu(update: Update, context: BotContext) -> None:
    """📊 Charts, from a button."""
    await _menu(update, context, buttons.MENU.parse(context))


async def pick(update: Update, context: BotContext) -> None:
    """A chart that covers a period: which period."""
    r = await reader(update, context)
    chart, whose = buttons.PICK.parse(context)
    if await _scope(update, context, r, chart, whose) is not None:
        await _show(update, context, *views.period_prompt(chart, whose, r))


Tapped = tuple[int, int, str]


def _tapped(update: Update) -> Tapped | None:
    """Which button of which message: a second tap on it finds the first."""
    query = update.callback_query
    if query is None or query.message is None:
        return None
    return query.message.chat.id, query.message.message_id, query.data or ""


def _first_time(update: Update, context: BotContext) -> bool:
    """Whether this button of this message is tapped for the first time (remembered)."""
    tapped = _tapped(update)
    if tapped is None:
        return False
    sent: OrderedDict[Tapped, None] = context.bot_data.setdefault(SENT, OrderedDict())
    if tapped in sent:
        return False
    sent[tapped] = None
    while len(sent) > SENT_KEPT:
        sent.popitem(last=False)
    return True


def _forget(update: Update, context: BotContext) -> None:
    tapped = _tapped(update)
    if tapped is not None:
        context.bot_data.get(SENT, OrderedDict()).pop(tapped, None)


async def _data(
    update: Update, context: BotContext, r: Reader, drawing: Drawing
) -> charts_data.ChartData | None:
    """The chart's series, once per button, if the asker may see them."""
    query = update.callback_query
    where = await _scope(update, context, r, drawing.chart, drawing.whose)
    if query is None or where is None:
        return None
    if (drawing.chart in PERIODIC) == (drawing.window == Window.NEXT_30):
        await refuse(update, views.stale(r.t))  # no button names that period for that chart
        return None
    if not _first_time(update, context):
        await answer(query, views.already_sent(r.t), alert=True)
        return None
    await answer(query)
    return await charts_data.build(context.db, drawing.chart, where, drawing.window,
                                   drawing.step, now(context), r.zone)  # fmt: skip


def _render(figure: Figure) -> bytes:
    """The picture's PNG, in a worker thread: matplotlib is loaded there on the first
    chart (not at start-up, and not on the event loop)."""
    from bot.adapters import charts

    return charts.render(figure)


async def picture(update: Update, context: BotContext) -> None:
    """A period (or a chart of what is now) tapped: the picture and its key figures."""
    r = await reader(update, context)
    drawing = buttons.PICTURE.parse(context)
    chat = update.effective_chat
    data = await _data(update, context, r, drawing)
    if data is None or chat is None:
        return
    await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_PHOTO)
    try:
        png = await asyncio.to_thread(_render, picture_views.figure(data, r))
    except Exception:
        log.exception("chart %s could not be drawn", drawing.chart.value)
        _forget(update, context)  # the same button may try again
        await context.bot.send_message(chat.id, views.failed(r.t))
        return
    await context.bot.send_photo(
        chat.id,
        InputFile(png, filename="chart.png"),
        caption=views.caption(data, r),
        reply_markup=views.photo_buttons(drawing, r),
    )


async def table(update: Update, context: BotContext) -> None:
    """📋 As a table: the same numbers as the picture, as text."""
    r = await reader(update, context)
    drawing = buttons.TABLE.parse(context)
    chat = update.effective_chat
    data = await _data(update, context, r, drawing)
    if data is None or chat is None:
        return
    for text in picture_views.table(data, r):
        await context.bot.send_message(chat.id, text)
