"""Finding English left in a reply meant for another language.

Two nets: every static piece of a catalog message (the words between placeholders and
tags) that the reader's translation does not itself keep; and, for text no catalog holds
(a literal someone forgot to move), a run of Latin words with English function words in
it. Operator data (plan names, usernames, payment instructions) is Latin but never a
sentence of function words, so the journeys name their data accordingly.
"""

from __future__ import annotations

import re
from functools import cache

from babel.messages.pofile import read_po

from bot import i18n

_TAG = re.compile(r"<[^>]+>")
_PLACEHOLDER = re.compile(r"\{[^}]*\}|\n")  # a placeholder, or a line's end
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[\s,;:]+[A-Za-z][A-Za-z'’]*)+")
_FUNCTION_WORDS = (
    "the you your is are was were to of and or for with not this that has have be been "
    "will can it its from by an please here there than yet my no"
)
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split(" "))


def _fragments(msgid: str) -> list[str]:
    """The static pieces of a message: at least two words, as a reader would see them."""
    plain = _TAG.sub(" ", msgid).replace("&lt;", "<").replace("&gt;", ">")
    pieces = []
    for piece in _PLACEHOLDER.split(plain):
        piece = " ".join(piece.split()).strip(" .,:;!?·•()—-–\n")
        if len(_WORD.findall(piece)) >= 2:
            pieces.append(piece)
    return pieces


@cache
def english_fragments(language: str) -> tuple[str, ...]:
    """The English pieces a reply in ``language`` must not contain."""
    path = i18n.LOCALES_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    found: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        kept = " ".join(str(s) for s in strings)
        for msgid in ids:
            # A piece the translation keeps as it is (a brand, a code) is not English to it.
            found.update(f for f in _fragments(str(msgid)) if f not in kept)
    return tuple(sorted(found, key=len, reverse=True))


def english_in(text: str, language: str) -> list[str]:
    """What in ``text`` (as a reader sees it) is English, for a reader of ``language``."""
    found = [f for f in english_fragments(language) if f in text]
    for run in _LATIN_RUN.findall(text):
        words = [w.lower() for w in _WORD.findall(run)]
        if sum(w in FUNCTION_WORDS for w in words) >= 2 or (
            len(words) >= 4 and any(w in FUNCTION_WORDS for w in words)
        ):
            found.append(run)
    return found
