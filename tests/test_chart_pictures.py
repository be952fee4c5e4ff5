"""Charts as pictures: every chart of the known ledger drawn once to a PNG that opens, in
English and in Persian (right to left); Persian and Arabic text shaped (letters joined,
visual order) and drawn with glyphs the font has; several pictures drawn at once in
worker threads; the table button's text holds the picture's numbers."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import threading
import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from PIL import Image

from bot import i18n
from bot.adapters import charts
from bot.adapters.charts import Figure, Plot, Shape
from bot.db import Database
from bot.services import charts_data
from bot.services.charts_data import Chart, ChartData, Step, Window
from handlers.charts import picture_views, views
from handlers.reader import Reader
from tests.chart_ledger import ALPHA, NOW, world
from tests.conftest import ADMIN_ID

PNG = b"\x89PNG\r\n\x1a\n"
UTC = ZoneInfo("UTC")
PERSIAN = "فروش روزانه، تمدید و گزارش پیک ژاله چک"
ARABIC = "المبيعات اليومية والتجديد ١٢٣"


def _opens(png: bytes) -> tuple[int, int]:
    assert len(png) > 0 and png.startswith(PNG)
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def _small(figure: Figure) -> bytes:
    return charts.render(figure, width=4, height=2.5, dpi=100)


async def _every_chart(db: Database) -> list[ChartData]:
    found = []
    for chart in (*charts_data.ADMIN_CHARTS, Chart.BALANCE):
        asker = ALPHA if chart == Chart.BALANCE else ADMIN_ID
        where = await charts_data.scope(db, chart, asker=asker, owner_ids={ADMIN_ID})
        found.append(
            await charts_data.build(db, chart, where, Window.LAST_MONTH, Step.DAY, NOW, UTC)
        )
    return found


@pytest.mark.parametrize("language", ["en", "fa"])
async def test_every_chart_is_drawn_to_a_png_that_opens(db: Database, language: str) -> None:
    await world(db)
    r = Reader(i18n.load().get(language), "credits", UTC)
    assert r.t.rtl == (language == "fa")
    for data in await _every_chart(db):
        figure = picture_views.figure(data, r)
        assert figure.rtl == r.t.rtl
        assert _opens(_small(figure)) == (400, 250), data.chart


def test_persian_and_arabic_are_shaped_and_the_font_has_every_glyph() -> None:
    # matplotlib with libraqm lays the text out itself: a right-to-left line is marked so.
    assert charts.shaped(PERSIAN, True, native=True) == f"\u2067{PERSIAN}\u2069"
    assert charts.shaped("Sales", native=True) == "Sales"
    # Without it, the letters are joined and put in visual order here.
    shaped = charts.shaped(PERSIAN, native=False)
    assert shaped != PERSIAN and "\ufeb5" in shaped  # final shin, joined to the vav
    assert shaped.endswith("\ufed3")  # the first letter, initial feh, drawn rightmost
    assert charts.shaped("\u2068Sales\u2069", native=False) == "Sales"  # marks dropped
    has = FT2Font(font_manager.findfont(charts.FONT)).get_charmap()
    for text in (PERSIAN, ARABIC, "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩٫٪"):
        for drawn in (text, charts.shaped(text, True, native=False)):
            missing = {c for c in drawn if not c.isspace() and ord(c) not in has}
            assert missing == set(), text


async def test_a_persian_chart_is_drawn_in_worker_threads_beside_others() -> None:
    figure = Figure(
        title=PERSIAN,
        categories=["۱۰-۰۱", "۱۰-۰۲", "۱۰-۰۳"],
        plots=[Plot("فعال‌سازی", [1, 0, 2]), Plot("مبلغ", [10.0, 0, 20.5], Shape.LINE, True)],
        value_format=lambda v: f"{v:.0f}",
        secondary_format=lambda v: f"{v:.2f}",
        rtl=True,
        notes=[ARABIC],
    )
    ranked = Figure("Top", ["Alpha", "Echo"], [Plot("Amount", [20, 10], Shape.ACROSS)])
    empty = Figure("Nothing", ["a"], [Plot("n", [0])], empty="Nothing in this period.")
    pictures = await asyncio.gather(
        *(asyncio.to_thread(_small, f) for f in (figure, ranked, empty, figure))
    )
    assert [_opens(p) for p in pictures] == [(400, 250)] * 4


async def test_the_table_holds_the_pictures_numbers(db: Database) -> None:
    await world(db)
    r = Reader(i18n.load().get("en"), "credits", UTC)
    sales = next(d for d in await _every_chart(db) if d.chart == Chart.SALES)
    (text,) = picture_views.table(sales, r)
    lines = text.split("\n")
    assert lines[:2] == ["<b>📋 Sales, 2026-10-01 to 2026-10-31", "Amounts in credits</b>"]
    assert lines[2].split() == ["<pre>", "Activations", "Renewals", "Amount"]
    assert lines[8].split() == ["10-06", "1", "1", "20.00"]
    assert lines[-1].split() == ["Total", "3", "1", "40.00</pre>"]
    assert "Activations: 3 (period before: 1, +200%)" in views.caption(sales, r)


def test_the_bot_starts_without_loading_matplotlib_or_openpyxl() -> None:
    """matplotlib and openpyxl (with numpy, tens of megabytes) are loaded on the first
    chart or spreadsheet, not at start-up."""
    code = (
        "import sys, bot.app, bot.cli.commands, handlers, jobs\n"
        "names = ('matplotlib', 'arabic_reshaper', 'bidi', 'openpyxl', 'numpy')\n"
        "print(','.join(m for m in names if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


async def test_pictures_asked_at_once_are_drawn_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """matplotlib is not thread-safe, and each drawing holds its canvas's memory: worker
    threads take turns."""
    inside, most = 0, 0
    guard = threading.Lock()
    draw = charts._draw

    def counting(canvas: Any, figure: Figure) -> None:
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)  # long enough for the others to arrive if they may
        draw(canvas, figure)
        with guard:
            inside -= 1

    monkeypatch.setattr(charts, "_draw", counting)
    ranked = Figure("Top", ["Alpha", "Echo"], [Plot("Amount", [20, 10], Shape.ACROSS)])
    pictures = await asyncio.gather(*(asyncio.to_thread(_small, ranked) for _ in range(4)))
    assert len(pictures) == 4 and most == 1
