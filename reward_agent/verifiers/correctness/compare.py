"""Answer comparison: exact numbers in process, math-verify in a worker process, words normalised.

`compare_answer(answer, gold)` decides one response against one gold answer:

1. `numeric`: both are plain numbers ("72", "72.0", "$1,000") -> exact comparison of their
   values (fractions, no float rounding). Most GSM8K answers stop here: no sympy, no worker.
2. `math_verify`: the gold looks mathematical (digits, LaTeX, operators) -> math-verify compares
   by value (LaTeX, fractions, boxed answers, sets, intervals, units) in `MathVerifyWorker`, under
   a soft per-item timer and a hard deadline that kills the worker.
3. `normalised_match`: otherwise (or when math-verify cannot read the gold) the short answers
   are compared as words (lower case, no punctuation or articles).

The result is a typed `Comparison`: `correct`, `incorrect`, `unparsable` (math-verify could not
read the answer: no evidence), `timeout` (no evidence, never "wrong") or `error`.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .extract import as_number, looks_mathematical, normalise_text

Outcome = Literal["correct", "incorrect", "unparsable", "timeout", "error"]
CompareRule = Literal["numeric", "math_verify", "normalised_match", "code_tests"]

# Soft bound per comparison (the child's timer) and the extra time the host waits before it kills
# the child (when C code holds the interpreter, the timer cannot fire).
DEFAULT_TIMEOUT_S = 5.0
HARD_MARGIN_S = 2.0
STARTUP_TIMEOUT_S = 60.0
WORKER_SCRIPT = Path(__file__).with_name("mathworker.py")


@dataclass(frozen=True)
class Comparison:
    """How one answer compared with the gold, by which rule, and what each side was read as."""

    outcome: Outcome
    rule: CompareRule | None  # None: nothing was compared (no answer found)
    detail: str | None = None
    gold_parsed: str | None = None
    answer_parsed: str | None = None


class MathVerifyWorker:
    """A long-lived child process running math-verify comparisons, one at a time, each bounded.

    Thread-safe (a lock serialises the pipe), so graph nodes on any event loop or thread can share
    it. A comparison past its hard deadline kills the child; the next call starts a fresh one.
    """

    def __init__(self, compare_target: str | None = None, startup_timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        self.compare_target = compare_target
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._lock = threading.Lock()
        self.restarts = 0

    def _start(self) -> subprocess.Popen[bytes]:
        # Started by file path, not `-m`: the child imports math-verify and the standard library only,
        # not the reward_agent package (whose import pulls in LangChain and friends).
        command = [sys.executable, str(WORKER_SCRIPT)]
        if self.compare_target:
            command.append(self.compare_target)
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=dict(os.environ), start_new_session=True)
        self._proc, self._buffer = proc, b""
        ready = self._read_line(time.monotonic() + self.startup_timeout_s)
        if ready is None or ready.get("kind") != "ready":
            self.close()
            raise RuntimeError("the math-verify worker did not start" + ("" if ready is None else f": {ready}"))
        return proc

    def _read_line(self, deadline: float) -> dict[str, Any] | None:
        """The next JSON line from the child, or None when the deadline passes or the child died."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(timeout=left):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            parsed = json.loads(line)
        except ValueError:
            return {"status": "error", "message": f"unreadable worker output: {line[:200]!r}"}
        return parsed if isinstance(parsed, dict) else {"status": "error", "message": "unreadable worker output"}

    def compare(self, gold: str, answer: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
        """One comparison: the child's answer, or `timeout`/`error` when it could not give one."""
        with self._lock:
            try:
                proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
            except (OSError, RuntimeError) as exc:
                return {"status": "error", "message": f"math-verify worker unavailable: {exc}"}
            assert proc.stdin is not None
            try:
                proc.stdin.write((json.dumps({"gold": gold, "answer": answer, "timeout_s": timeout_s}) + "\n").encode())
                proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                self.close()
                return {"status": "error", "message": f"math-verify worker died: {exc}"}
            out = self._read_line(time.monotonic() + timeout_s + HARD_MARGIN_S)
            if out is None:
                died = proc.poll() is not None
                self.close()
                self.restarts += 1
                if died:
                    return {"status": "error", "message": f"math-verify worker died (exit {proc.returncode})"}
                return {"status": "timeout",
                        "message": f"no answer within {timeout_s + HARD_MARGIN_S:g}s; the worker was killed"}
            return out

    def close(self) -> None:
        """Kill the child (if any); the next comparison starts a new one."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


_DEFAULT: MathVerifyWorker | None = None
_DEFAULT_LOCK = threading.Lock()


def default_worker() -> MathVerifyWorker:
    """The process-wide math-verify worker (started on first use)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = MathVerifyWorker()
        return _DEFAULT


def close_default_worker() -> None:
    """Stop the process-wide worker (tests, shutdown); the next comparison starts a fresh one.

    Without this the worker still ends with its parent: it exits when its stdin closes."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        worker, _DEFAULT = _DEFAULT, None
    if worker is not None:
        worker.close()


def compare_answer(answer: str, gold: str, *, worker: MathVerifyWorker | None = None,
                   timeout_s: float = DEFAULT_TIMEOUT_S) -> Comparison:
    """Decide `answer` against `gold` (both already extracted). Blocking: run it in a thread."""
    answer_value, gold_value = as_number(answer), as_number(gold)
    if answer_value is not None and gold_value is not None:
        return Comparison("correct" if answer_value == gold_value else "incorrect", "numeric",
                          gold_parsed=str(gold_value), answer_parsed=str(answer_value))
    if looks_mathematical(gold):
        out = (worker or default_worker()).compare(gold, answer, timeout_s)
        status = out.get("status")
        shown = {"gold_parsed": out.get("gold_parsed"), "answer_parsed": out.get("answer_parsed")}
        if status in ("equal", "different"):
            return Comparison("correct" if status == "equal" else "incorrect", "math_verify", **shown)
        if status == "answer_unparsed":
            if normalise_text(answer) == normalise_text(gold):
                return Comparison("correct", "normalised_match", "math-verify could not read the answer", **shown)
            return Comparison("unparsable", "math_verify", "math-verify could not read the answer as math", **shown)
        if status in ("timeout", "error"):
            return Comparison(status, "math_verify", out.get("message"))  # type: ignore[arg-type]
        if status != "gold_unparsed":
            return Comparison("error", "math_verify", f"unexpected worker answer: {out}")
    same = normalise_text(answer) == normalise_text(gold)
    return Comparison("correct" if same else "incorrect", "normalised_match",
                      gold_parsed=normalise_text(gold), answer_parsed=normalise_text(answer))
