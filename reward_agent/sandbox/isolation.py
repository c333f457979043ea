"""How the sandbox process is confined, and which layers this machine actually allows.

Always applied (every machine):

- `isolated_interpreter`: `python -I -S` (no PYTHON* variables, no user site, no site-packages);
- `empty_env`: the child gets an empty environment;
- `private_workdir`: a fresh temporary working directory, removed afterwards;
- `rlimits`: RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_NPROC and RLIMIT_CORE, set in
  the child before exec;
- `process_group_kill`: the child leads a new session; on the wall-clock limit (and after every
  run) the whole process group is killed;
- `output_cap`: the host reads at most a fixed number of bytes of output.

Applied where the machine allows it (probed once per process by really starting a sandbox):

- `uid_drop`: when the host runs as root, the child runs as a fresh, otherwise unused uid, so it
  can neither write the host's files nor signal its processes; leftovers of that uid are swept;
- `user_namespace` + `net_namespace`: `unshare -r -n`, so the child has no network at all;
- `ipc_namespace`: `unshare -i`, so System V shared memory, semaphores and message queues (and
  POSIX message queues) created inside live in a namespace that dies with the run, and the
  host's are out of reach;
- `mount_namespace`: `unshare -m`, inside which the runner makes every mount read-only, mounts
  fresh size-limited tmpfs over /tmp and /dev/shm, hides every top-level directory but the
  interpreter's (/etc, /home, /root, /var, the repository, ...) and /proc and /sys under empty
  read-only tmpfs, and then drops every capability (`fs_readonly`, `private_tmp`, `masked_dirs`,
  `no_capabilities`);
- `nproc_enforced`: RLIMIT_NPROC only binds non-root users or processes in a user namespace.

`detect_isolation()` returns the strongest configuration that works, and records the layers in
`Isolation.layers`; every `BatchResult` repeats them.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .gate import runtime_attribute_names
from .helpers import HELPER_MODULES, requests_for
from .policy import ALLOWED_IMPORTS, SAFE_BUILTINS

RUNNER_PATH = Path(__file__).with_name("runner.py")
# Fresh uids for dropped children come from this range (far above real users and subuid ranges).
UID_BASE = 1_850_000_000
UID_SPAN = 100_000_000
# Top-level directories a confined child still sees (read-only): what an interpreter needs. Every
# other one (/etc, /home, /root, /work, /opt, /var, ...) is covered by an empty read-only tmpfs, as
# are /proc, /sys and the host's home; the interpreter's own prefix is always kept.
KEEP_TOP_LEVEL = ("usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin", "dev", "tmp")
BASE_LAYERS = (
    "isolated_interpreter", "empty_env", "private_workdir", "rlimits", "process_group_kill", "output_cap",
)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox run. Wall clock = startup_s + per_response_timeout_s * items.

    `per_response_timeout_s` is the deadline of one response's check process: defining the checker
    and calling `check` once. The supervisor kills the process at the deadline (a timeout)."""

    per_response_timeout_s: float = 2.0
    startup_s: float = 10.0
    max_wall_s: float = 120.0
    memory_mb: int = 512
    file_size_kb: int = 1024
    open_files: int = 64
    nproc: int = 64  # the supervisor's (it forks check processes); every check process gets 0
    output_bytes: int = 4 * 1024 * 1024
    scratch_kb: int = 16 * 1024

    def wall_s(self, items: int) -> float:
        return min(self.max_wall_s, self.startup_s + self.per_response_timeout_s * max(1, items))

    def cpu_s(self, items: int) -> int:
        return int(self.wall_s(items)) + 1


