"""Where a benchmark writes when no `--out` is given: a fresh run directory under `runs/`.

Committed results (benchmarks/results/) are only written when asked for by path, so running
a benchmark to try something never overwrites the numbers the README quotes.
"""

from __future__ import annotations

import time
from pathlib import Path

RUNS = "runs"


def fresh_run_dir(name: str, root: Path | str | None = None) -> Path:
    """A new, empty directory `<root>/runs/<name>-<UTC time>[-k]` (root: the current directory)."""
    base = Path(root if root is not None else Path.cwd()) / RUNS
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for k in range(1000):
        path = base / (f"{name}-{stamp}" if k == 0 else f"{name}-{stamp}-{k}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free run directory for {name!r} under {base}")


def default_out(name: str, filename: str, root: Path | str | None = None) -> Path:
    """`fresh_run_dir(name)/filename`: the default `--out` of a benchmark writing one file."""
    return fresh_run_dir(name, root) / filename
