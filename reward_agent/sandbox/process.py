"""Run one checker over a batch of responses in one confined process, without blocking the loop.

`execute_batch` is the single place a sandbox process is started. It gates the code (unless a
security test turns the gate off to prove the process layer on its own), starts the runner under
the machine's isolation (`isolation.py`), feeds it the batch as ASCII-escaped JSON (with the
attribute allow-list for this program), reads its JSON lines under an output cap and a wall-clock
limit, kills the whole process group afterwards, and turns everything into one typed `Outcome` per
response. The lines come from the runner's supervisor alone (check processes cannot reach the
host's pipe; see `runner.py`). It never raises for anything the untrusted code does.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from .gate import inspect_source, runtime_attribute_names
from .isolation import Isolation, Limits, detect_isolation, make_preexec, make_workdir, runner_request
from .outcomes import BatchResult, Outcome, rejected_batch

_RUNNER_STATUSES = frozenset({"passed", "failed", "error", "timeout"})
_STDERR_CAP = 64 * 1024


async def current_isolation() -> Isolation:
    """The machine's isolation, probed in a worker thread the first time (probing starts processes)."""
    if detect_isolation.cache_info().currsize:
        return detect_isolation()
    return await asyncio.to_thread(detect_isolation)


@dataclass
class _Capture:
    """What came back from the child, and how it ended."""

    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    over_cap: bool = False
    timed_out: bool = False


async def _read_capped(stream: asyncio.StreamReader, sink: bytearray, cap: int, on_over: object) -> bool:
    """Read until EOF or until more than `cap` bytes came; True if the cap was exceeded."""
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return False
        room = cap - len(sink)
        sink += chunk[: max(room, 0)]
        if len(chunk) > room:
            on_over()  # type: ignore[operator]
            return True


async def _feed(stdin: asyncio.StreamWriter, data: bytes) -> None:
    try:
        stdin.write(data)
        await stdin.drain()
        stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child died or stopped reading; its exit status tells the story


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def sweep_uid(uid: int) -> int:
    """SIGKILL every process whose real uid is `uid` (a dropped child's uid is used by nothing else)."""
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:"):
                if int(line.split()[1]) == uid:
                    try:
                        os.kill(int(entry.name), signal.SIGKILL)
                        killed += 1
                    except ProcessLookupError:
                        pass
                break
    return killed


def _forks_were_blocked(capture: _Capture, isolation: Isolation) -> bool:
    """Whether the runner set RLIMIT_NPROC to 0 where the kernel enforces it (then no child exists)."""
    first_line = bytes(capture.stdout[:4096]).split(b"\n", 1)[0]
    return "nproc_enforced" in isolation.layers and b'"nproc_0"' in first_line


def _describe_exit(returncode: int | None, capture: _Capture, wall_s: float) -> str:
    if capture.timed_out:
        return f"killed: wall-clock limit of {wall_s:g}s"
    if capture.over_cap:
        return "killed: output cap exceeded"
    if returncode is None:
        return "unknown"
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit {returncode}"


def _parse(capture: _Capture, n: int) -> tuple[list[Outcome | None], dict, str | None, str | None]:
    """(outcome per response or None, ready line, define error, fatal error) from the JSON lines."""
    outcomes: list[Outcome | None] = [None] * n
    ready: dict = {}
    define_error = fatal = None
    for raw in bytes(capture.stdout).split(b"\n"):
        try:
            line = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            continue  # a partial last line of a killed child, or noise
        if not isinstance(line, dict):
            continue
        kind = line.get("kind")
        if kind == "ready" and not ready:
            ready = line
        elif kind == "define_error" and define_error is None:
            define_error = clean_text(str(line.get("message", ""))[:500])
        elif kind == "fatal" and fatal is None:
            fatal = clean_text(str(line.get("message", ""))[:500])
        elif kind == "result":
            index, status = line.get("i"), line.get("status")
            if type(index) is int and 0 <= index < n and status in _RUNNER_STATUSES and outcomes[index] is None:
                message = line.get("message")
                outcomes[index] = Outcome(status, clean_text(str(message)[:500]) if message else None)
    return outcomes, ready, define_error, fatal


