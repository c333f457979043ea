"""Vetted helper modules a checker may import, and how each reaches the sandbox's runner.

One owner for the question "which of our own modules may untrusted code import": `HELPER_MODULES`
maps the name a checker imports (`checklib`) to the host module holding its source. Adding one is a
line here plus its name in `policy.ALLOWED_IMPORTS` (the policy stays the one list of importable
names; the gate walks the host module for its public names through `host_module`).

The runner runs in isolated mode (standard library only), so the request carries the helper's source
(`requests_for`), and only for programs that import it: a checker that does not pays nothing. A
helper that needs an installed library (the language detector) gets that library's directory on the
path for its own import only, before the supervisor confines itself.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import os
import types
from pathlib import Path
from typing import Any

# name a checker imports -> the host module whose source it gets
HELPER_MODULES: dict[str, str] = {"checklib": "reward_agent.sandbox.checklib"}

# Installed libraries a helper may load when a program uses the function that needs them.
_LIBRARY_FOR_FUNCTION: dict[str, tuple[str, ...]] = {"detect_language": ("langdetect_rs", "langdetect")}


def host_module(name: str) -> types.ModuleType:
    """The module the gate walks for `name`: the helper's host module, else the stdlib module."""
    return importlib.import_module(HELPER_MODULES.get(name, name))


@functools.lru_cache(maxsize=None)
def _source(name: str) -> str:
    spec = importlib.util.find_spec(HELPER_MODULES[name])
    assert spec is not None and spec.origin is not None, f"helper module {name} has no source"
    return Path(spec.origin).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=None)
def _library_path(library: str) -> str | None:
    """The directory that holds `library` (its site-packages), or None when it is not installed."""
    spec = importlib.util.find_spec(library)
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.dirname(next(iter(spec.submodule_search_locations)))


def imported_helpers(code: str) -> list[str]:
    """The helper modules `code` imports (none when it does not parse: the gate rejects it anyway)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return sorted(found & set(HELPER_MODULES))


def requests_for(code: str) -> list[dict[str, Any]]:
    """What the runner needs to load the helpers `code` imports: name, source, extra library paths."""
    out = []
    for name in imported_helpers(code):
        paths: list[str] = []
        for function, libraries in _LIBRARY_FOR_FUNCTION.items():
            if function in code:
                paths += [p for p in (_library_path(lib) for lib in libraries) if p and p not in paths][:1]
        out.append({"name": name, "source": _source(name), "paths": paths})
    return out


__all__ = ["HELPER_MODULES", "host_module", "imported_helpers", "requests_for"]
