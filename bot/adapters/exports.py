"""Spreadsheet files from rows that arrive in batches: CSV and XLSX.

The rows come from an async iterator of batches and go straight to a file, a batch at a
time, so a table of any length is never held whole in memory: CSV is appended line by
line, XLSX is written by ``openpyxl`` in write-only mode (rows streamed to a temporary
file inside the workbook). The blocking writes run in a worker thread, off the event
loop.

A cell is text, a whole number, an amount (``Money``: hundredths, written as a number with
two decimals), a moment (written in the reader's time zone) or empty. Text that a
spreadsheet would take for a formula is neutralised by ``safe_text``, the one rule every
file the bot writes follows.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from bot.money import format_number

if TYPE_CHECKING:  # openpyxl (and numpy, which it loads) only when a spreadsheet is written
    from openpyxl.cell.cell import Cell as SheetCell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "0.00"
MOMENT_FORMAT = "yyyy-mm-dd hh:mm"
DAY_FORMAT = "yyyy-mm-dd"
SHEET_TITLE_LIMIT = 31  # Excel's limit on a sheet's name


def safe_text(text: str) -> str:
    """Text a spreadsheet must not take for a formula: a leading ``'`` keeps it text."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


@dataclass(frozen=True)
class Money:
    """An amount in hundredths: a number with two decimals in the file."""

    hundredths: int


Cell = str | int | Money | dt.datetime | dt.date | None
Row = Sequence[Cell]


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def _csv_cell(value: Cell, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, Money):
        return format_number(value.hundredths)
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return safe_text(value)


class _CsvFile:
    def __init__(self, path: Path, zone: ZoneInfo) -> None:
        # utf-8-sig: spreadsheets then read names and comments in any script.
        self._out: TextIO = path.open("w", newline="", encoding="utf-8-sig")
        self._writer = csv.writer(self._out)
        self._zone = zone

    def append(self, rows: Sequence[Row]) -> None:
        self._writer.writerows([_csv_cell(value, self._zone) for value in row] for row in rows)

    def close(self) -> None:
        self._out.close()


class _XlsxFile:
    def __init__(self, path: Path, zone: ZoneInfo, title: str) -> None:
        # Loaded here, in the worker thread, not when the bot starts (tens of megabytes).
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        self._path, self._zone, self._new = path, zone, WriteOnlyCell
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(safe_text(title)[:SHEET_TITLE_LIMIT] or "Sheet")

    def _cell(self, value: Cell) -> SheetCell | int | None:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, Money):
            cell = self._new(self._sheet, value.hundredths / 100)
            cell.number_format = MONEY_FORMAT
            return cell
        if isinstance(value, dt.datetime):
            local = value.astimezone(self._zone).replace(tzinfo=None, microsecond=0)
            cell = self._new(self._sheet, local)
            cell.number_format = MOMENT_FORMAT
            return cell
        if isinstance(value, dt.date):
            cell = self._new(self._sheet, dt.datetime.combine(value, dt.time()))
            cell.number_format = DAY_FORMAT
            return cell
        # A string starting with "=" would be stored as a formula: never.
        cell = self._new(self._sheet, safe_text(str(value)))
        cell.data_type = "s"
        return cell

    def append(self, rows: Sequence[Row]) -> None:
        for row in rows:
            self._sheet.append([self._cell(value) for value in row])

    def close(self) -> None:
        self._book.save(self._path)
        self._book.close()


async def write(
    path: Path,
    kind: Format,
    header: Row,
    batches: AsyncIterator[Sequence[Row]],
    zone: ZoneInfo,
    *,
    title: str = "Export",
) -> int:
    """Write ``header`` then every batch to ``path``; the number of rows below the header."""
    out: _CsvFile | _XlsxFile
    if kind == Format.CSV:
        out = await asyncio.to_thread(_CsvFile, path, zone)
    else:
        out = await asyncio.to_thread(_XlsxFile, path, zone, title)
    count = 0
    try:
        await asyncio.to_thread(out.append, [header])
        async for batch in batches:
            if batch:
                await asyncio.to_thread(out.append, batch)
                count += len(batch)
    finally:
        await asyncio.to_thread(out.close)
    return count
