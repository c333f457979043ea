"""The concurrent, resumable batch runner every benchmark and batch command is built on.

`run_batch(items, work, out_dir)` calls an async `work(item) -> row` over `(id, item)` pairs with
bounded concurrency and appends one JSON line per item to `out_dir/{name}.jsonl`:

* **In dataset order.** Completions arrive out of order; they wait in a buffer and only the
  contiguous prefix is written (results written in completion order attach per-subset numbers to
  the wrong rows, one of the evaluation bugs of the original RewardAgent). Items are only started
  within a window ahead of the next row to write, so the buffer (and what a crash can lose) stays
  bounded.
* **Durable.** Each write batch is flushed and fsynced, so `kill -9` loses at most the items in
  flight.
* **Resumable.** Running the same command again reads the file, drops a torn last line, skips the
  rows already there and continues. Rows hold only deterministic content (timings go to
  `{name}.run.json`), so a resumed run produces the same bytes as an uninterrupted one.
* **Failures are rows.** An exception from `work` becomes `{"id": ..., "error": "Type: message"}`
  and is counted; it never aborts the run. KeyboardInterrupt / cancellation do abort, after the
  finished prefix is written, and so does `RunAborted` (a failure of the machinery, such as a lost
  Ray worker, that says nothing about the item: rerunning resumes it).
* **Configuration is pinned.** `{name}.config.json` records the run's configuration; resuming with a
  different one is an error unless `overwrite=True` (which starts the file afresh), because a
  changed configuration would mix results of two systems in one file.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from ..errors import ConfigError
from ..redaction import scrub_text

__all__ = ["BatchReport", "ResultsFileError", "RunAborted", "arun_batch", "error_fields", "error_row", "read_rows", "run_batch"]

T = TypeVar("T")

# How far ahead of the next row to write an item may be started, in multiples of `concurrency`.
# Bounds the reorder buffer when one slow item holds up the prefix.
WINDOW_FACTOR = 8


class ResultsFileError(ConfigError):
    """An existing results file cannot be resumed (other configuration, other dataset)."""


class RunAborted(Exception):
    """Raised by a `work` function to stop the run instead of recording the item as failed."""


@dataclass
class BatchReport:
    """What a batch run did. `rows` is the whole results file, in dataset order."""

    rows: list[dict[str, Any]]
    done: int
    resumed: int
    failed: int
    elapsed_s: float
    items_per_s: float
    path: Path | None = None
    run_info: dict[str, Any] = field(default_factory=dict)


def error_fields(exc: BaseException) -> dict[str, str]:
    """`{"error": "Type: first line of the message"}` for an exception (deterministic: no traceback)."""
    text = str(exc).strip()
    message = text.splitlines()[0] if text else ""
    return {"error": f"{type(exc).__name__}: {message}" if message else type(exc).__name__}


def error_row(item_id: str, exc: BaseException) -> dict[str, Any]:
    """The row recorded for an item whose work raised."""
    return {"id": item_id, **error_fields(exc)}


def _dump(row: dict[str, Any]) -> str:
    # allow_nan=False: NaN is not JSON and would make the file unreadable to strict parsers.
    # scrub_text: an error message may quote a secret of the configuration (only known values are
    # masked, so responses and URLs in the data stay as they are).
    return scrub_text(json.dumps(row, ensure_ascii=False, allow_nan=False)) + "\n"


def read_rows(path: str | Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """The complete rows of a results file. A torn last line (a crash mid-write) is dropped,
    and with `repair=True` cut from the file so that appending continues cleanly.

    A malformed line anywhere else is not a crash artefact: it raises `ResultsFileError`.
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    # After the last "\n" there is either nothing (a clean file) or a torn line.
    complete, tail = lines[:-1], lines[-1]
    keep = len(data) - len(tail)
    rows: list[dict[str, Any]] = []
    for lineno, raw in enumerate(complete, 1):
        try:
            row = json.loads(raw)
            if not isinstance(row, dict) or "id" not in row:
                raise ValueError("not an object with an 'id'")
        except ValueError as exc:
            if lineno == len(complete) and not tail:
                # The last line ended with "\n" but is not JSON: also a torn write (rare).
                keep -= len(raw) + 1
                break
            raise ResultsFileError(f"{path}:{lineno}: malformed results line ({exc}); remove the file "
                                   "or pass --force to start over") from None
        rows.append(row)
    if repair and keep != len(data):
        with open(path, "r+b") as fh:
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
    return rows


def _check_config(config_path: Path, config: dict[str, Any] | None, has_rows: bool, overwrite: bool) -> bool:
    """Compare with the saved configuration. True when the results must start afresh."""
    if config is None or not has_rows:
        return False
    wanted = json.loads(json.dumps(config, ensure_ascii=False))  # normalise tuples etc. as saved
    if config_path.exists():
        saved = json.loads(config_path.read_text(encoding="utf-8"))
        if saved == wanted:
            return False
        differing = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
        problem = f"the configuration differs from the one saved in {config_path} (keys: {', '.join(differing)})"
    else:
        problem = f"the results file has rows but no saved configuration ({config_path} is missing)"
    if overwrite:
        return True
    raise ResultsFileError(f"cannot resume: {problem}. Resuming would mix results of two configurations; "
                           "use another output directory, or --force to discard the old results")


async def _guarded(work: Callable[[T], Awaitable[dict[str, Any]]], item_id: str, item: T) -> tuple[dict[str, Any], str, bool]:
    """Run one item; any Exception becomes an error row. Returns (row, its JSON line, failed?)."""
    try:
        row = await work(item)
        if not isinstance(row, dict):
            raise TypeError(f"work returned {type(row).__name__}, not a dict")
        full = {"id": item_id, **{k: v for k, v in row.items() if k != "id"}}
        return full, _dump(full), "error" in full
    except RunAborted:
        raise
    except Exception as exc:  # noqa: BLE001 - a failing item is data, recorded in its row
        row = error_row(item_id, exc)
        return row, _dump(row), True


