"""Fitting what a screen lists into Telegram's length limits, with pages.

Telegram measures a text after HTML parsing (tags do not count, an entity such as
``&lt;`` is one character) in UTF-16 code units, so an emoji counts twice: at most 4,096
for a message, 1,024 for a caption, 200 for the answer to a button.

A screen renders each item it lists, then either asks ``paginate`` for one page of them
(the items that fit, in order, with how many pages there are), or, where the page is
already chosen (a fixed number of rows from the database), lets ``fit`` shorten its
longest lines until the whole text fits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from html import unescape

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ANSWER_LIMIT = 200
ELLIPSIS = "…"

# A tag, an entity, or one character. User text is always escaped, so a bare "<" is text.
_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][\w-]*)")


def units(text: str) -> int:
    """The length of plain text as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _tokens(html: str) -> Iterator[tuple[str, str | None, int]]:
    """(token, tag name or None, visible length) for each piece of an HTML text."""
    for match in _TOKEN.finditer(html):
        token = match.group()
        if len(token) > 1 and token[0] == "<":
            name = _TAG_NAME.match(token)
            yield token, name.group(1).lower() if name else "", 0
        elif len(token) > 1:
            yield token, None, units(unescape(token))
        else:
            yield token, None, units(token)


def length(html: str) -> int:
    """The length Telegram sees of an HTML text: without tags, entities decoded."""
    return sum(size for _, _, size in _tokens(html))


def plain(html: str) -> str:
    """An HTML text as plain text (tags dropped, entities decoded), for a button's answer."""
    return "".join(unescape(token) for token, tag, _ in _tokens(html) if tag is None)


def truncate(html: str, limit: int) -> str:
    """At most ``limit`` long: cut with "…" where it is too long, open tags closed."""
    if length(html) <= limit:
        return html
    if limit < 1:
        return ""
    budget = limit - units(ELLIPSIS)
    out: list[str] = []
    open_tags: list[str] = []
    used = 0
    for token, tag, size in _tokens(html):
        if tag is None:
            if used + size > budget:
                break
            used += size
        elif token.startswith("</"):
            if open_tags and open_tags[-1] == tag:
                open_tags.pop()
        else:
            open_tags.append(tag)
        out.append(token)
    out.append(ELLIPSIS)
    out.extend(f"</{tag}>" for tag in reversed(open_tags))
    return "".join(out)


def clip_answer(text: str, limit: int = ANSWER_LIMIT) -> str:
    """Plain text for a button's answer, cut with "…" to what Telegram accepts."""
    if units(text) <= limit:
        return text
    budget = limit - units(ELLIPSIS)
    out: list[str] = []
    used = 0
    for char in text:
        used += units(char)
        if used > budget:
            break
        out.append(char)
    return "".join(out).rstrip() + ELLIPSIS


def fit(lines: Sequence[str], limit: int = TEXT_LIMIT, separator: str = "\n") -> str:
    """``lines`` joined, the longest of them cut down (with "…") until the text fits.

    Short lines (titles, totals) are kept whole: only lines longer than the largest
    length that lets everything fit are cut, all to that same length.
    """
    text = separator.join(lines)
    if length(text) <= limit:
        return text
    sizes = [length(line) for line in lines]
    room = limit - units(separator) * (len(lines) - 1)
    low, high = 0, max(sizes)
    while low < high:  # the largest cap with sum(min(size, cap)) <= room
        cap = (low + high + 1) // 2
        if sum(min(size, cap) for size in sizes) <= room:
            low = cap
        else:
            high = cap - 1
    shortened = separator.join(truncate(line, low) for line in lines)
    return truncate(shortened, limit)  # too many lines for any cap: cut the end


@dataclass(frozen=True)
class Page:
    """One page of a list: its text, which items it shows, and where it is."""

    text: str
    page: int  # from 0
    pages: int
    start: int  # the index of the first item shown
    stop: int  # one past the last

    @property
    def items(self) -> range:
        return range(self.start, self.stop)


Header = str | Callable[[int, int], str]


def paginate(
    items: Sequence[str],
    page: int,
    *,
    header: Header = "",
    footer: str = "",
    limit: int = TEXT_LIMIT,
    max_items: int | None = None,
    separator: str = "\n",
) -> Page:
    """Page ``page`` (from 0, clamped to the last) of rendered ``items``.

    Items fill a page in order while the page, with its header and footer, stays within
    ``limit`` (and ``max_items``, say for the buttons that go with them); an item too long
    for a page of its own is cut. ``header`` may be a function of (page, pages), e.g. for
    "page 2 of 3".
    """

    def render_header(at: int, pages: int) -> str:
        return header(at, pages) if callable(header) else header

    sep = units(separator)
    # Room for the widest header this list can have: its page numbers have the most digits.
    widest = max(1, len(items))
    header_size = length(render_header(widest - 1, widest))
    fixed = header_size + length(footer)
    fixed += sep * (bool(header_size) + bool(footer))
    room = max(1, limit - fixed)

    bounds: list[tuple[int, int]] = []
    start, used = 0, 0
    for index, item in enumerate(items):
        size = min(length(item), room)
        full = max_items is not None and index - start >= max_items
        if index > start and (full or used + sep + size > room):
            bounds.append((start, index))
            start, used = index, 0
        used += size + (sep if index > start else 0)
    bounds.append((start, len(items)))

    pages = len(bounds)
    page = min(max(page, 0), pages - 1)
    first, stop = bounds[page]
    parts = [render_header(page, pages)] if header_size else []
    parts += [truncate(item, room) for item in items[first:stop]]
    if footer:
        parts.append(footer)
    text = truncate(separator.join(parts), limit)
    return Page(text=text, page=page, pages=pages, start=first, stop=stop)