@dataclass(frozen=True)
class Isolation:
    """A launch configuration: the command prefix, the interpreter, and the layers it gives."""

    interpreter: str
    unshare: tuple[str, ...] = ()
    drop_uid: bool = False
    isolate_fs: bool = False
    layers: tuple[str, ...] = BASE_LAYERS  # host-side layers; each run adds what its runner applied
    runner_layers: tuple[str, ...] = ()  # what the runner applied in the startup probe
    notes: tuple[str, ...] = field(default=())

    def command(self) -> list[str]:
        """argv of the child: [unshare ... --] python -I -S -c <runner source>."""
        runner = runner_source()
        prefix = [*self.unshare, "--"] if self.unshare else []
        return [*prefix, self.interpreter, "-I", "-S", "-c", runner]

    def fresh_uid(self) -> int | None:
        return UID_BASE + secrets.randbelow(UID_SPAN) if self.drop_uid else None


@functools.lru_cache(maxsize=1)
def runner_source() -> str:
    return RUNNER_PATH.read_text(encoding="utf-8")


def make_preexec(limits: Limits, items: int) -> Callable[[], None]:
    """The function run in the child between fork and exec: resource limits only (no imports)."""
    cpu = limits.cpu_s(items)
    settings = (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (limits.memory_mb * 1024 * 1024,) * 2),
        (resource.RLIMIT_FSIZE, (limits.file_size_kb * 1024,) * 2),
        (resource.RLIMIT_NOFILE, (limits.open_files,) * 2),
        (resource.RLIMIT_NPROC, (limits.nproc,) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
    )
    setrlimit = resource.setrlimit

    def preexec() -> None:
        for which, value in settings:
            setrlimit(which, value)

    return preexec


def sandbox_root() -> Path:
    """Parent of every sandbox working directory (traversable, not listable, by other uids)."""
    root = Path(tempfile.gettempdir()) / "reward-agent-sandbox"
    root.mkdir(mode=0o711, exist_ok=True)
    return root


def make_workdir(uid: int | None) -> Path:
    """A fresh private working directory, owned by the child's uid when it is dropped."""
    path = Path(tempfile.mkdtemp(prefix="run-", dir=sandbox_root()))
    if uid is not None:
        os.chown(path, uid, uid)
    path.chmod(0o700)
    return path


def filesystem_request(isolation: Isolation, limits: Limits) -> dict[str, object]:
    """What the runner is asked to do to its filesystem view."""
    if not isolation.isolate_fs:
        return {"isolate": False}
    scratch = [d for d in ("/tmp", "/dev/shm") if os.path.isdir(d)]
    mask = sorted({str(Path.home()), "/proc", "/sys"} - set(scratch))
    return {"isolate": True, "scratch": scratch, "mask": mask, "keep_top_level": list(KEEP_TOP_LEVEL),
            "scratch_kb": limits.scratch_kb}


def runner_request(
    code: str,
    responses: list[str],
    isolation: Isolation,
    limits: Limits,
    *,
    restrict_builtins: bool = True,
    allow_fork: bool = False,
    allowed_attributes: list[str] | None = None,
) -> bytes:
    """The JSON the runner reads on stdin.

    ASCII-escaped, so that any Python string travels, lone surrogates ("\\ud800") included: the
    runner's JSON reader gives the checker back exactly the string the caller passed.
    """
    return json.dumps(
        {
            "code": code,
            "responses": responses,
            "per_response_timeout_s": limits.per_response_timeout_s,
            "allowed_imports": list(ALLOWED_IMPORTS),
            "safe_builtins": list(SAFE_BUILTINS),
            "allowed_attributes": allowed_attributes,
            "restrict_builtins": restrict_builtins,
            "filesystem": filesystem_request(isolation, limits),
            "nproc": limits.nproc if allow_fork else 0,
            "helper_modules": requests_for(code),
            "helper_names": list(HELPER_MODULES),
        },
        ensure_ascii=True,
    ).encode("ascii")


# ------------------------------------------------------------------------------------------------
# Probing what this machine allows
# ------------------------------------------------------------------------------------------------


