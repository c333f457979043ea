"""The child side of the sandbox: runs one untrusted checker over a batch of responses.

This file is never imported by the host. Its source is handed to a fresh interpreter started as
`python -I -S -c <this source>` (isolated mode, no site-packages, empty environment) inside the
process confinement built by `isolation.py`. It uses the standard library only and stays
compatible with the Python 3 that may run it (the host may pick another interpreter than its own).

Why a verdict cannot be forged (the design, and why this one)
--------------------------------------------------------------
The process the host starts is a *supervisor*: it never executes a line of the checker. For each
response it forks a fresh *check process* that defines the checker, calls `check` once, reports on
a pipe made for that response alone, and exits. Only the supervisor writes the protocol to the
host (stdout), and it decides each outcome from what it observes itself:

- before the checker runs, the check process points fds 0-2 at /dev/null and closes every other
  descriptor but its own report pipe, so no code in it, however it escapes the restricted builtins
  (frames, tracebacks, `gc`, closures, ctypes, ...), can write to the host's channel or to another
  response's pipe: the forgery of issue 12 (walk frames up to the runner's `os`, write a result
  line for another response to fd 1) writes into /dev/null;
- the deadline is the supervisor's clock, not a signal inside the check process: at the deadline
  the process is SIGKILLed and the outcome is `timeout`, whatever it would have returned
  (`finally: return True`, `finally: continue`, ignored or re-armed signals, threads all die);
- a verdict counts only if the process exited with status 0 before its deadline and its report is
  exactly what the trusted wrapper writes ("defined", then one JSON outcome); anything else (two
  reports, garbage, a flood, another exit code, a signal) is an `error`, never a verdict;
- state does not cross responses: every check process starts from the supervisor's clean image, so
  a checker cannot make one response's verdict depend on another response;
- the supervisor holds no capability and is not dumpable, so a check process (same uid) can neither
  ptrace it nor open its descriptors through /proc. It can kill it, which only turns the remaining
  responses into errors; check processes die with it (PR_SET_PDEATHSIG).

Designs weighed and not taken: a per-run nonce or HMAC key would live in the memory of the process
that runs the checker, and an escaped checker can read its own memory (gc, frames, ctypes); one
more pattern on a deny-list of frame attributes is one missed alias away from the same escape.
With one process per response and the channel out of reach, even a checker that escaped every
language-level restriction can at most choose its *own* response's verdict, which any checker can
do by returning True. It cannot touch another response's outcome, turn its own exception or
timeout into a verdict after the fact, or outlive its deadline. The static gate, the restricted
builtins and the attribute allow-list in `getattr` still stand in front (defense in depth).

Cost: one fork per response. The supervisor preloads the allowed modules, builds the import
proxies, compiles the code once and freezes its objects out of the garbage collector, so a check
process costs one fork plus the checker's own work: about 3.5 ms of CPU on the 2-core dev VM, where
a bare fork+exit of the supervisor alone costs about 1.3 ms (`benchmarks/bench_sandbox.py`).

Protocol: one JSON object on stdin

    {"code": str, "responses": [str, ...], "per_response_timeout_s": float,
     "allowed_imports": [...], "safe_builtins": [...], "allowed_attributes": [...],
     "restrict_builtins": bool, "filesystem": {"isolate": bool, "scratch": [...], "mask": [...]},
     "nproc": int, "helper_modules": [{"name": str, "source": str, "paths": [...]}, ...],
     "helper_names": [...]}

and JSON lines on stdout, written by the supervisor as they happen (so a batch killed at its
wall-clock limit keeps the verdicts it already reached):

    {"kind": "ready", "applied": [...], "problems": [...], "python": "3.11.2"}
    {"kind": "defined"}                        or  {"kind": "define_error", "message": ...}
    {"kind": "result", "i": 0, "status": "passed" | "failed" | "error" | "timeout", "message": ...}
    {"kind": "done"}

The per-response timeout covers defining the checker and calling it in the check process.

Setup order (supervisor): read the request; confine the filesystem (private mount namespace: every
mount read-only, fresh size-limited tmpfs scratch directories, masked home directories); drop
every capability and set no_new_privs; import the allowed modules; become non-dumpable; compile the
code. Each check process then dies with the supervisor, keeps only its report pipe, may not start
processes (RLIMIT_NPROC 0), and with restricted builtins and a restricted importer defines the
checker and calls `check(response)` once.
"""

