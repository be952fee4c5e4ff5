"""Drafts (the flows' ``user_data``) as JSON, never pickled.

A row names its type (``{"$type": "SaleDraft", "fields": {...}}``) and only the
dataclasses and enums registered with the codec can be rebuilt from it. Reading a row
therefore never runs code from the database, and a row left by an older version of a
draft (a renamed field, a removed type) is dropped with a warning instead of failing
the start-up.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

log = logging.getLogger(__name__)

Data = dict[Any, Any]


class DraftCodec:
    """JSON for ``user_data``: plain values, lists, dicts and the registered types."""

    def __init__(self, kinds: Iterable[type]) -> None:
        self._kinds: dict[str, type] = {}
        for kind in kinds:
            self._register(kind)

    @property
    def kinds(self) -> Mapping[str, type]:
        return self._kinds

    def _register(self, kind: type) -> None:
        if not (dataclasses.is_dataclass(kind) or issubclass(kind, enum.Enum)):
            raise TypeError(f"{kind.__name__} is neither a dataclass nor an enum")
        if self._kinds.setdefault(kind.__name__, kind) is not kind:
            raise ValueError(f"two stored types are named {kind.__name__}")
        if dataclasses.is_dataclass(kind):
            # What a draft holds is stored with it: register its fields' types too.
            for hint in typing.get_type_hints(kind).values():
                for inner in _named_types(hint):
                    if self._kinds.get(inner.__name__) is not inner:
                        self._register(inner)

    def _known(self, value: object) -> str:
        name = type(value).__name__
        if self._kinds.get(name) is not type(value):
            raise TypeError(f"a {name} is not a registered draft type")
        return name

    def encode(self, value: object) -> Any:
        if isinstance(value, enum.Enum):  # before int and str: IntEnum and StrEnum are both
            return {"$enum": self._known(value), "value": value.value}
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                "$type": self._known(value),
                "fields": {
                    f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value)
                },
            }
        if isinstance(value, list | tuple):
            return [self.encode(item) for item in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {k: self.encode(v) for k, v in value.items()}
            return {"$dict": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        raise TypeError(f"a {type(value).__name__} cannot be stored")

    def decode(self, data: Any) -> Any:
        if isinstance(data, list):
            return [self.decode(item) for item in data]
        if not isinstance(data, dict):
            return data
        if "$type" in data:
            kind = self._kinds[data["$type"]]
            if not dataclasses.is_dataclass(kind):
                raise TypeError(f"{kind.__name__} is not a dataclass")
            return kind(**{k: self.decode(v) for k, v in data["fields"].items()})
        if "$enum" in data:
            kind = self._kinds[data["$enum"]]
            if not issubclass(kind, enum.Enum):
                raise TypeError(f"{kind.__name__} is not an enum")
            return kind(data["value"])
        if "$dict" in data:
            return {_hashable(self.decode(k)): self.decode(v) for k, v in data["$dict"]}
        return {k: self.decode(v) for k, v in data.items()}

    def dumps(self, user_data: Mapping[str, Any]) -> str:
        """One user's data as JSON; a value that cannot be stored is left out and logged."""
        stored: dict[str, Any] = {}
        for key, value in user_data.items():
            try:
                stored[str(key)] = self.encode(value)
            except TypeError as exc:
                log.error("user_data[%r] is not stored: %s", key, exc)
        return json.dumps(stored, sort_keys=True, separators=(",", ":"))

    def loads(self, text: str) -> Data:
        """The data back; an entry written by an older version of a draft is dropped."""
        out: Data = {}
        for key, value in json.loads(text).items():
            try:
                out[key] = self.decode(value)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("stored user_data[%r] no longer fits its type, dropped: %s", key, exc)
        return out


def _named_types(hint: Any) -> Iterator[type]:
    """The dataclasses and enums a type hint mentions (``list[Method] | None`` -> Method)."""
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or issubclass(hint, enum.Enum)):
        yield hint
    origin = typing.get_origin(hint)
    if origin is not None or isinstance(hint, types.UnionType):
        for arg in typing.get_args(hint):
            yield from _named_types(arg)


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key
