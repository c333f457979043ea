"""What untrusted checker code may use: one source of truth for the gate and the child runner.

The static gate (`gate.py`) reads these lists to reject programs before they run; the host sends
the same lists to the child runner (`runner.py`), which enforces them again at run time with
restricted builtins and a restricted `__import__` (defense in depth: either layer alone stops the
programs in `tests/security/`).
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
)

# Builtins a checker gets. Everything else (open, exec, eval, compile, __import__, globals, locals,
# vars, dir, type, object, super, getattr/setattr/delattr, input, breakpoint, memoryview, help, ...)
# is absent; `getattr`/`hasattr` are replaced by versions that refuse names starting with "_".
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

# Attributes that lead from an ordinary object to frames, code, globals or the import machinery.
# Any attribute starting with "_" is refused as well.
FORBIDDEN_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended",
        "cr_frame", "cr_code", "cr_await", "cr_origin", "cr_running",
        "ag_frame", "ag_code", "ag_await", "ag_running",
        "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "f_trace", "f_lasti",
        "tb_frame", "tb_next", "tb_lasti", "func_globals", "func_code", "mro",
        "format_map", "get_field", "Formatter", "attrgetter", "methodcaller",
    }
)

# Dunder names a checker may read: `if __name__ == "__main__":` blocks are common in model code
# (the runner sets __name__ to "__sandbox__", so such a block never runs).
ALLOWED_DUNDER_NAMES: frozenset[str] = frozenset({"__name__"})

# Bump when any list above changes: generated code is cached per policy version.
POLICY_VERSION = "sandbox-policy.v1"