import gc
import json
import os
import resource
import select
import signal
import sys
import time
import types

_MSG_LIMIT = 500
_OUT_FD = 1


def _emit(obj):
    data = (json.dumps(obj, ensure_ascii=True) + "\n").encode("ascii")
    while data:
        written = os.write(_OUT_FD, data)
        data = data[written:]


def _short(text):
    text = str(text)
    return text if len(text) <= _MSG_LIMIT else text[: _MSG_LIMIT - 3] + "..."


class _Sink:
    """Stands in for sys.stdout/sys.stderr: whatever the checker prints goes nowhere."""

    def write(self, text):
        return len(text)

    def flush(self):
        return None


# --------------------------------------------------------------------------------------------
# Filesystem and capability confinement (only inside a private user + mount namespace)
# --------------------------------------------------------------------------------------------

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME, _MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
_LOCKED_FLAGS = {
    "nosuid": _MS_NOSUID, "nodev": _MS_NODEV, "noexec": _MS_NOEXEC, "noatime": _MS_NOATIME,
    "nodiratime": _MS_NODIRATIME, "relatime": _MS_RELATIME, "strictatime": _MS_STRICTATIME,
}


def _libc():
    import ctypes

    return ctypes, ctypes.CDLL(None, use_errno=True)


def _mount(ctypes, libc, source, target, fstype, flags, data):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    if libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), target)


def _mount_points():
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            points.append((point, fields[5].split(",")))
    return sorted(points, key=lambda p: p[0].count("/") if p[0] != "/" else 0)


def _isolate_filesystem(config, applied, problems):
    """Every mount read-only, private scratch tmpfs, masked directories; then no capabilities."""
    ctypes, libc = _libc()
    _mount(ctypes, libc, None, "/", None, _MS_REC | _MS_PRIVATE, None)
    failed = []
    for point, options in _mount_points():
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
        for option in options:
            flags |= _LOCKED_FLAGS.get(option, 0)
        try:
            _mount(ctypes, libc, None, point, None, flags, None)
        except OSError:
            failed.append(point)
    if "/" in failed:
        problems.append("could not make / read-only")
    else:
        applied.append("fs_readonly")
    if failed:
        problems.append("mounts left writable: " + ", ".join(failed[:8]))
    scratch = [d for d in config.get("scratch", []) if os.path.isdir(d)]
    for directory in scratch:
        _mount(ctypes, libc, "tmpfs", directory, "tmpfs", _MS_NOSUID | _MS_NODEV,
               "size=%dk,mode=1777" % int(config.get("scratch_kb", 16384)))
    if scratch:
        os.chdir(scratch[0])
        applied.append("private_tmp")
    masked = []
    keep = set(config.get("keep_top_level", []))
    for path in (sys.prefix, sys.base_prefix, os.path.realpath(sys.executable)):
        keep.add(path.strip("/").split("/")[0])
    hidden = ["/" + name for name in sorted(os.listdir("/")) if name not in keep]
    for directory in hidden + list(config.get("mask", [])):
        if os.path.islink(directory):
            continue  # mounting on a symlink would cover its target instead
        if os.path.isdir(directory):
            try:
                _mount(ctypes, libc, "tmpfs", directory, "tmpfs",
                       _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "size=4k,mode=555")
                masked.append(directory)
            except OSError as exc:
                problems.append("could not mask %s: %s" % (directory, exc.strerror))
    for name in sorted(os.listdir("/")):
        path = "/" + name
        if name not in keep and os.path.isfile(path) and not os.path.islink(path):
            try:  # top-level files (/.dockerenv, ...): cover each with the empty /dev/null
                _mount(ctypes, libc, "/dev/null", path, None, _MS_BIND, None)
                masked.append(path)
            except OSError as exc:
                problems.append("could not mask %s: %s" % (path, exc.strerror))
    if masked:
        applied.append("masked_dirs")


