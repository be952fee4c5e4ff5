"""Languages: gettext catalogs managed with Babel, and formatting for the reader's locale.

The shipped catalogs are ``bot/locales/<language>/LC_MESSAGES/messages.po`` (English is
the source language: its messages are the msgids). They are compiled in memory at start,
so no compiled file is committed or built. An operator may override any message in any
language with ``<LOCALE_OVERRIDES_DIR>/<language>.po``; an override whose placeholders or
HTML do not match the shipped message is refused at start (logged with its file and
message) and the shipped text is used.

Views call ``t._("…{name}…", name=...)`` and ``t.n_("one …", "{n} …", n)``; the values
they pass are already escaped for HTML.
"""

from __future__ import annotations

import datetime as dt
import logging
import string
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

log = logging.getLogger(__name__)

# Each language's name in its own language, as the /language buttons show it.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "fa": "فارسی",
    "ru": "Русский",
    "ar": "العربية",
    "tr": "Türkçe",
}
DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"

# Locales whose numbers are written in their own digits (Babel keeps Latin digits).
_DIGITS = {"fa": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")}
# Each language's decimal and group marks and its direction, as CLDR has them: kept here
# because Babel's locale data for the five languages would cost the bot about 9 MB (it
# is loaded only for month and day names). tests/test_i18n.py checks them against Babel.
_SEPARATORS = {"en": (".", ","), "fa": ("\u066b", "\u066c"), "ru": (",", "\xa0"),
               "ar": (".", ","), "tr": (",", ".")}  # fmt: skip
RTL = frozenset({"fa", "ar"})
# First-strong isolate and pop directional isolate: a Latin username or an amount inside
# a right-to-left sentence keeps its own direction and its place in the sentence.
FSI, PDI = "\u2068", "\u2069"
# What Telegram's HTML parse mode accepts.
ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
     "a", "tg-emoji", "code", "pre", "blockquote"}
)  # fmt: skip


