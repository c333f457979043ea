"""Reading JSONL data files with errors that name the file, the line and the problem.

Every dataset reader (benchmarks, best-of-n inputs, IFEval verdicts) walks a JSONL file the same
way: skip blank lines, parse each line, pull the fields it needs, and on any malformed line stop
with `path:line: not <what> (<why>)`. This module is that walk, once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def read_jsonl(path: str | Path, what: str, *, error: type[Exception] = ValueError) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each non-blank line; raises `error` for a missing file or bad JSON."""
    path = Path(path)
    if not path.is_file():
        raise error(f"data file {str(path)!r} does not exist")
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            with line_errors(path, lineno, what, error=error):
                record = json.loads(line)
            yield lineno, record


@contextmanager
def line_errors(path: str | Path, lineno: int, what: str, *, error: type[Exception] = ValueError) -> Iterator[None]:
    """Turn a missing field or a wrong type while reading one line into `error` naming `path:lineno`."""
    try:
        yield
    except (ValueError, KeyError, TypeError) as exc:
        raise error(f"{path}:{lineno}: not {what} ({type(exc).__name__}: {exc})") from None


def read_json_list(path: str | Path, what: str, *, error: type[Exception] = ValueError) -> list[Any]:
    """A JSON file holding one list (RM-Bench, IFBench pairs); raises `error` naming the file otherwise."""
    path = Path(path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise error(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(records, list):
        raise error(f"{path}: expected a JSON list of {what}")
    return records