def _drop_capabilities(ctypes, libc, applied, problems):
    """Empty the bounding, ambient, effective, permitted and inheritable sets; no new privileges."""
    pr_capbset_drop, pr_cap_ambient, pr_cap_ambient_clear_all, pr_set_no_new_privs = 24, 47, 4, 38
    for cap in range(64):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            break  # EINVAL past the last capability the kernel knows
    libc.prctl(pr_cap_ambient, pr_cap_ambient_clear_all, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        problems.append("capset failed: %s" % os.strerror(ctypes.get_errno()))
    check = (Data * 2)()
    libc.capget(ctypes.byref(Header(0x20080522, 0)), check)
    if all(d.effective == 0 and d.permitted == 0 for d in check):
        applied.append("no_capabilities")
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) == 0:
        applied.append("no_new_privs")


# --------------------------------------------------------------------------------------------
# Restricted builtins and importer
# --------------------------------------------------------------------------------------------


def _public_proxy(module, allowed, seen):
    """A stand-in module with the public names of `module`; submodules only if allowed."""
    if module.__name__ in seen:
        return seen[module.__name__]
    proxy = types.ModuleType(module.__name__)
    seen[module.__name__] = proxy
    for name, value in list(vars(module).items()):
        if name.startswith("_"):
            continue
        if isinstance(value, types.ModuleType):
            if value.__name__.startswith(module.__name__ + ".") and value.__name__.split(".")[0] in allowed:
                setattr(proxy, name, _public_proxy(value, allowed, seen))
            continue
        setattr(proxy, name, value)
    return proxy


def _restricted_builtins(allowed_imports, safe_names, allowed_attributes):
    """Builtins for the checker: the safe names, an importer limited to the allowed modules (which
    hands out proxies with their public names only), and `getattr`/`hasattr` that answer only the
    attribute allow-list the gate uses (so an alias such as `GA = getattr` gains nothing)."""
    import builtins

    real_import = builtins.__import__
    allowed = frozenset(allowed_imports)
    attributes = frozenset(allowed_attributes) if allowed_attributes is not None else None
    proxies = {}

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level != 0 or name.split(".")[0] not in allowed:
            raise ImportError("import of %r is not allowed in a checker" % name)
        if name not in sys.modules:  # preloaded modules skip the import machinery altogether
            real_import(name, None, None, fromlist, 0)
        if fromlist:
            return _public_proxy(sys.modules[name], allowed, proxies)
        return _public_proxy(sys.modules[name.split(".")[0]], allowed, proxies)

    # Build every proxy now, in the supervisor, so that check processes inherit them instead of
    # each building its own (a fork per response makes per-process setup the cost to cut).
    for name in sorted(allowed):
        if name in sys.modules:
            _public_proxy(sys.modules[name], allowed, proxies)

    def attribute_ok(name):
        if type(name) is not str or name.startswith("_"):
            return False
        return attributes is None or name in attributes

    def guarded_getattr(obj, name, *default):
        if not attribute_ok(name):
            raise AttributeError("getattr of %r is not allowed in a checker" % (name,))
        return getattr(obj, name, *default)

    def guarded_hasattr(obj, name):
        if not attribute_ok(name):
            raise AttributeError("hasattr of %r is not allowed in a checker" % (name,))
        return hasattr(obj, name)

    safe = {name: getattr(builtins, name) for name in safe_names if hasattr(builtins, name)}
    safe["__import__"] = guarded_import
    safe["getattr"] = guarded_getattr
    safe["hasattr"] = guarded_hasattr
    safe["__build_class__"] = builtins.__build_class__
    return safe


# --------------------------------------------------------------------------------------------
# One response, one check process (see the module docstring for why)
# --------------------------------------------------------------------------------------------

