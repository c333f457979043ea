"""Versioned prompt templates, loaded by name, rendered with strict substitution.

Templates are text files named `NAME.vN.txt` in the `prompts/` folder (shipped as the package
`reward_agent.prompts`). `load_prompt("planner")` returns the highest N; results record
`template.version` (e.g. "planner.v2") so every score can be traced to the prompt that produced it.

Placeholders use `string.Template` syntax, `$var` or `${var}`, because prompts are full of JSON braces
that `{var}` formatting would trip over. Write a literal dollar sign as `$$`. Rendering is strict: a
missing variable, an unused extra one, or a malformed `$` raises `ConfigError` naming it.
"""

from __future__ import annotations

import difflib
import importlib.resources
import re
import string
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from .errors import ConfigError, UnknownIdError

__all__ = ["PromptTemplate", "list_prompts", "load_prompt", "prompt_dirs"]

_FILE_RE = re.compile(r"^(?P<name>[A-Za-z0-9_\-]+)\.v(?P<number>[0-9]+)\.txt$")
_VERSION_RE = re.compile(r"^(?:(?P<name>[A-Za-z0-9_\-]+)\.)?v?(?P<number>[0-9]+)$")
# The repo checkout's prompts/ folder, for running from a source tree that was never installed.
_REPO_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


@dataclass(frozen=True)
class PromptTemplate:
    """One version of one prompt. `version` is the id to record with results, e.g. "planner.v1"."""

    name: str
    number: int
    text: str
    source: str

    @property
    def version(self) -> str:
        return f"{self.name}.v{self.number}"

    @property
    def variables(self) -> frozenset[str]:
        """The placeholder names the text uses."""
        return frozenset(string.Template(self.text).get_identifiers())

    def render(self, **variables: Any) -> str:
        """The text with every `$var` replaced. Missing, extra or None variables raise `ConfigError`."""
        expected = self.variables
        missing = sorted(expected - variables.keys())
        extra = sorted(variables.keys() - expected)
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing variable(s) {', '.join(missing)}")
            if extra:
                parts.append(f"unused variable(s) {', '.join(extra)}")
            raise ConfigError(
                f"prompt {self.version}: {'; '.join(parts)}. "
                f"It expects exactly: {', '.join(sorted(expected)) or '(none)'}."
            )
        nones = sorted(k for k, v in variables.items() if v is None)
        if nones:
            # A None rendered as the word "None" is a silent bug in the prompt; refuse it.
            raise ConfigError(f"prompt {self.version}: variable(s) {', '.join(nones)} are None")
        return string.Template(self.text).substitute({k: str(v) for k, v in variables.items()})


def _validate_text(name: str, number: int, text: str, source: str) -> None:
    """Refuse a template with a `$` that is neither `$$` nor a placeholder, at load time."""
    if not string.Template(text).is_valid():
        bad = re.search(r"\$(?![$]|[_A-Za-z]|\{[_A-Za-z][_A-Za-z0-9]*\})", text)
        where = f" near {text[bad.start():bad.start() + 12]!r}" if bad else ""
        raise ConfigError(
            f"prompt {name}.v{number} ({source}) has a malformed placeholder{where}; "
            "write placeholders as $name or ${name} and a literal dollar as $$"
        )


def prompt_dirs() -> list[Traversable]:
    """Where prompts are looked up: the installed `reward_agent.prompts` package, else the repo's `prompts/`."""
    dirs: list[Traversable] = []
    try:
        dirs.append(importlib.resources.files("reward_agent.prompts"))
    except ModuleNotFoundError:
        pass  # not installed as a package (a plain source checkout): fall back to the folder
    if _REPO_PROMPTS.is_dir() and not any(_same_dir(d, _REPO_PROMPTS) for d in dirs):
        dirs.append(_REPO_PROMPTS)
    return dirs


def _same_dir(a: Traversable, b: Path) -> bool:
    try:
        return Path(str(a)).resolve() == b
    except (OSError, ValueError):
        return False


def _scan(directory: Traversable) -> dict[str, dict[int, Traversable]]:
    found: dict[str, dict[int, Traversable]] = {}
    if not directory.is_dir():
        return found
    for entry in directory.iterdir():
        match = _FILE_RE.match(entry.name)
        if match and entry.is_file():
            found.setdefault(match["name"], {})[int(match["number"])] = entry
    return found


def _catalog(directory: str | None) -> dict[str, dict[int, Traversable]]:
    """name -> {version number -> file}. Earlier directories win on conflicts.

    Not memoised: listing a folder is cheap next to a model call, and a stale listing would hide a
    prompt file added while developing.
    """
    dirs: list[Traversable] = [Path(directory)] if directory is not None else prompt_dirs()
    catalog: dict[str, dict[int, Traversable]] = {}
    for d in reversed(dirs):
        for name, versions in _scan(d).items():
            catalog.setdefault(name, {}).update(versions)
    return catalog


def list_prompts(directory: str | Path | None = None) -> dict[str, list[int]]:
    """Every prompt name with its available version numbers, sorted."""
    catalog = _catalog(None if directory is None else str(directory))
    return {name: sorted(versions) for name, versions in sorted(catalog.items())}


def _parse_version(name: str, version: int | str) -> int:
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    match = _VERSION_RE.match(str(version))
    if not match or (match["name"] and match["name"] != name):
        raise ConfigError(
            f"prompt version {version!r} for {name!r} is not understood; pass 2, 'v2' or '{name}.v2'"
        )
    return int(match["number"])


def load_prompt(name: str, version: int | str | None = None, *, directory: str | Path | None = None) -> PromptTemplate:
    """Load `NAME.vN.txt`: the given version (2, "v2" or "NAME.v2") or the latest.

    `directory` looks only there instead of the packaged prompts (for tests and user prompt folders).
    Unknown names raise `UnknownIdError` with suggestions; unknown versions list the available ones.
    """
    catalog = _catalog(None if directory is None else str(directory))
    if name not in catalog:
        known = sorted(catalog)
        raise UnknownIdError("prompt", name, known, difflib.get_close_matches(name, known, n=3))
    versions = catalog[name]
    number = max(versions) if version is None else _parse_version(name, version)
    if number not in versions:
        available = ", ".join(f"v{n}" for n in sorted(versions))
        raise ConfigError(f"prompt {name!r} has no version v{number}; available: {available}")
    entry = versions[number]
    text = entry.read_text(encoding="utf-8")
    _validate_text(name, number, text, str(entry))
    return PromptTemplate(name=name, number=number, text=text, source=str(entry))