def pick(language_code: str | None) -> str:
    """The supported language closest to a Telegram ``language_code`` (e.g. "fa-IR")."""
    base = (language_code or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


class Translator:
    """One language: its messages and how it writes numbers, amounts and dates."""

    def __init__(self, language: str, translations: NullTranslations) -> None:
        self.language = language
        self.rtl = language in RTL
        self._translations = translations
        self._digits = _DIGITS.get(language)
        decimal_mark, group_mark = _SEPARATORS[language]
        self._separators = str.maketrans({".": decimal_mark, ",": group_mark})

    @cached_property
    def locale(self) -> Locale:
        """Babel's locale, for month and day names: its data is read on first use."""
        return Locale.parse(self.language)

    def _(self, message: str, /, **params: Any) -> str:
        text = self._translations.gettext(message)
        return text.format(**params) if params else text

    def n_(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        """A message with a count: the language's plural form for ``n`` (as ``{n}``)."""
        text = self._translations.ngettext(singular, plural, n)
        return text.format(n=self.number(n), **params)

    def _native(self, text: str) -> str:
        return text.translate(self._digits) if self._digits else text

    def _local(self, number: str) -> str:
        return self._native(number.translate(self._separators))

    def number(self, value: int) -> str:
        return self._local(f"{value:,}")

    def decimal(self, value: Decimal, places: int = 1) -> str:
        """A measure with exactly ``places`` decimals (e.g. gigabytes), as the locale writes it."""
        return self._local(f"{Decimal(value):,.{places}f}")

    def amount(self, hundredths: int, currency: str) -> str:
        """Always two decimals, digits and separators as the locale writes them."""
        return self.isolate(f"{self._local(f'{Decimal(hundredths) / 100:,.2f}')} {currency}")

    def date(self, moment: dt.datetime, zone: ZoneInfo) -> str:
        """yyyy-mm-dd in ``zone``, in the locale's digits."""
        return self.isolate(self._native(moment.astimezone(zone).strftime("%Y-%m-%d")))

    def isolate(self, text: str) -> str:
        """Keep a left-to-right piece (a username, an amount) whole in a right-to-left text."""
        return f"{FSI}{text}{PDI}" if self.rtl else text


# The source texts, untranslated: for code that renders before a reader is known.
SOURCE = Translator(DEFAULT_LANGUAGE, NullTranslations())


@dataclass
class Catalogs:
    """Every language's translator, built once at start."""

    translators: dict[str, Translator]
    refused: list[str] = field(default_factory=list)  # overrides that were not applied

    def get(self, language: str | None) -> Translator:
        return self.translators.get(language or "", self.translators[DEFAULT_LANGUAGE])


def load(overrides_dir: Path | None = None) -> Catalogs:
    """Read the shipped catalogs, merge valid overrides, compile them in memory."""
    refused: list[str] = []
    translators: dict[str, Translator] = {}
    for language in LANGUAGES:
        catalog = read_catalog(language)
        if overrides_dir is not None:
            refused += _apply_overrides(catalog, overrides_dir / f"{language}.po")
        translators[language] = Translator(language, _compile(catalog))
    for problem in refused:
        log.error("text override refused, the shipped text is used: %s", problem)
    return Catalogs(translators, refused)


def catalog_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str) -> Catalog:
    path = catalog_path(language)
    if not path.exists():
        return Catalog(locale=language, domain=DOMAIN)
    with path.open("rb") as file:
        return read_po(file, locale=language, domain=DOMAIN)


def _compile(catalog: Catalog) -> Translations:
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def _apply_overrides(catalog: Catalog, path: Path) -> list[str]:
    if not path.exists():
        return []
    try:
        with path.open("rb") as file:
            overrides = read_po(file, locale=catalog.locale, domain=DOMAIN, abort_invalid=True)
    except Exception as exc:  # a file the operator wrote: any parse error is refused
        return [f"{path}: cannot be read ({exc})"]
    refused = []
    for override in overrides:
        if not override.id or not override.string:
            continue
        shipped = catalog.get(override.id)
        label = _msgid(override)
        if shipped is None:
            refused.append(f"{path}: {label}: no such message")
            continue
        # An operator may add or drop formatting; it only has to be valid.
        problem = message_problem(override, same_tags=False)
        if problem:
            refused.append(f"{path}: {label}: {problem}")
            continue
        shipped.string = override.string
    return refused


def _msgid(message: Message) -> str:
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return repr(msgid if len(msgid) <= 60 else msgid[:57] + "...")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def message_problem(message: Message, *, same_tags: bool = True) -> str | None:
    """Why a translation cannot be used (placeholders or HTML differ), or None.

    ``same_tags``: a shipped translation keeps the source's formatting tags.
    """
    ids = [message.id] if isinstance(message.id, str) else list(message.id)
    strings = [message.string] if isinstance(message.string, str) else list(message.string or ())
    expected = set().union(*(placeholders(i) for i in ids))
    for text in strings:
        if not text:
            return "not translated"
        try:
            found = placeholders(text)
        except ValueError as exc:
            return f"bad placeholder ({exc})"
        # A plural form may leave out {n} (Arabic "one" and "two" spell the number).
        if found - expected or (expected - {"n"}) - found:
            return f"placeholders {sorted(found)} differ from {sorted(expected)}"
        problem = html_problem(text, like=ids[0] if same_tags else None)
        if problem:
            return problem
    return None


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.seen: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problem = self.problem or f"tag <{tag}> is not allowed"
        self.open.append(tag)
        self.seen.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problem = self.problem or f"</{tag}> closes nothing open"


def _tags(text: str) -> _Tags:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    if parser.open and not parser.problem:
        parser.problem = f"<{parser.open[-1]}> is never closed"
    return parser


def html_problem(text: str, like: str | None = None) -> str | None:
    """Telegram refuses unbalanced or unknown tags; a translation keeps ``like``'s tags."""
    found = _tags(text)
    if found.problem:
        return found.problem
    if like is not None and sorted(found.seen) != sorted(_tags(like).seen):
        return "its HTML tags differ from the original's"
    return None
