"""A small registry of named things: string ids, lazy "module:object" targets, helpful errors.

Used for verifiers, constraint checkers and judgers, so users plug their own in by name
without touching the code that looks them up. Unknown ids fail loudly with suggestions;
there is no silent fallback to a default.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from typing import Generic, TypeVar

from .errors import ConfigError, UnknownIdError

T = TypeVar("T")


def import_target(target: str) -> object:
    """Import `"package.module:attribute"` and return the attribute."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"lazy target {target!r} must look like 'package.module:object'")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise ConfigError(f"module {module_name!r} has no attribute {attr!r} (from {target!r})") from exc


class Registry(Generic[T]):
    """Maps ids to objects, or to lazy `"module:object"` strings imported on first use."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = {}
        # Bumped by every register/unregister (not by importing a lazy entry), so whoever built
        # something from the entries (e.g. the graph behind `score`) can tell it is out of date.
        self.version = 0

    def register(self, name: str, entry: T | str, *, replace: bool = False) -> None:
        """Register `entry` (or a lazy target string) under `name`."""
        if not name:
            raise ConfigError(f"a {self.kind} needs a non-empty id")
        if name in self._entries and not replace:
            raise ConfigError(f"{self.kind} {name!r} is already registered; pass replace=True to override")
        self._entries[name] = entry
        self.version += 1

    def unregister(self, name: str) -> None:
        if self._entries.pop(name, None) is not None:
            self.version += 1

    def get(self, name: str) -> T:
        """The entry for `name`, importing it if it was registered lazily."""
        try:
            entry = self._entries[name]
        except KeyError:
            raise self.unknown(name) from None
        if isinstance(entry, str):
            entry = import_target(entry)  # type: ignore[assignment]
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def unknown(self, name: str) -> UnknownIdError:
        known = sorted(self._entries)
        return UnknownIdError(self.kind, name, known, difflib.get_close_matches(name, known, n=2, cutoff=0.6))

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
