"""Host-side witnesses for the security tests: a canary, a listening port, and process checks.

`host` gives each test the response string its hostile program gets ("CANARY_DIR|HOME|PORT") and,
after the program ran, `host.assert_untouched()` checks that the canary file is unchanged, nothing
named RA_PWNED appeared anywhere a program could reach, nobody connected to the port, and no
sandbox process is left alive.
"""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reward_agent.sandbox.isolation import UID_BASE, UID_SPAN, Limits, detect_isolation

REPO = Path(__file__).resolve().parents[2]
MARK = "RA_PWNED"
RUNNER_MARK = b"The child side of the sandbox"
CANARY_TEXT = "CANARY secret text\n"
# Short limits keep the suite fast: loops die after 1 s per response, stuck batches after 3 s more.
FAST = Limits(per_response_timeout_s=1.0, startup_s=3.0, memory_mb=256)


class _Listener:
    """A TCP server on loopback that counts connections (there must be none)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def _processes() -> dict[int, tuple[int, int, bytes]]:
    """pid -> (parent pid, real uid, command line) of every live (non-zombie) process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith("Z"):
            continue
        table[int(entry.name)] = (int(fields["PPid"]), int(fields["Uid"].split()[0]), cmdline)
    return table


def _leftover_processes() -> list[str]:
    """Live sandbox processes (a sandbox uid, the runner, or a hostile marker) that are ours: our
    descendants, or orphans that escaped to init. Another test session's sandboxes are not ours."""
    table = _processes()
    me = os.getpid()

    def ours(pid: int) -> bool:
        if table[pid][0] in (0, 1) or table[pid][0] not in table:
            return True  # orphaned: whoever started it is gone, so it outlived its run
        seen = set()
        while pid in table and pid not in seen:
            seen.add(pid)
            if table[pid][0] == me:
                return True
            pid = table[pid][0]
        return False

    found = []
    for pid, (_, uid, cmdline) in table.items():
        if pid == me:
            continue
        sandboxy = UID_BASE <= uid < UID_BASE + UID_SPAN or RUNNER_MARK in cmdline or MARK.encode() in cmdline
        if sandboxy and ours(pid):
            found.append(f"pid {pid} uid {uid}: {cmdline[:80]!r}")
    return found


@dataclass
class Host:
    """What a hostile program might damage, and the check that it did not."""

    canary_dir: Path
    listener: _Listener

    @property
    def canary(self) -> Path:
        return self.canary_dir / "canary.txt"

    @property
    def response(self) -> str:
        return f"{self.canary_dir}|{Path.home()}|{self.listener.port}"

    def marked_files(self) -> list[str]:
        places = [self.canary_dir, Path.home(), Path(tempfile.gettempdir()), Path("/tmp"), Path("/dev/shm"),
                  REPO, Path.cwd()]
        return sorted({str(p / name) for p in places if p.is_dir() for name in os.listdir(p) if MARK in name})

    def assert_untouched(self) -> None:
        assert self.canary.read_text() == CANARY_TEXT, "the canary file was changed"
        assert stat.S_IMODE(self.canary.stat().st_mode) == 0o666, "the canary's mode was changed"
        assert sorted(os.listdir(self.canary_dir)) == ["canary.txt"], "files appeared next to the canary"
        assert self.marked_files() == [], "a hostile program created files on the host"
        assert self.listener.accepted == 0, "a hostile program reached a host port"
        deadline = time.monotonic() + 3
        while (left := _leftover_processes()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert left == [], f"sandbox processes outlived their run: {left}"


@pytest.fixture(scope="session")
def isolation():
    return detect_isolation()


@pytest.fixture(scope="session")
def listener() -> Iterator[_Listener]:
    server = _Listener()
    yield server
    server.close()


@pytest.fixture
def host(listener: _Listener) -> Iterator[Host]:
    # World-writable on purpose: a dropped uid alone would not protect it, the filesystem layer must.
    directory = Path(tempfile.mkdtemp(prefix="ra-canary-", dir="/tmp"))
    directory.chmod(0o777)
    canary = directory / "canary.txt"
    canary.write_text(CANARY_TEXT)
    canary.chmod(0o666)
    listener.accepted = 0
    try:
        yield Host(directory, listener)
    finally:
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()


def run(coro):
    """Run a coroutine from a synchronous test."""
    return asyncio.run(coro)
