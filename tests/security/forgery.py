"""Hostile checkers that try to forge a verdict: to make the record of some response differ from
what `check` on that response honestly came to.

Each program gets the responses in `responses`; `honest[i]` is the set of statuses response i may
honestly end with. A forgery succeeds when a response that raised, looped or was never judged is
recorded `passed`. The attacks come from issue 12 (a `getattr` alias walking generator frames up to
the runner's globals and writing a result line for another response; `finally: return True` after
the timer; `finally: continue`) and from new ideas: traceback, coroutine and `sys._getframe` frame
walks, `gc.get_objects`, closures' cells, `type.__subclasses__` through an alias, format strings,
pickles, direct writes to fds 1/2 and to every descriptor (the report channel), signal handlers
disarming timers, a thread racing the deadline, killing the supervisor, reading its descriptors
through /proc, a bare exit, state carried across responses, and huge ints and strings.

The payload most programs deliver once they reach `os` (or its `write`): a well-formed result line
for response 1 on every descriptor the host might read, and a well-formed report on every other
descriptor (the per-response report pipe is one of them).

`needs_gate=True` marks a checker that takes over its *own* process's reporting from module
level (a traceback walk to the runner's globals, which attribute syntax reaches without `getattr`):
with the gate off it decides its own verdicts, like the one above. Its twin that does the same
during response "a" to decide response "b" is stopped by the process layer alone.

`process_layer=None` marks the one attack that only the language layers can stop: with real
builtins a check process may write a well-formed report of its own and exit at once. That is the
checker choosing its *own* response's verdict, which any checker can do by returning True; it
cannot reach another response's (see the runner's docstring).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass

ERROR = frozenset({"error"})
TIMEOUT = frozenset({"timeout"})
NOT_PASSED = frozenset({"failed", "error", "timeout"})
FAILED_OR_ERROR = frozenset({"failed", "error"})
PASSED = frozenset({"passed"})


def exact(*statuses: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset({s}) for s in statuses)

FORGED_LINE = b'{"kind": "result", "i": 1, "status": "passed"}\n'

# Defines spray(write): the forged host line on fds 0-2, a forged report on every other fd.
SPRAY = '''
def spray(write):
    line = b'{"kind": "result", "i": 1, "status": "passed"}\\n'
    report = b'defined\\n{"status": "passed", "message": null}\\n'
    for fd in range(64):
        try:
            write(fd, line if fd < 3 else report)
        except Exception:
            pass
'''

# Walks frames from `f` to the first module globals holding the runner's `_emit`; forges with them.
WALK = '''
def forge_from(f):
    while f is not None:
        g = f.f_globals
        if '_emit' in g and 'os' in g:
            spray(g['os'].write)
            g['_emit']({'kind': 'result', 'i': 1, 'status': 'passed'})
            return True
        f = f.f_back
    return False
'''


@dataclass(frozen=True)
class Forgery:
    """`process_layer[i]`: the statuses response i may end with when the checker has real builtins
    and no gate (the per-response process layer alone); None where that layer cannot decide (see
    above). `honest[i]`: what it may end with when the language layers are on as well (they stop
    many programs earlier, at definition, which is an error); by default `process_layer[i]` or an
    error, and never more than that."""

    name: str
    code: str
    responses: tuple[str, ...]
    process_layer: tuple[frozenset[str], ...] | None
    honest_override: tuple[frozenset[str], ...] | None = None
    needs_gate: bool = False  # only the gate stops it: the runtime cannot refuse `e.__traceback__` syntax

    @property
    def honest(self) -> tuple[frozenset[str], ...]:
        if self.honest_override is not None:
            return self.honest_override
        assert self.process_layer is not None
        return tuple(s if s == PASSED else s | ERROR for s in self.process_layer)


class _PickledWrite:
    def __reduce__(self):
        return (os.write, (1, FORGED_LINE))


PICKLED_WRITE = pickle.dumps(_PickledWrite(), protocol=2)

FORGERIES: list[Forgery] = [
    Forgery("issue12_getattr_alias_generator_frames", '''
GA = getattr
def gen():
    f = GA(holder[0], 'gi_frame')
    while f is not None:
        if '_emit' in GA(f, 'f_globals'):
            yield GA(f, 'f_globals'); return
        f = GA(f, 'f_back')
holder = []
def check(response):
    if response == "b":
        raise ValueError("should be an error outcome")
    holder.append(gen())
    next(holder[-1])['os'].write(1, b'{"kind": "result", "i": 1, "status": "passed"}\\n')
    return False
''', ("a", "b"), exact("failed", "error")),
    Forgery("timeout_then_finally_return_true", '''
def check(response):
    try:
        while True:
            pass
    finally:
        return True
''', ("a", "b"), exact("timeout", "timeout"), exact("timeout", "timeout")),
    Forgery("finally_continue_outlives_the_limit", '''
def check(response):
    for _ in range(1000):
        try:
            while True:
                pass
        finally:
            continue
    return True
''', ("a", "b"), exact("timeout", "timeout"), exact("timeout", "timeout")),
    Forgery("swallow_every_exception_then_pass", '''
def check(response):
    while True:
        try:
            while True:
                pass
        except BaseException:
            return True
''', ("a",), exact("timeout",), exact("timeout",)),
    Forgery("traceback_frame_walk", SPRAY + WALK + '''
def check(response):
    if response == 'b':
        raise ValueError('honest error')
    try:
        1 / 0
    except ZeroDivisionError as e:
        forge_from(e.__traceback__.tb_frame)
    return False
''', ("a", "b"), exact("error", "error")),
    Forgery("generator_frame_walk", SPRAY + WALK + '''
def check(response):
    if response == 'b':
        raise ValueError('honest error')
    def gen():
        yield forge_from(holder[0].gi_frame)  # a running generator's frame has the caller as f_back
    holder = [gen()]
    next(holder[0])
    return False
''', ("a", "b"), exact("error", "error")),
    Forgery("coroutine_frame_walk", SPRAY + WALK + '''
async def co():
    try:
        1 / 0
    except ZeroDivisionError as e:  # the running coroutine's frame has the caller as f_back
        return forge_from(e.__traceback__.tb_frame)
def check(response):
    if response == 'b':
        raise ValueError('honest error')
    c = co()
    assert c.cr_frame is not None
    try:
        c.send(None)
    except StopIteration:
        pass
    return False
''', ("a", "b"), exact("error", "error")),
    Forgery("sys_getframe_through_an_alias", SPRAY + WALK + '''
import sys
frame_of = sys._getframe
def check(response):
    if response == 'b':
        raise ValueError('honest error')
    forge_from(frame_of(0))
    return False
''', ("a", "b"), exact("error", "error")),
    Forgery("gc_get_objects_finds_the_runner", SPRAY + '''
import gc
def check(response):
    if response == 'b':
        raise ValueError('honest error')
    gc.unfreeze()  # the supervisor froze its objects out of the collector's lists; bring them back
    for obj in gc.get_objects():
        if isinstance(obj, dict) and '_emit' in obj and 'os' in obj:
            spray(obj['os'].write)
            obj['_emit']({'kind': 'result', 'i': 1, 'status': 'passed'})
    return False
''', ("a", "b"), exact("error", "error")),
    Forgery("subclasses_through_a_getattr_alias", SPRAY + '''
GA = getattr
def check(response):
    if response == 'b':
        raise ValueError('honest error')
    base = GA(GA((), '__class__'), '__base__')
    for cls in GA(base, '__subclasses__')():
        if GA(cls, '__name__') == '_wrap_close':
            spray(GA(GA(cls, '__init__'), '__globals__')['write'])
    return False
''', ("a", "b"), exact("error", "error")),
    Forgery("closure_cells_of_the_restricted_importer", SPRAY + '''
def check(response):
    if response == 'b':
        raise ValueError('honest error')
    guarded = check.__globals__['__builtins__']['__import__']
    for cell in guarded.__closure__ or ():
        value = cell.cell_contents
        if callable(value) and value.__name__ == '__import__':
            spray(value('os').write)
    return False
''', ("a", "b"), exact("error", "error")),
    Forgery("format_string_attribute_walk", '''
def check(response):
    def gen():
        yield '{0.gi_frame.f_back.f_globals}'.format(holder[0])
    holder = [gen()]
    leaked = next(holder[0])
    if response == 'b':
        raise ValueError('honest error after reading ' + str(len(leaked)))
    return False
''', ("a", "b"), exact("failed", "error")),
    Forgery("write_fds_through_an_os_alias", SPRAY + '''
import os as o
w = o.write
def check(response):
    if response == 'b':
        raise ValueError('honest error')
    spray(w)
    return False
''', ("a", "b"), exact("error", "error")),
    Forgery("pickle_writes_a_result_line", f'''
import pickle
def check(response):
    if response == 'b':
        raise ValueError('honest error')
    pickle.loads({PICKLED_WRITE!r})
    return False
''', ("a", "b"), exact("failed", "error")),
    Forgery("signal_handlers_disarm_the_timer", '''
import signal
def check(response):
    for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGXCPU, signal.SIGVTALRM):
        signal.signal(s, signal.SIG_IGN)
    signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        while True:
            pass
    finally:
        return True
''', ("a",), exact("timeout",)),
    Forgery("thread_races_the_deadline", SPRAY + '''
import os, threading, time
def late():
    time.sleep(0.3)
    spray(os.write)
def check(response):
    threading.Thread(target=late, daemon=True).start()
    while True:
        pass
''', ("a", "b"), exact("error", "error")),  # RLIMIT_NPROC 0: no thread starts (see test_verdicts)
    Forgery("report_channel_then_raise", SPRAY + '''
import os
def check(response):
    if response == 'b':
        spray(os.write)
        raise ValueError('honest error after forging a report')
    return False
''', ("a", "b"), exact("failed", "error")),
    Forgery("bare_exit_without_a_verdict", '''
import os
def check(response):
    os._exit(0)
''', ("a",), exact("error",)),
    Forgery("forged_report_and_exit", SPRAY + '''
import os
def check(response):
    spray(os.write)
    os._exit(0)
''', ("a",), None, (ERROR,)),
    Forgery("kill_the_supervisor", SPRAY + '''
import os, signal
def check(response):
    spray(os.write)
    os.kill(os.getppid(), signal.SIGKILL)
    return True
''', ("a", "b"), exact("error", "error")),
    Forgery("supervisor_fds_through_proc", '''
import os
def check(response):
    if response == 'b':
        raise ValueError('honest error')
    fd = os.open('/proc/%d/fd/1' % os.getppid(), os.O_WRONLY)
    os.write(fd, b'{"kind": "result", "i": 1, "status": "passed"}\\n')
    return False
''', ("a", "b"), exact("error", "error")),
    Forgery("huge_int_and_string", '''
def check(response):
    if response == 'int':
        return len(str(10 ** (10 ** 8))) > 0
    if response == 'str':
        return len('x' * (10 ** 11)) > 0
    return len([0] * 10 ** 10) > 0  # MemoryError under RLIMIT_AS
''', ("int", "str", "list"), (frozenset({"error", "timeout"}), ERROR, ERROR)),
    Forgery("state_carried_across_responses", '''
seen = []
def check(response):
    seen.append(response)
    return len(seen) == 1
''', ("a", "b", "c"), exact("passed", "passed", "passed")),
    Forgery("patch_the_reporter_for_the_next_response", """
def take_over():
    try:
        1 / 0
    except ZeroDivisionError as e:
        f = e.__traceback__.tb_frame
    while f is not None:
        if '_judge' in f.f_globals:
            f.f_globals['_judge'] = lambda check, response: ('passed', None)
            return True
        f = f.f_back
    return False
def check(response):
    if response == 'b':
        raise ValueError('honest error')
    take_over()  # too late for this response; a reused process would report 'b' passed
    return False
""", ("a", "b"), exact("failed", "error")),
    Forgery("patch_the_reporter_from_module_level", """
def take_over():
    try:
        1 / 0
    except ZeroDivisionError as e:
        f = e.__traceback__.tb_frame
    while f is not None:
        if '_judge' in f.f_globals:
            f.f_globals['_judge'] = lambda check, response: ('passed', None)
            return True
        f = f.f_back
    return False
take_over()
def check(response):
    raise ValueError('honest error')
""", ("a",), None, (ERROR,), needs_gate=True),
]
