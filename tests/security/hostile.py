"""Hostile checker programs. Each `check(response)` returns True only if its attack succeeded.

The response a program gets is "CANARY_DIR|HOME|PORT": a world-writable directory outside the
sandbox holding `canary.txt`, the host's home directory, and a TCP port the test listens on.
Whatever a program tries to create is named with `RA_PWNED`, so the tests can look for it.

`gate` says whether the static gate must reject the program (pure-Python resource attacks such as
an infinite loop cannot be seen statically). `os_layer` marks programs whose harm the operating-
system layers must stop on their own (run with the gate off and full builtins).
"""

from __future__ import annotations

from dataclasses import dataclass

_ARGS = "    d, home, port = r.split('|')\n"


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    gate: bool = True
    os_layer: bool = True
    # False only where the gate is the one barrier and what gets through is harmless: a format
    # field can read reprs of objects, never call them.
    without_gate: bool = True


def _prog(body: str, head: str = "") -> str:
    return f"{head}def check(r):\n{_ARGS}{body}"


def _to_system(start: str, tag: str) -> str:
    """Body that walks from `start` (an expression for `object`) to os.system and touches a file."""
    return (
        f"    for c in {start}.__subclasses__():\n        if c.__name__ == '_wrap_close':\n"
        f"            return c.__init__.__globals__['system']('touch ' + d + '/RA_PWNED_{tag}') == 0\n    return False\n"
    )