_REPORT_CAP = 16 * 1024
_DEFINED = b"defined\n"
_CHILD_STATUSES = ("passed", "failed", "error")
_PLAIN_REPORTS = {
    status: (json.dumps({"status": status, "message": None}) + "\n").encode("ascii") for status in ("passed", "failed")
}
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE = 1, 4


class _Checker:
    """What every check process inherits, prepared once by the supervisor before any fork."""

    def __init__(self, code, builtins_for_code, nproc, libc):
        self.code = code
        self.builtins = builtins_for_code
        self.nproc = nproc
        self.libc = libc
        self.devnull = os.open(os.devnull, os.O_RDWR)
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]  # RLIM_INFINITY reads as -1
        self.max_fd = hard if 0 < hard <= 65536 else 65536
        self.supervisor = os.getpid()


def _describe(exc):
    """'Type: message' of an exception raised by untrusted code, whose __str__ may itself raise."""
    try:
        return _short("%s: %s" % (type(exc).__name__, exc))
    except BaseException:
        return _short(type(exc).__name__)


def _judge(check, response):
    """(status, message) of one call; only the trusted wrapper's own code runs after `check` returns."""
    try:
        value = check(response)
    except RecursionError:
        return "error", "RecursionError: maximum recursion depth exceeded"
    except MemoryError:
        return "error", "MemoryError: the check ran out of memory"
    except Exception as exc:  # the checker's own failure is an error outcome, never a verdict
        return "error", _describe(exc)
    except BaseException as exc:  # SystemExit, KeyboardInterrupt raised by the checker itself
        return "error", _short("%s raised by the check" % type(exc).__name__)
    if type(value) is not bool:
        return "error", "check returned %s, not bool" % type(value).__name__
    return ("passed" if value else "failed"), None


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def _enter_check_process(checker, report_fd):
    """Cut the check process off from everything but its own report pipe."""
    if checker.libc is not None:
        checker.libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != checker.supervisor:
        os._exit(71)  # the supervisor died between fork and prctl
    for fd in (0, 1, 2):
        os.dup2(checker.devnull, fd)
    os.closerange(3, report_fd)
    os.closerange(report_fd + 1, checker.max_fd)
    resource.setrlimit(resource.RLIMIT_NPROC, (checker.nproc, checker.nproc))


def _check_process(checker, response, report_fd):
    """The body of a forked check process. Never returns: every path ends in os._exit."""
    status = 70
    try:
        _enter_check_process(checker, report_fd)
        namespace = {"__builtins__": checker.builtins, "__name__": "__sandbox__"}
        try:
            exec(checker.code, namespace)
            check = namespace.get("check")
            if not callable(check):
                raise NameError("the code does not define a function `check`")
        except BaseException as exc:  # a broken definition is reported, never raised
            report = {"define_error": _describe(exc)}
        else:
            _write_all(report_fd, _DEFINED)
            verdict, message = _judge(check, response)
            report = {"status": verdict, "message": message}
        # A verdict without a message (the common case) is a constant: no encoder runs for it.
        line = _PLAIN_REPORTS.get(report.get("status")) if report.get("message", 1) is None else None
        _write_all(report_fd, line or (json.dumps(report, ensure_ascii=True) + "\n").encode("ascii"))
        status = 0
    finally:
        os._exit(status)


def _pidfd(pid):
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None  # an old kernel or Python: fall back to polling waitpid


def _reaped(pid):
    """The wait status of `pid` if it has exited (and is now reaped), else None."""
    done, status = os.waitpid(pid, os.WNOHANG)
    return status if done == pid else None