async def arun_batch(
    items: Sequence[tuple[str, T]],
    work: Callable[[T], Awaitable[dict[str, Any]]],
    out_dir: str | Path,
    *,
    name: str = "results",
    concurrency: int = 4,
    config: dict[str, Any] | None = None,
    desc: str = "scoring",
    progress: bool = True,
    overwrite: bool = False,
    run_info: dict[str, Any] | None = None,
) -> BatchReport:
    """Run `work` over `items` into `out_dir/{name}.jsonl` (see the module docstring).

    `run_info` adds entries (e.g. the executor) to this invocation's record in `{name}.run.json`.
    """
    if concurrency < 1:
        raise ConfigError(f"concurrency must be >= 1, got {concurrency}")
    ids = [str(item_id) for item_id, _ in items]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dupes = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
        raise ConfigError(f"item ids must be unique; duplicated: {', '.join(dupes[:5])}"
                          + (f" and {len(dupes) - 5} more" if len(dupes) > 5 else ""))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.jsonl"
    config_path = out / f"{name}.config.json"

    existing = read_rows(path, repair=True)
    if _check_config(config_path, config, bool(existing), overwrite):
        path.unlink()
        existing = []
    done_ids = [str(r["id"]) for r in existing]
    if done_ids != ids[: len(done_ids)]:
        if not overwrite:
            raise ResultsFileError(
                f"cannot resume: {path} holds {len(done_ids)} rows that are not the first items of this "
                "dataset in order (another dataset, order or --limit?); use another output directory, "
                "or --force to start over")
        path.unlink()
        existing, done_ids = [], []
    if config is not None:
        config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    todo = list(items)[len(existing):]
    rows: list[dict[str, Any]] = list(existing)
    failed = sum("error" in r for r in existing)
    done = 0
    window = concurrency * WINDOW_FACTOR
    buffer: dict[int, tuple[dict[str, Any], str, bool]] = {}
    running: dict[asyncio.Task[tuple[dict[str, Any], str, bool]], int] = {}
    next_write = 0  # index into todo of the next row to write
    launched = 0
    started = time.perf_counter()

    bar = tqdm(total=len(items), initial=len(existing), desc=desc, unit="item", disable=not progress,
               dynamic_ncols=True)

    def flush(fh: Any) -> None:
        nonlocal next_write, done, failed
        lines: list[str] = []
        while next_write in buffer:
            row, line, is_failure = buffer.pop(next_write)
            rows.append(json.loads(line))  # the row as a reader of the file will see it
            lines.append(line)
            failed += is_failure
            next_write += 1
        if lines:
            fh.write("".join(lines))
            fh.flush()
            os.fsync(fh.fileno())
            done += len(lines)
            bar.update(len(lines))

    try:
        with open(path, "a", encoding="utf-8") as fh:
            try:
                while launched < len(todo) or running:
                    while launched < len(todo) and len(running) < concurrency and launched - next_write < window:
                        item_id, item = todo[launched]
                        task = asyncio.ensure_future(_guarded(work, str(item_id), item))
                        running[task] = launched
                        launched += 1
                    finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for task in finished:
                        buffer[running.pop(task)] = task.result()
                    flush(fh)
            except BaseException:
                # Interrupted (Ctrl-C, cancellation): stop the work in flight, keep what is finished.
                for task in running:
                    task.cancel()  # no effect on tasks that already finished: their rows are kept
                await asyncio.gather(*running, return_exceptions=True)
                for task, pos in running.items():
                    if not task.cancelled() and task.exception() is None:
                        buffer[pos] = task.result()
                flush(fh)
                raise
    finally:
        bar.close()
        elapsed = time.perf_counter() - started
        info = {"name": name, "items": len(items), "done": done, "resumed": len(existing),
                    "failed": failed, "elapsed_s": round(elapsed, 3),
                    "items_per_s": round(done / elapsed, 4) if elapsed > 0 else 0.0,
                    "concurrency": concurrency, "complete": len(rows) == len(items), **(run_info or {})}
        _append_run_info(out / f"{name}.run.json", info)

    return BatchReport(rows=rows, done=done, resumed=len(existing), failed=failed, elapsed_s=elapsed,
                       items_per_s=done / elapsed if elapsed > 0 else 0.0, path=path, run_info=info)


def _append_run_info(path: Path, info: dict[str, Any]) -> None:
    """Per-run timings live beside the results (never in them): one entry per invocation."""
    runs: list[dict[str, Any]] = []
    if path.exists():
        try:
            runs = json.loads(path.read_text(encoding="utf-8")).get("runs", [])
        except (ValueError, AttributeError):
            runs = []  # a damaged timing log is not worth failing a run over; it is rewritten
    runs.append(info)
    path.write_text(json.dumps({"runs": runs}, indent=2) + "\n", encoding="utf-8")


def run_batch(
    items: Sequence[tuple[str, T]],
    work: Callable[[T], Awaitable[dict[str, Any]]],
    out_dir: str | Path,
    *,
    name: str = "results",
    concurrency: int = 4,
    config: dict[str, Any] | None = None,
    desc: str = "scoring",
    progress: bool = True,
    overwrite: bool = False,
) -> BatchReport:
    """Synchronous `arun_batch` (from code that has no event loop running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("run_batch() was called inside a running event loop; await arun_batch() instead")
    return asyncio.run(arun_batch(items, work, out_dir, name=name, concurrency=concurrency, config=config,
                                  desc=desc, progress=progress, overwrite=overwrite))