HOSTILE: list[Hostile] = [
    # --- reading what is not the sandbox's -------------------------------------------------------
    Hostile("read_etc_passwd", _prog("    return 'root:' in open('/etc/passwd').read()\n")),
    Hostile("read_canary_file", _prog("    return 'CANARY' in open(d + '/canary.txt').read()\n")),
    Hostile("read_with_os_open", _prog("    fd = os.open('/etc/hostname', os.O_RDONLY)\n    return len(os.read(fd, 64)) > 0\n", "import os\n")),
    Hostile("list_home", _prog("    return len(os.listdir(home)) > 0\n", "import os\n")),
    Hostile("read_proc_environ", _prog("    return len(open('/proc/1/environ', 'rb').read()) > 0\n")),
    Hostile("read_own_environment", _prog("    # LC_CTYPE is the interpreter's own locale coercion (PEP 538), not the host's\n"
                                          "    return sorted(os.environ) not in ([], ['LC_CTYPE'])\n", "import os\n")),
    Hostile("symlink_out_of_workdir", _prog("    os.symlink(d + '/canary.txt', 'RA_PWNED_link')\n    return 'CANARY' in open('RA_PWNED_link').read()\n", "import os\n")),
    # --- writing and deleting ---------------------------------------------------------------------
    Hostile("write_canary_dir", _prog("    open(d + '/RA_PWNED_write', 'w').write('x')\n    return True\n")),
    Hostile("write_home", _prog("    open(home + '/RA_PWNED_home', 'w').write('x')\n    return True\n")),
    Hostile("overwrite_canary", _prog("    open(d + '/canary.txt', 'w').write('gone')\n    return True\n")),
    Hostile("delete_canary", _prog("    os.remove(d + '/canary.txt')\n    return True\n", "import os\n")),
    Hostile("chmod_canary", _prog("    os.chmod(d + '/canary.txt', 0o777)\n    return True\n", "import os\n")),
    Hostile("write_dev_shm", _prog("    open('/dev/shm/RA_PWNED_shm', 'w').write('x')\n    return os.path.exists('/dev/shm/RA_PWNED_shm') and len(os.listdir('/dev/shm')) > 1\n", "import os\n")),
    Hostile("write_tmp_and_find_host_files", _prog("    open('/tmp/RA_PWNED_tmp', 'w').write('x')\n    return os.path.exists(d + '/canary.txt')\n", "import os\n")),
    # --- network -----------------------------------------------------------------------------------
    Hostile("tcp_connect_host", _prog("    socket.create_connection(('127.0.0.1', int(port)), timeout=1).sendall(b'RA_PWNED')\n    return True\n", "import socket\n")),
    Hostile("udp_to_internet", _prog("    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    s.sendto(b'RA_PWNED', ('8.8.8.8', 53))\n    return True\n", "import socket\n")),
    # --- processes -----------------------------------------------------------------------------------
    Hostile("subprocess_run", _prog("    subprocess.run(['touch', d + '/RA_PWNED_sub'], check=True)\n    return True\n", "import subprocess\n")),
    Hostile("os_system", _prog("    return os.system('touch ' + d + '/RA_PWNED_sys') == 0\n", "import os\n")),
    Hostile("fork_bomb", _prog("    while True:\n        os.fork()\n", "import os\n")),
    Hostile("thread_bomb", _prog("    while True:\n        threading.Thread(target=lambda: time.sleep(60)).start()\n", "import threading, time\n")),
    Hostile("daemon_outlives_timeout", _prog(
        "    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            time.sleep(3)\n"
        "            open(d + '/RA_PWNED_daemon', 'w').write('x')\n        os._exit(0)\n    return True\n",
        "import os, time\n")),
    Hostile("exec_long_sleeper", _prog("    os.execv('/bin/sh', ['sh', '-c', 'sleep 30 # RA_PWNED'])\n", "import os\n")),
    Hostile("kill_everything", _prog("    os.kill(-1, 9)\n    return False  # the harm would be a dead host, checked outside\n", "import os\n")),
    Hostile("kill_parent", _prog("    os.kill(os.getppid(), 9)\n    return True\n", "import os\n")),
    # --- resources -----------------------------------------------------------------------------------
    Hostile("memory_bomb", _prog("    blocks = []\n    while True:\n        blocks.append('x' * 10**8)\n"), gate=False),
    Hostile("infinite_loop", _prog("    while True:\n        pass\n"), gate=False),
    Hostile("recursion_bomb", _prog("    return check(r)\n"), gate=False),
    Hostile("huge_output_print", _prog("    while True:\n        print('RA_PWNED' * 100000)\n"), gate=False),
    Hostile("huge_output_fd", _prog("    while True:\n        os.write(1, b'x' * 65536)\n", "import os\n")),
    Hostile("swallow_the_timer", _prog("    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass\n")),
    Hostile("raise_limits", _prog("    resource.setrlimit(resource.RLIMIT_NPROC, (10000, 10000))\n    return True\n", "import resource\n")),
    # --- native code and signals ---------------------------------------------------------------------
    Hostile("ctypes_system", _prog("    return ctypes.CDLL(None).system(('touch ' + d + '/RA_PWNED_ctypes').encode()) == 0\n", "import ctypes\n")),
    Hostile("ctypes_umount_mask", _prog("    libc = ctypes.CDLL(None)\n    libc.umount2(b'/etc', 2)\n    return 'root:' in open('/etc/passwd').read()\n", "import ctypes\n")),
    Hostile("nested_namespace_umount", _prog(
        "    libc = ctypes.CDLL(None)\n    libc.unshare(0x10000000 | 0x00020000)\n    libc.umount2(b'/etc', 2)\n"
        "    return 'root:' in open('/etc/passwd').read()\n", "import ctypes\n")),
    Hostile("signal_ignore_then_loop", _prog(
        "    for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGXCPU, signal.SIGINT):\n        signal.signal(s, signal.SIG_IGN)\n"
        "    while True:\n        pass\n", "import signal\n")),
    # --- escapes from restricted builtins ------------------------------------------------------------
    Hostile("builtins_dict_open", _prog("    return 'CANARY' in __builtins__['open'](d + '/canary.txt').read()\n"), os_layer=False),
    Hostile("subclasses_walk_to_os", _prog(_to_system("().__class__.__base__", "sc")), os_layer=False),
    Hostile("function_globals", _prog("    return check.__globals__['__builtins__']['open'](d + '/canary.txt').read() != ''\n"), os_layer=False),
    Hostile("frame_walk_to_runner", _prog(
        "    def gen():\n        yield g.gi_frame.f_back.f_back\n    g = gen()\n    frame = next(g)\n"
        "    while frame is not None:\n        osmod = frame.f_globals.get('os')\n        if osmod is not None:\n"
        "            for target in (d, home):\n                try:\n"
        "                    osmod.close(osmod.open(target + '/RA_PWNED_frame', osmod.O_CREAT | osmod.O_WRONLY))\n"
        "                    return True\n                except OSError:\n                    pass\n"
        "            return False\n        frame = frame.f_back\n"
        "    return False\n"), os_layer=False),
    Hostile("importlib_os", _prog("    return importlib.import_module('os').system('touch ' + d + '/RA_PWNED_il') == 0\n", "import importlib\n")),
    Hostile("dunder_import", _prog("    return __import__('os').system('touch ' + d + '/RA_PWNED_di') == 0\n"), os_layer=False),
    Hostile("eval_exec_compile", _prog("    exec(compile(\"open(d + '/RA_PWNED_eval', 'w')\", 'x', 'exec'))\n    return eval('1') == 1\n"), os_layer=False),
    Hostile("pickle_reduce", _prog("    return pickle.loads(b\"cos\\nsystem\\n(S'touch /tmp/RA_PWNED_pickle'\\ntR.\") == 0\n", "import pickle\n")),
    Hostile("getattr_dunder", _prog(_to_system("getattr(getattr((), '__class__'), '__base__')", "ga")), os_layer=False),
    Hostile("module_private_to_sys", _prog("    return collections._sys.modules['os'].system('touch ' + d + '/RA_PWNED_priv') == 0\n", "import collections\n"), os_layer=False),
    Hostile("module_public_chain_to_sys", _prog("    return re.enum.sys.modules['os'].system('touch ' + d + '/RA_PWNED_chain') == 0\n", "import re\n"), os_layer=False),
    Hostile("string_formatter_get_field", _prog(_to_system("string.Formatter().get_field('0.__class__.__base__', [()], {})[0]", "fmt"), "import string\n"), os_layer=False),
    Hostile("operator_attrgetter", _prog(_to_system("operator.attrgetter('__class__.__base__')(())", "op"), "import operator\n"), os_layer=False),
    Hostile("format_string_leak", _prog("    return 'subclasses' in '{0.__class__.__base__.__subclasses__}'.format(())\n"), os_layer=False,
            without_gate=False),
    Hostile("sys_modules", _prog("    return sys.modules['os'].system('touch ' + d + '/RA_PWNED_sys_mod') == 0\n", "import sys\n")),
    Hostile("type_builds_class", _prog(_to_system("type('T', (object,), {}).__mro__[-1]", "type")), os_layer=False),
]