def _watch(pid, read_fd, timeout_s):
    """Read the report of check process `pid` until it exits or its deadline passes; kill it then.

    Returns (report bytes, wait status or None if it missed its deadline, report over the cap).
    """
    deadline = time.monotonic() + timeout_s
    data = bytearray()
    status = None
    over_cap = False
    pidfd = _pidfd(pid)
    poller = select.poll()
    poller.register(read_fd, select.POLLIN)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    try:
        while status is None and not over_cap:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # Without a pidfd, exits are noticed by polling waitpid every few milliseconds.
            wait_ms = left * 1000 if pidfd is not None else min(left, 0.005) * 1000
            exited = pidfd is None
            for fd, _ in poller.poll(max(1, int(wait_ms + 0.999))):
                if fd == pidfd:
                    exited = True
                elif fd == read_fd:
                    chunk = os.read(read_fd, 65536)
                    if chunk:
                        data += chunk
                        over_cap = len(data) > _REPORT_CAP
                    else:
                        poller.unregister(read_fd)
            if exited:
                status = _reaped(pid)
        if status is not None:  # it exited in time: what it wrote before exiting is in the pipe
            os.set_blocking(read_fd, False)
            try:
                while len(data) <= _REPORT_CAP:
                    chunk = os.read(read_fd, 65536)
                    if not chunk:
                        break
                    data += chunk
            except BlockingIOError:
                pass  # a descendant (only when forks are allowed) still holds the pipe open
            over_cap = len(data) > _REPORT_CAP
    finally:
        if status is None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        if pidfd is not None:
            os.close(pidfd)
    return bytes(data), status, over_cap


def _exit_text(status):
    if os.WIFSIGNALED(status):
        try:
            return "signal %s" % signal.Signals(os.WTERMSIG(status)).name
        except ValueError:
            return "signal %d" % os.WTERMSIG(status)
    return "exit %d" % os.WEXITSTATUS(status)


