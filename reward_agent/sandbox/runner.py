"""The child side of the sandbox: runs one untrusted checker over a batch of responses.

This file is never imported by the host. Its source is handed to a fresh interpreter started as
`python -I -S -c <this source>` (isolated mode, no site-packages, empty environment) inside the
process confinement built by `isolation.py`. It uses the standard library only and stays
compatible with the Python 3 that may run it (the host may pick another interpreter than its own).

Protocol: one JSON object on stdin

    {"code": str, "responses": [str, ...], "per_response_timeout_s": float,
     "allowed_imports": [...], "safe_builtins": [...], "restrict_builtins": bool,
     "filesystem": {"isolate": bool, "scratch": [...], "mask": [...]}, "nproc": int}

and JSON lines on stdout, written as they happen (so a batch killed at its wall-clock limit keeps
the verdicts it already reached):

    {"kind": "ready", "applied": [...], "problems": [...], "python": "3.11.2"}
    {"kind": "defined"}                        or  {"kind": "define_error", "message": ...}
    {"kind": "result", "i": 0, "status": "passed" | "failed" | "error" | "timeout", "message": ...}
    {"kind": "done"}

Setup order: read the request; confine the filesystem (private mount namespace: every mount
read-only, fresh size-limited tmpfs scratch directories, masked home directories) and drop every
capability; import the allowed modules; forbid new processes (RLIMIT_NPROC 0); then, with
restricted builtins and a restricted importer, define and call `check` once per response under a
per-response timer. The untrusted code runs in its own globals; it never sees this module's names
except by escaping the restricted builtins, which the static gate and the operating-system layers
are there for.
"""

import json
import os
import resource
import signal
import sys
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
    _drop_capabilities(ctypes, libc, applied, problems)


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


def _no_new_privs(applied):
    ctypes, libc = _libc()
    if libc.prctl(38, 1, 0, 0, 0) == 0:
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


def _restricted_builtins(allowed_imports, safe_names):
    import builtins

    real_import = builtins.__import__
    allowed = frozenset(allowed_imports)
    proxies = {}

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level != 0 or name.split(".")[0] not in allowed:
            raise ImportError("import of %r is not allowed in a checker" % name)
        module = real_import(name, None, None, fromlist, 0)
        if fromlist:
            return _public_proxy(sys.modules[name], allowed, proxies)
        return _public_proxy(sys.modules[name.split(".")[0]], allowed, proxies)

    def guarded_getattr(obj, name, *default):
        if not isinstance(name, str) or name.startswith("_"):
            raise AttributeError("getattr of private or dunder names is not allowed in a checker")
        return getattr(obj, name, *default)

    def guarded_hasattr(obj, name):
        if not isinstance(name, str) or name.startswith("_"):
            raise AttributeError("hasattr of private or dunder names is not allowed in a checker")
        return hasattr(obj, name)

    safe = {name: getattr(builtins, name) for name in safe_names if hasattr(builtins, name)}
    safe["__import__"] = guarded_import
    safe["getattr"] = guarded_getattr
    safe["hasattr"] = guarded_hasattr
    safe["__build_class__"] = builtins.__build_class__
    return safe


# --------------------------------------------------------------------------------------------
# Running the checker
# --------------------------------------------------------------------------------------------


class _CheckTimeout(BaseException):
    """Raised by the per-response timer. BaseException, so `except Exception` cannot swallow it."""


def _on_alarm(signum, frame):
    raise _CheckTimeout()


def _call(fn, arg, timeout_s):
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return fn(arg)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _verdict(check, response, timeout_s):
    try:
        value = _call(check, response, timeout_s)
    except _CheckTimeout:
        return "timeout", "the check took longer than %gs" % timeout_s
    except RecursionError:
        return "error", "RecursionError: maximum recursion depth exceeded"
    except MemoryError:
        return "error", "MemoryError: the check ran out of memory"
    except Exception as exc:  # the checker's own failure is an error outcome, never a verdict
        return "error", _short("%s: %s" % (type(exc).__name__, exc))
    except BaseException as exc:  # SystemExit, KeyboardInterrupt raised by the checker itself
        return "error", _short("%s raised by the check" % type(exc).__name__)
    if type(value) is not bool:
        return "error", "check returned %s, not bool" % type(value).__name__
    return ("passed" if value else "failed"), None


def main():
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    sys.stdout = sys.stderr = _Sink()
    applied, problems = [], []
    filesystem = request.get("filesystem") or {}
    if filesystem.get("isolate"):
        try:
            _isolate_filesystem(filesystem, applied, problems)
        except OSError as exc:
            problems.append("filesystem isolation failed: %s" % exc)
    else:
        try:
            _no_new_privs(applied)
        except (OSError, AttributeError) as exc:
            problems.append("no_new_privs failed: %s" % exc)
    # Everything a checker may import is loaded now, while the interpreter's files are visible.
    for name in list(request["allowed_imports"]) + ["collections.abc", "json.decoder", "encodings.ascii",
                                                     "encodings.latin_1", "encodings.utf_16", "encodings.utf_32",
                                                     "encodings.cp1252", "encodings.idna"]:
        try:
            __import__(name)
        except ImportError as exc:
            problems.append("cannot preload %s: %s" % (name, exc))
    try:
        nproc = int(request.get("nproc", 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        applied.append("nproc_0" if nproc == 0 else "nproc_limited")
    except (ValueError, OSError) as exc:
        problems.append("RLIMIT_NPROC: %s" % exc)
    signal.signal(signal.SIGALRM, _on_alarm)
    if request.get("restrict_builtins", True):
        builtins_for_code = _restricted_builtins(request["allowed_imports"], request["safe_builtins"])
        applied.append("restricted_builtins")
    else:
        import builtins

        builtins_for_code = builtins.__dict__
    _emit({"kind": "ready", "applied": applied, "problems": problems, "python": sys.version.split()[0]})

    timeout_s = float(request["per_response_timeout_s"])
    namespace = {"__builtins__": builtins_for_code, "__name__": "__sandbox__"}
    try:
        code = compile(request["code"], "<checker>", "exec")
        _call(lambda ns: exec(code, ns), namespace, timeout_s)
        check = namespace.get("check")
        if not callable(check):
            raise NameError("the code does not define a function `check`")
    except _CheckTimeout:
        _emit({"kind": "define_error", "message": "defining the checker took longer than %gs" % timeout_s})
        return
    except BaseException as exc:  # a broken definition is reported, never raised past the protocol
        _emit({"kind": "define_error", "message": _short("%s: %s" % (type(exc).__name__, exc))})
        return
    _emit({"kind": "defined"})
    for index, response in enumerate(request["responses"]):
        status, message = _verdict(check, response, timeout_s)
        line = {"kind": "result", "i": index, "status": status}
        if message:
            line["message"] = message
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
