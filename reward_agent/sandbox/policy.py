"""What untrusted checker code may use: one source of truth for the gate and the child runner.

The static gate (`gate.py`) reads these lists to reject programs before they run; the host sends
the same lists to the child runner (`runner.py`), which enforces them again at run time with
restricted builtins, a restricted `__import__` and a `getattr` that only answers allowed names
(defense in depth: either layer alone stops the programs in `tests/security/`).

Attribute names are an allow-list: a checker may use the public attributes of the types and
modules it can reach legitimately (`gate.known_attribute_names()`, found by walking them) and the
attributes its own code defines. `DENIED_ATTRIBUTES` and `DENIED_ATTRIBUTE_PREFIXES` are a floor
under that list: names that lead to frames, code objects, tracebacks or globals are refused even
if a program defines them itself (`self.f_back = ...` does not make `frame.f_back` legal).

`ALLOWED_IMPORTS` is the one list of importable modules: adding a vetted helper module for checkers
is one line here (the gate, the runner and the cache key all follow it).
"""

from __future__ import annotations

# Modules a checker may import (and their submodules, e.g. `collections.abc`).
ALLOWED_IMPORTS: tuple[str, ...] = (
    "re",
    "string",
    "math",
    "collections",
    "itertools",
    "json",
    "unicodedata",
    "functools",
    "operator",
    "checklib",  # our vetted text helpers (sandbox/checklib.py, delivered by sandbox/helpers.py)
)

# Builtins a checker gets. Everything else (open, exec, eval, compile, __import__, globals, locals,
# vars, dir, type, object, super, getattr/setattr/delattr, input, breakpoint, memoryview, help, ...)
# is absent; `getattr`/`hasattr` are replaced by versions that answer only the attribute allow-list.
SAFE_BUILTINS: tuple[str, ...] = (
    "abs", "all", "any", "ascii", "bin", "bool", "bytes", "callable", "chr", "dict", "divmod",
    "enumerate", "filter", "float", "format", "frozenset", "hash", "hex", "id", "int", "isinstance",
    "iter", "len", "list", "map", "max", "min", "next", "oct", "ord", "pow", "print", "range", "repr",
    "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
    "staticmethod", "classmethod", "property",
    "True", "False", "None", "NotImplemented", "Ellipsis",
    "ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError", "KeyError",
    "LookupError", "NameError", "NotImplementedError", "OSError", "OverflowError", "RecursionError",
    "RuntimeError", "StopIteration", "TypeError", "UnicodeDecodeError", "UnicodeEncodeError",
    "UnicodeError", "ValueError", "ZeroDivisionError",
)

# Names a checker may not mention at all (call, read or rebind).
FORBIDDEN_NAMES: frozenset[str] = frozenset(
    {
        "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "dir",
        "setattr", "delattr", "input", "breakpoint", "help", "memoryview", "type", "object",
        "super", "exit", "quit", "copyright", "credits", "license", "BaseException",
        "GeneratorExit", "KeyboardInterrupt", "SystemExit",
    }
)

# Attributes that lead from an ordinary object to frames, code, globals or the import machinery, or
# that look attributes up by a string at run time. Refused whatever the allow-list says.
DENIED_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended",
        "cr_frame", "cr_code", "cr_await", "cr_origin", "cr_running",
        "ag_frame", "ag_code", "ag_await", "ag_running",
        "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "f_trace", "f_lasti",
        "tb_frame", "tb_next", "tb_lasti", "func_globals", "func_code", "mro",
        "format_map", "get_field", "Formatter", "attrgetter", "methodcaller", "vformat",
        "cell_contents", "update_wrapper", "wraps", "WRAPPER_ASSIGNMENTS", "WRAPPER_UPDATES",
        "register", "dispatch", "registry",
    }
)
# Prefixes of frame (f_), traceback (tb_), generator (gi_), coroutine (cr_), async generator (ag_),
# code (co_) and old-style function (func_, im_) attributes, and of every private or dunder name.
DENIED_ATTRIBUTE_PREFIXES: tuple[str, ...] = ("_", "f_", "tb_", "gi_", "cr_", "ag_", "co_", "func_", "im_")
# Kept for readers of the previous name.
FORBIDDEN_ATTRIBUTES = DENIED_ATTRIBUTES

# Instance attributes set in __init__ (so not visible on the class) of objects a checker meets:
# json.JSONDecodeError and re.error.
EXTRA_ATTRIBUTES: frozenset[str] = frozenset({"msg", "doc", "pos", "lineno", "colno", "pattern"})

# Builtins that may only be called directly with a constant attribute name: never aliased
# (`GA = getattr`), passed along (`map(getattr, ...)`) or called with a computed name.
DIRECT_CALL_ONLY: frozenset[str] = frozenset({"getattr", "hasattr"})


def attribute_denied(name: str) -> bool:
    """Whether `name` is refused whatever the program defines (the floor under the allow-list)."""
    return name in DENIED_ATTRIBUTES or name.startswith(DENIED_ATTRIBUTE_PREFIXES)


# Dunder names a checker may read: `if __name__ == "__main__":` blocks are common in model code
# (the runner sets __name__ to "__sandbox__", so such a block never runs).
ALLOWED_DUNDER_NAMES: frozenset[str] = frozenset({"__name__"})

# Bump when any list above changes: generated code is cached per policy version.
POLICY_VERSION = "sandbox-policy.v3"