def clean_text(text: str) -> str:
    """`text` with lone surrogates (a checker may echo the response it was given) escaped, so that a
    message always encodes as UTF-8 wherever it goes next (JSON bodies, logs, files)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _fill(
    partial: list[Outcome | None], capture: _Capture, exit_text: str, define_error: str | None, fatal: str | None,
    limits: Limits,
) -> list[Outcome]:
    """An outcome for every response: what the runner said, else why there is no verdict."""
    if define_error is not None:
        return [Outcome("error", f"the checker could not be defined: {define_error}")] * len(partial)
    if capture.timed_out:
        missing = Outcome("timeout", f"the batch hit its wall-clock limit ({exit_text}) before this response")
    elif capture.over_cap:
        missing = Outcome("error", f"the sandbox wrote more than {limits.output_bytes} bytes and was killed")
    else:
        tail = bytes(capture.stderr).decode(errors="replace").strip()[-300:]
        why = fatal or tail or "no result for this response"
        missing = Outcome("error", f"the sandbox process ended ({exit_text}): {why}")
    return [o if o is not None else missing for o in partial]


async def execute_batch(
    code: str,
    responses: list[str],
    *,
    limits: Limits | None = None,
    isolation: Isolation | None = None,
    _unsafe_skip_gate: bool = False,
    _unsafe_full_builtins: bool = False,
    _unsafe_allow_fork: bool = False,
) -> BatchResult:
    """Run `check` from `code` over `responses` in one sandbox process; one Outcome per response.

    The `_unsafe_*` switches exist for the security tests only, which prove each layer on its own:
    with the gate off, hostile code reaches the process layer; with full builtins too, it reaches
    the operating-system layers alone; allowing forks (RLIMIT_NPROC left at `limits.nproc`) proves
    that the process-group kill and the uid sweep clean up children, daemons included.
    """
    limits = limits or Limits()
    n = len(responses)
    if not _unsafe_skip_gate:
        verdict = inspect_source(code)
        if not verdict.ok:
            return rejected_batch(verdict.reason or "rejected", n)
    if n == 0:
        return BatchResult([], layers=("static_gate",) if not _unsafe_skip_gate else (), exit="not started")
    isolation = isolation or await current_isolation()
    uid = isolation.fresh_uid()
    workdir = make_workdir(uid)
    wall_s = limits.wall_s(n)
    capture = _Capture()
    started = time.perf_counter()
    proc = None
    try:
        proc = await asyncio.create_subprocess_exec(
            *isolation.command(),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=workdir, env={}, start_new_session=True, preexec_fn=make_preexec(limits, n),
            user=uid, group=uid, extra_groups=[] if uid is not None else None,
        )
        pgid = proc.pid

        def over_cap() -> None:
            capture.over_cap = True
            _kill_group(pgid)

        assert proc.stdin and proc.stdout and proc.stderr
        request = runner_request(code, responses, isolation, limits, restrict_builtins=not _unsafe_full_builtins,
                                 allow_fork=_unsafe_allow_fork, allowed_attributes=runtime_attribute_names(code))
        try:
            async with asyncio.timeout(wall_s):
                await asyncio.gather(
                    _feed(proc.stdin, request),
                    _read_capped(proc.stdout, capture.stdout, limits.output_bytes, over_cap),
                    _read_capped(proc.stderr, capture.stderr, _STDERR_CAP, over_cap),
                )
                await proc.wait()
        except TimeoutError:
            capture.timed_out = True
    except OSError as exc:
        return BatchResult([Outcome("error", f"the sandbox could not start: {exc}")] * n,
                           layers=isolation.layers, exit="not started")
    finally:
        if proc is not None:
            _kill_group(proc.pid)
            if uid is not None and not _forks_were_blocked(capture, isolation):
                sweep_uid(uid)  # a child that left the process group (setsid) still has the uid
            await proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    wall = time.perf_counter() - started
    partial, ready, define_error, fatal = _parse(capture, n)
    exit_text = _describe_exit(proc.returncode, capture, wall_s)
    applied = tuple(str(a) for a in ready.get("applied", []) if isinstance(a, str))
    layers = (() if _unsafe_skip_gate else ("static_gate",)) + isolation.layers
    layers += tuple(a for a in applied if a not in layers)
    problems = tuple(str(p)[:300] for p in ready.get("problems", []) if isinstance(p, str))
    outcomes = _fill(partial, capture, exit_text, define_error, fatal, limits)
    return BatchResult(outcomes, layers=layers, wall_s=wall, exit=exit_text, problems=problems)
