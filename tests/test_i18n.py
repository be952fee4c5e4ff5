"""Languages: every message translated and well-formed in every language, the catalog in
step with the code, locale formatting, plural forms and operators' overrides."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import i18n
from bot.i18n import FSI, LANGUAGES, PDI, catalog_path, message_problem

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [code for code in LANGUAGES if code != i18n.DEFAULT_LANGUAGE]


def _template_ids() -> set[str]:
    with (i18n.LOCALES_DIR / "messages.pot").open("rb") as file:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(file) if m.id}


def _source_ids() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "n_": (1, 2)}
    found: set[str] = set()
    for folder in ("bot", "handlers", "jobs"):
        for _, _, message, _, _ in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=keywords
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_template_holds_exactly_the_messages_the_code_uses() -> None:
    assert _source_ids() == _template_ids(), (
        "run the extract and update commands in the README's Languages section"
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders_and_html(language: str) -> None:
    with catalog_path(language).open("rb") as file:
        catalog = read_po(file, locale=language)
    ids = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    assert set(ids) == _template_ids(), "run pybabel update (README, Languages)"
    problems = {msgid[:60]: message_problem(m) for msgid, m in ids.items() if message_problem(m)}
    assert problems == {}


def test_amounts_and_dates_are_written_as_each_locale_writes_them() -> None:
    catalogs = i18n.load()
    moment = dt.datetime(2026, 11, 24, 23, 30, tzinfo=dt.UTC)
    tehran = ZoneInfo("Asia/Tehran")
    assert catalogs.get("en").amount(123_456_78, "credits") == "123,456.78 credits"
    assert catalogs.get("ru").amount(123_456_78, "credits") == "123\xa0456,78 credits"
    assert catalogs.get("tr").amount(-5, "kredi") == "-0,05 kredi"
    assert catalogs.get("fa").amount(123_456_78, "credits") == f"{FSI}۱۲۳٬۴۵۶٫۷۸ credits{PDI}"
    assert catalogs.get("fa").date(moment, tehran) == f"{FSI}۲۰۲۶-۱۱-۲۵{PDI}"
    assert catalogs.get("en").date(moment, tehran) == "2026-11-25"
    assert catalogs.get("ar").isolate("john_doe") == f"{FSI}john_doe{PDI}"
    assert catalogs.get("ru").isolate("john_doe") == "john_doe"


def _babel(value: int | Decimal, language: str, pattern: str | None = None) -> str:
    return format_decimal(value, pattern, locale=language, numbering_system="default")


@settings(max_examples=300, deadline=None)
@given(
    hundredths=st.integers(-(10**15), 10**15),
    tenths=st.decimals(-(10**9), 10**9, places=3),
    language=st.sampled_from(sorted(LANGUAGES)),
)
def test_numbers_are_written_with_the_separators_and_direction_babel_gives(
    hundredths: int, tenths: Decimal, language: str
) -> None:
    """The bot keeps each language's marks itself rather than load Babel's locale data:
    they must write every number exactly as Babel (CLDR) does."""
    t = i18n.Translator(language, NullTranslations())
    native = t._native
    assert t.number(hundredths) == native(_babel(hundredths, language))
    assert t.decimal(tenths) == native(_babel(tenths, language, "#,##0.0"))
    assert t.decimal(tenths, places=2) == native(_babel(tenths, language, "#,##0.00"))
    amount = _babel(Decimal(hundredths) / 100, language, "#,##0.00;-#,##0.00")
    assert t.amount(hundredths, "credits") == t.isolate(f"{native(amount)} credits")
    assert t.rtl == (Locale.parse(language).text_direction == "rtl")


def test_plural_forms_follow_each_languages_rules() -> None:
    catalogs = i18n.load()
    one, many = "🚨 <b>Ledger audit: {n} problem</b>", "🚨 <b>Ledger audit: {n} problems</b>"
    en = catalogs.get("en")
    assert en.n_(one, many, 1) == "🚨 <b>Ledger audit: 1 problem</b>"
    assert en.n_(one, many, 3) == "🚨 <b>Ledger audit: 3 problems</b>"
    ru = catalogs.get("ru")._translations
    assert [ru.plural(n) for n in (1, 2, 5, 11, 21, 22)] == [0, 1, 2, 2, 0, 1]
    ar = catalogs.get("ar")._translations
    assert [ar.plural(n) for n in (0, 1, 2, 3, 11, 100)] == [0, 1, 2, 3, 4, 5]


def test_a_client_language_is_matched_to_a_supported_one() -> None:
    assert i18n.pick("fa-IR") == "fa"
    assert i18n.pick("ru") == "ru"
    assert i18n.pick("pt-br") == "en"
    assert i18n.pick(None) == "en"


def _override(folder: Path, language: str, entries: str) -> None:
    (folder / f"{language}.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n' + entries,
        encoding="utf-8",
    )


def test_an_operator_override_replaces_the_shipped_text(tmp_path: Path) -> None:
    _override(
        tmp_path,
        "en",
        'msgid "Hello, {name}! What would you like to do?"\n'
        'msgstr "Welcome back, {name}! <b>Ready to sell?</b>"\n',
    )
    catalogs = i18n.load(tmp_path)
    assert catalogs.refused == []
    text = catalogs.get("en")._("Hello, {name}! What would you like to do?", name="Ann")
    assert text == "Welcome back, Ann! <b>Ready to sell?</b>"


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        (
            'msgid "Hello, {name}! What would you like to do?"\nmsgstr "Hi {nmae}!"\n',
            "placeholders",
        ),
        (
            'msgid "Hello, {name}! What would you like to do?"\nmsgstr "Hi <b>{name}!"\n',
            "never closed",
        ),
        (
            'msgid "Hello, {name}! What would you like to do?"\nmsgstr "Hi <div>{name}</div>"\n',
            "not allowed",
        ),
        ('msgid "No such message in the bot"\nmsgstr "Whatever"\n', "no such message"),
        ('msgid "Hello, {name}! What would you like to do?"\nmsgstr "Hi {name"\n', "placeholder"),
    ],
)
def test_a_broken_override_is_refused_naming_its_file_and_the_shipped_text_is_used(
    tmp_path: Path, entry: str, why: str
) -> None:
    _override(tmp_path, "en", entry)
    catalogs = i18n.load(tmp_path)
    assert len(catalogs.refused) == 1
    assert str(tmp_path / "en.po") in catalogs.refused[0] and why in catalogs.refused[0]
    text = catalogs.get("en")._("Hello, {name}! What would you like to do?", name="Ann")
    assert text == "Hello, Ann! What would you like to do?"


def test_an_unreadable_override_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "fa.po").write_text('msgid "unterminated\n', encoding="utf-8")
    catalogs = i18n.load(tmp_path)
    assert len(catalogs.refused) == 1 and "fa.po" in catalogs.refused[0]
