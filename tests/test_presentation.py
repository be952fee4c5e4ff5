"""Where the words live: every user-facing text is a catalog message written in a view.

Reads the source, not the bot: a translator call outside a views module, or a sentence
written as a plain literal in a handler or a job, is a text that escaped the presentation
layer (and, for the literal, the catalogs). The services know no language and no Telegram.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRESENTATION = ("handlers", "jobs")
# Views: a feature's views modules, the notices the jobs send, the shared buttons.
VIEW_FILES = {Path("jobs/notices.py"), Path("bot/keyboards.py")}
TRANSLATORS = {"_", "n_"}
SENTENCE = re.compile(r"[A-Za-z]{2,}[,.:;!?]? +[A-Za-z]{2,}")
LANGUAGE_FACTS = {"LANGUAGES", "DEFAULT_LANGUAGE"}
LOGGING = {"debug", "info", "warning", "error", "exception", "critical"}


def _is_view(path: Path) -> bool:
    return path in VIEW_FILES or path.name == "views.py" or path.name.endswith("_views.py")


def _modules(*folders: str) -> Iterator[tuple[Path, ast.Module]]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            yield relative, ast.parse(path.read_text(encoding="utf-8"), str(relative))


def _called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _exempt(tree: ast.Module) -> set[int]:
    """Literals that are not said to a user: docstrings, log lines, a programmer's errors
    and assertions, and text compared with what another system said."""
    exempt = _docstrings(tree)
    for node in ast.walk(tree):
        inside: list[ast.AST] = []
        if isinstance(node, ast.Call) and _called_name(node) in LOGGING:
            inside = [*node.args, *node.keywords]
        elif isinstance(node, ast.Assert) and node.msg is not None:
            inside = [node.msg]
        elif isinstance(node, ast.Raise | ast.Compare):
            inside = [node]
        for part in inside:
            exempt.update(id(n) for n in ast.walk(part))
    return exempt


def test_translator_calls_are_only_in_views() -> None:
    outside = [
        f"{path}:{node.lineno}"
        for path, tree in _modules("bot", *PRESENTATION)
        if not _is_view(path)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _called_name(node) in TRANSLATORS
        if not str(path).startswith("bot/i18n")
    ]
    assert outside == [], "texts outside the views: " + ", ".join(outside)


def test_no_sentence_is_written_as_a_literal_in_handlers_or_jobs() -> None:
    found = []
    for path, tree in _modules(*PRESENTATION):
        if _is_view(path):
            continue
        exempt = _exempt(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in exempt
                and SENTENCE.search(node.value)
            ):
                found.append(f"{path}:{node.lineno}: {node.value!r}")
    assert found == [], "\n".join(found)


def test_services_know_no_telegram_and_no_language() -> None:
    found = []
    for path, tree in _modules("bot/services"):
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module == "bot.i18n":
                # Which languages there are is a fact a service may keep; words are not.
                names = [f"bot.i18n.{a.name}" for a in node.names if a.name not in LANGUAGE_FACTS]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            found += [
                f"{path}:{getattr(node, 'lineno', 0)}: {name}"
                for name in names
                if name.split(".")[0] in {"telegram", "handlers", "babel"}
                or name.startswith("bot.i18n")
            ]
    assert found == [], "\n".join(found)
