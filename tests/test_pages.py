"""Fitting rendered lists into Telegram's length limits."""

from __future__ import annotations

import pytest

from handlers import pages
from handlers.pages import ANSWER_LIMIT, CAPTION_LIMIT, TEXT_LIMIT
from tests.fake_bot_api import visible_text


def test_length_counts_what_telegram_counts() -> None:
    assert pages.length("<b>ab</b> &lt;c&gt;") == 6
    assert pages.length("😀") == 2  # outside the BMP: two UTF-16 code units
    assert pages.length("é·✅") == 3
    assert pages.plain("<code>1 &lt; 2</code> &amp; <b>x</b>") == "1 < 2 & x"


@pytest.mark.parametrize("limit", [1, 2, 5, 9, 10, 11])
def test_truncate_keeps_html_valid_and_within_the_limit(limit: int) -> None:
    html = "<b>Top-up</b> <code>&lt;😀&gt;</code> end"
    cut = pages.truncate(html, limit)
    visible_text(cut, "HTML")  # parses as Telegram would, or raises
    assert pages.length(cut) <= limit and "…" in cut


def test_truncate_leaves_a_text_that_fits_alone() -> None:
    assert pages.truncate("<b>ok</b>", 2) == "<b>ok</b>"


def test_a_button_answer_is_cut_to_200_units() -> None:
    assert pages.clip_answer("short") == "short"
    exact = "x" * ANSWER_LIMIT
    assert pages.clip_answer(exact) == exact
    cut = pages.clip_answer("😀" * 150)  # 300 units
    assert pages.units(cut) <= ANSWER_LIMIT and cut.endswith("…")


def test_fit_cuts_only_the_longest_lines() -> None:
    lines = ["<b>Title</b>", "a" * 3000, "b" * 3000, "Total: 5"]
    text = pages.fit(lines, TEXT_LIMIT)
    assert pages.length(text) <= TEXT_LIMIT
    assert text.startswith("<b>Title</b>\n") and text.endswith("\nTotal: 5")
    first, second = text.split("\n")[1:3]
    assert first.endswith("…") and second.endswith("…")
    assert abs(len(first) - len(second)) <= 1
    assert pages.fit(["a", "b"], 3) == "a\nb"  # exactly at the limit: unchanged


def test_fit_of_a_caption_with_emoji_names() -> None:
    lines = ["🧾 Top-up #1", "Reseller: " + "😀" * 100, "Reason: " + "🙃" * 255, "Requested"]
    text = pages.fit(lines, CAPTION_LIMIT)
    assert pages.length(text) <= CAPTION_LIMIT and "Requested" in text


def test_paginate_puts_every_item_on_exactly_one_page_within_the_limit() -> None:
    items = [f"#{i} · " + "&lt;x&gt;" * 60 + "😀" * 40 for i in range(40)]  # ~ 190 each

    def header(page: int, pages_: int) -> str:
        return f"<b>Items</b> · page {page + 1} of {pages_}"

    first = pages.paginate(items, 0, header=header, footer="<i>end</i>", limit=TEXT_LIMIT)
    seen: list[int] = []
    for number in range(first.pages):
        page = pages.paginate(items, number, header=header, footer="<i>end</i>")
        visible_text(page.text, "HTML")
        assert pages.length(page.text) <= TEXT_LIMIT
        assert f"page {number + 1} of {first.pages}" in page.text
        assert page.text.endswith("<i>end</i>")
        seen += list(page.items)
        # The page is full: the next item would not have fitted.
        if number < first.pages - 1:
            more = page.text + "\n" + items[page.stop]
            assert pages.length(more) > TEXT_LIMIT
    assert seen == list(range(40)) and first.pages > 1


def test_paginate_clamps_the_page_and_caps_the_items() -> None:
    items = [str(i) for i in range(25)]
    last = pages.paginate(items, 99, max_items=10)
    assert (last.page, last.pages, list(last.items)) == (2, 3, list(range(20, 25)))
    assert pages.paginate(items, -5, max_items=10).page == 0
    empty = pages.paginate([], 0, header="Nothing")
    assert (empty.text, empty.pages, list(empty.items)) == ("Nothing", 1, [])


def test_an_item_longer_than_a_page_is_cut_to_fit() -> None:
    page = pages.paginate(["<b>" + "y" * 5000 + "</b>", "z"], 0, header="H", limit=100)
    assert pages.length(page.text) <= 100 and list(page.items) == [0]
    visible_text(page.text, "HTML")
    assert pages.paginate(["<b>" + "y" * 5000 + "</b>", "z"], 1, header="H").text == "H\nz"