def _read_report(data):
    """('defined'|'define_error'|'bad', report dict or None) from a check process's pipe."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    try:
        if len(lines) == 1 and not data.startswith(_DEFINED):
            report = json.loads(lines[0])
            if type(report) is dict and set(report) == {"define_error"} and type(report["define_error"]) is str:
                return "define_error", report
        elif len(lines) == 2 and lines[0] + b"\n" == _DEFINED:
            report = json.loads(lines[1])
            message = report.get("message") if type(report) is dict else None
            if (type(report) is dict and set(report) == {"status", "message"}
                    and report["status"] in _CHILD_STATUSES and (message is None or type(message) is str)):
                return "defined", report
    except ValueError:
        pass
    return "bad", None


def _run_one(checker, response, timeout_s):
    """(kind, status, message) for one response, kind being 'result' or 'define_error'."""
    try:
        read_fd, write_fd = os.pipe()
    except OSError as exc:
        return "result", "error", "the check process could not start: %s" % exc
    try:
        try:
            pid = os.fork()
        except OSError as exc:  # EAGAIN under RLIMIT_NPROC, ENOMEM: no verdict, and the batch goes on
            return "result", "error", "the check process could not start: %s" % exc
        if pid == 0:  # the check process: it must never return into the supervisor's code
            try:
                os.close(read_fd)
                _check_process(checker, response, write_fd)
            finally:
                os._exit(70)
        os.close(write_fd)
        write_fd = None
        data, status, over_cap = _watch(pid, read_fd, timeout_s)
    finally:
        os.close(read_fd)
        if write_fd is not None:
            os.close(write_fd)
    defined = data.startswith(_DEFINED)
    if over_cap:
        return "result", "error", "the check process flooded its report channel"
    if status is None:  # the deadline passed: a timeout, whatever the check was about to return
        if not defined:
            return "define_error", "error", "defining the checker took longer than %gs" % timeout_s
        return "result", "timeout", "the check took longer than %gs" % timeout_s
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        where = "the check" if defined else "defining the checker"
        return ("result" if defined else "define_error"), "error", "%s ended its process (%s)" % (where, _exit_text(status))
    kind, report = _read_report(data)
    if kind == "define_error":
        return "define_error", "error", report["define_error"]
    if kind == "bad":
        return "result", "error", "the check process wrote its own report (not the runner's): no verdict"
    return "result", report["status"], report["message"]


# --------------------------------------------------------------------------------------------
# The supervisor
# --------------------------------------------------------------------------------------------


def _load_helper(helper, problems):
    """Turn one vetted helper module's source (sent by the host) into an importable module.

    Trusted code, run with the real builtins before the supervisor confines itself, so a library it
    needs (the language detector) can still be read from `paths`, which are on sys.path for this
    import only. A failure is a problem on the protocol; a checker importing the helper then fails
    with ImportError, an `error` outcome (no verdict).
    """
    name = helper["name"]
    saved = list(sys.path)
    sys.path[:0] = list(helper.get("paths") or [])
    try:
        module = types.ModuleType(name)
        module.__file__ = "<%s>" % name
        exec(compile(helper["source"], module.__file__, "exec"), module.__dict__)
        sys.modules[name] = module
    except Exception as exc:
        problems.append("cannot load helper %s: %s" % (name, _short("%s: %s" % (type(exc).__name__, exc))))
    finally:
        sys.path[:] = saved


def main():
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    sys.stdout = sys.stderr = _Sink()
    applied, problems = [], []
    for helper in request.get("helper_modules") or []:
        _load_helper(helper, problems)
    helper_names = set(request.get("helper_names") or [])
    filesystem = request.get("filesystem") or {}
    if filesystem.get("isolate"):
        try:
            _isolate_filesystem(filesystem, applied, problems)
        except OSError as exc:
            problems.append("filesystem isolation failed: %s" % exc)
    libc = None
    try:
        ctypes, libc = _libc()
        _drop_capabilities(ctypes, libc, applied, problems)
    except (OSError, AttributeError, ImportError) as exc:
        problems.append("dropping capabilities failed: %s" % exc)
    # Everything a checker may import is loaded now, while the interpreter's files are visible.
    for name in list(request["allowed_imports"]) + ["collections.abc", "json.decoder", "encodings.ascii",
                                                     "encodings.latin_1", "encodings.utf_16", "encodings.utf_32",
                                                     "encodings.cp1252", "encodings.idna"]:
        if name in helper_names:
            continue  # loaded above when the program imports it, else not needed
        try:
            __import__(name)
        except ImportError as exc:
            problems.append("cannot preload %s: %s" % (name, exc))
    nproc = int(request.get("nproc", 0))
    applied.append("nproc_0" if nproc == 0 else "nproc_limited")  # set in every check process
    if libc is not None and libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0:
        applied.append("supervisor_not_dumpable")
    else:
        problems.append("the supervisor stays dumpable")
    if request.get("restrict_builtins", True):
        builtins_for_code = _restricted_builtins(request["allowed_imports"], request["safe_builtins"],
                                                 request.get("allowed_attributes"))
        applied.append("restricted_builtins")
        if request.get("allowed_attributes") is not None:
            applied.append("attribute_allow_list")
    else:
        import builtins

        builtins_for_code = builtins.__dict__
    applied.append("per_response_process")
    _emit({"kind": "ready", "applied": applied, "problems": problems, "python": sys.version.split()[0]})

    timeout_s = float(request["per_response_timeout_s"])
    try:
        code = compile(request["code"], "<checker>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        _emit({"kind": "define_error", "message": _short("%s: %s" % (type(exc).__name__, exc))})
        return
    checker = _Checker(code, builtins_for_code, nproc, libc)
    # Everything allocated so far is frozen out of the collector: a check process's collections then
    # never walk (and so never copy-on-write) the supervisor's objects.
    gc.collect()
    gc.freeze()
    for index, response in enumerate(request["responses"]):
        kind, status, message = _run_one(checker, response, timeout_s)
        if index == 0:
            if kind == "define_error":
                _emit({"kind": "define_error", "message": _short(message)})
                return
            _emit({"kind": "defined"})
        elif kind == "define_error":
            message = "the checker could not be defined for this response: %s" % message
        line = {"kind": "result", "i": index, "status": status}
        if message:
            line["message"] = _short(message)
        _emit(line)
    _emit({"kind": "done"})


if __name__ == "__main__":
    try:
        main()
    except BaseException as exc:  # a runner failure is reported on the protocol, then exit 1
        try:
            _emit({"kind": "fatal", "message": _short("%s: %s" % (type(exc).__name__, exc))})
        finally:
            os._exit(1)
    os._exit(0)