def _interpreters() -> list[str]:
    """Candidate interpreters, the host's own first (the runner needs only the standard library)."""
    found: list[str] = []
    for candidate in (sys.executable, getattr(sys, "_base_executable", None), shutil.which("python3"),
                      "/usr/bin/python3", "/usr/local/bin/python3"):
        if candidate and os.path.isfile(candidate) and candidate not in found:
            found.append(candidate)
    return found


_PROBE_CODE = "def check(response):\n    return response == 'ok'\n"


def _probe(isolation: Isolation) -> tuple[bool, list[str], str]:
    """Start the runner once under `isolation` on a trivial checker; (works?, applied, problem)."""
    limits = Limits(per_response_timeout_s=5.0, startup_s=20.0)
    uid = isolation.fresh_uid()
    workdir = make_workdir(uid)
    try:
        proc = subprocess.run(
            isolation.command(),
            input=runner_request(_PROBE_CODE, ["ok", "no"], isolation, limits,
                                 allowed_attributes=runtime_attribute_names(_PROBE_CODE)),
            capture_output=True, cwd=workdir, env={}, start_new_session=True,
            preexec_fn=make_preexec(limits, 2), timeout=limits.wall_s(2),
            user=uid, group=uid, extra_groups=[] if uid is not None else None,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return False, [], f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines = [json.loads(line) for line in proc.stdout.decode(errors="replace").splitlines() if line.startswith("{")]
    ready = next((line for line in lines if line.get("kind") == "ready"), None)
    verdicts = [line.get("status") for line in lines if line.get("kind") == "result"]
    if ready is None or verdicts != ["passed", "failed"]:
        return False, [], (proc.stderr.decode(errors="replace").strip()[-300:] or f"exit code {proc.returncode}")
    return True, list(ready.get("applied", [])), "; ".join(ready.get("problems", []))


def _candidates() -> list[Isolation]:
    """Configurations from strongest to weakest."""
    unshare = shutil.which("unshare")
    root = os.geteuid() == 0
    out: list[Isolation] = []
    for interpreter in _interpreters():
        for drop in ([True, False] if root else [False]):
            if unshare:
                for ipc in (("-i",), ()):  # with an IPC namespace first, without where it fails
                    out.append(Isolation(interpreter, (unshare, "-r", "-n", "-m", *ipc), drop, True))
                    out.append(Isolation(interpreter, (unshare, "-r", "-n", *ipc), drop, False))
            out.append(Isolation(interpreter, (), drop, False))
    # Prefer a dropped uid with any interpreter over the host's own interpreter without it.
    return sorted(out, key=lambda i: (not i.drop_uid, not i.isolate_fs, not i.unshare, "-i" not in i.unshare))


def _layers(isolation: Isolation) -> tuple[str, ...]:
    layers = list(BASE_LAYERS)
    if isolation.drop_uid:
        layers.append("uid_drop")
    if isolation.unshare:
        layers += ["user_namespace", "net_namespace"]
        if isolation.isolate_fs:
            layers.append("mount_namespace")
        if "-i" in isolation.unshare:
            layers.append("ipc_namespace")
    if os.geteuid() != 0 or isolation.drop_uid or isolation.unshare:
        layers.append("nproc_enforced")
    return tuple(layers)


@functools.lru_cache(maxsize=1)
def detect_isolation() -> Isolation:
    """The strongest configuration this machine runs, probed once per process."""
    notes: list[str] = []
    for candidate in _candidates():
        works, applied, problem = _probe(candidate)
        if works:
            if problem:
                notes.append(problem)
            return replace(candidate, layers=_layers(candidate), runner_layers=tuple(applied), notes=tuple(notes))
        notes.append(f"{describe(candidate)}: {problem}")
    raise RuntimeError("no sandbox configuration works on this machine: " + " | ".join(notes))


def describe(isolation: Isolation) -> str:
    parts = [Path(isolation.interpreter).name]
    if isolation.drop_uid:
        parts.append("uid drop")
    if isolation.unshare:
        parts.append(" ".join(isolation.unshare[1:]))
    return ", ".join(parts)
