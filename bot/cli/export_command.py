"""``python -m bot export KIND``: one export (credit history, customers, top-ups, sales,
the action log) written to a CSV or XLSX file, as the chat's 📤 Export writes it (the
header in the source language, dates in the operator's zone)."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot import i18n
from bot.adapters import exports as files
from bot.adapters.exports import Format, Row
from bot.services import exports
from bot.services.exports import Kind

if TYPE_CHECKING:
    from bot.cli.commands import Call


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bot.cli.args import date, telegram_id

    export = commands.add_parser("export", help="write an export to a CSV or XLSX file")
    export.add_argument("kind", choices=[k.value for k in Kind], metavar="KIND",
                        help=", ".join(k.value for k in Kind))  # fmt: skip
    export.add_argument("--format", dest="file_format", choices=[f.value for f in Format],
                        default=Format.CSV.value, help="csv (default) or xlsx")  # fmt: skip
    export.add_argument("--reseller", type=telegram_id, help="only this reseller (Telegram id)")
    export.add_argument("--since", type=date, help="from this day on (yyyy-mm-dd)")
    export.add_argument("--until", type=date, help="up to and including this day (yyyy-mm-dd)")
    export.add_argument("--output", type=Path, required=True, metavar="FILE")


async def export(call: Call) -> int:
    # The header and cells are the chat's own (one place words them); imported here so
    # that other commands do not load the Telegram stack.
    from handlers.exports import views

    args, zone, t = call.args, call.settings.zone, i18n.SOURCE
    kind, kind_of_file = Kind(args.kind), Format(args.file_format)
    period = exports.check_period(args.since, args.until)
    where = await exports.scope(call.db, kind, asker=None, owner_ids=(), reseller=args.reseller)
    rows = exports.rows(call.db, kind, where, period, zone)

    async def batches() -> AsyncIterator[Sequence[Row]]:
        async for batch in rows:
            yield [views.cells(row, t) for row in batch]

    output: Path = args.output
    title = views.kind_title(kind, t)
    count = await files.write(
        output, kind_of_file, views.header(kind, t), batches(), zone, title=title
    )
    print(f"{count} {'row' if count == 1 else 'rows'} written to {output}")
    return 0


COMMANDS: dict[tuple[str, str | None], Callable[[Call], Awaitable[int]]] = {
    ("export", None): export,
}
