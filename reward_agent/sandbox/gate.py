"""The static gate: reject untrusted checker code by reading its syntax tree, before anything runs.

`inspect_source(code)` parses the program and walks every node. It refuses:

- imports outside `policy.ALLOWED_IMPORTS` (and relative imports, and `from x import *`);
- names in `policy.FORBIDDEN_NAMES` (open, exec, eval, compile, __import__, globals, ...);
- any dunder identifier (`__builtins__`, `__class__`, `__subclasses__`, `__globals__`, ...) as a
  name, an attribute, a definition or an argument, except `__name__` read as a plain name;
- attributes that start with "_" or that lead to frames, code objects or attribute-by-string
  lookups (`gi_frame`, `f_globals`, `attrgetter`, `Formatter`, `format_map`, ...), or through which
  an allowed module reaches one that is not (`re.enum`, `json.codecs`, `.sys`, `.os`);
- `getattr`/`hasattr` with an attribute name that is not a plain, public string constant;
- string constants holding a format field that reaches for an attribute or index of an argument
  in a dunder way (`"{0.__class__}"`), which `str.format` would otherwise evaluate at run time;
- bare `except:` and handlers for `BaseException` (they would swallow the runner's time limit);
- code that does not define a top-level `check` function taking one argument.

The verdict is data (`GateVerdict`): ok, or the first reason with its line number. The gate is the
first layer only: the child runner enforces the same policy again, and the process around it is
confined by the operating system (see `isolation.py`).
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
import types
from dataclasses import dataclass

from .policy import (
    ALLOWED_DUNDER_NAMES,
    ALLOWED_IMPORTS,
    FORBIDDEN_ATTRIBUTES,
    FORBIDDEN_NAMES,
)

MAX_SOURCE_CHARS = 50_000
_DUNDER = re.compile(r"^__.*__$")
_FORMAT_FIELD_DUNDER = re.compile(r"\{[^{}]*__[^{}]*\}")


@dataclass(frozen=True)
class GateVerdict:
    """Whether the code may run; when not, why (with the line)."""

    ok: bool
    reason: str | None = None


class _Rejected(Exception):
    def __init__(self, node: ast.AST | None, reason: str) -> None:
        line = getattr(node, "lineno", None)
        super().__init__(f"line {line}: {reason}" if line else reason)


def _module_allowed(name: str) -> bool:
    return name.split(".")[0] in ALLOWED_IMPORTS


@functools.lru_cache(maxsize=1)
def escape_attribute_names() -> frozenset[str]:
    """Public attribute names through which an allowed module reaches a module that is not allowed
    (`re.enum`, `json.codecs`, ...), found by walking the allowed modules; plus the obvious ones."""
    names = {"sys", "os", "modules", "builtins", "importlib", "subprocess", "socket", "posix", "ctypes"}
    seen: set[str] = set()
    stack = [importlib.import_module(m) for m in ALLOWED_IMPORTS]
    while stack:
        module = stack.pop()
        if module.__name__ in seen:
            continue
        seen.add(module.__name__)
        for name, value in vars(module).items():
            if name.startswith("_") or not isinstance(value, types.ModuleType):
                continue
            if _module_allowed(value.__name__):
                stack.append(value)
            else:
                names.add(name)
    return frozenset(names)


def _check_identifier(node: ast.AST, name: str, what: str) -> None:
    if _DUNDER.match(name) and not (what == "name" and name in ALLOWED_DUNDER_NAMES):
        raise _Rejected(node, f"dunder {what} {name!r} is not allowed")
    if name in FORBIDDEN_NAMES:
        raise _Rejected(node, f"{what} {name!r} is not allowed")


class _Gate(ast.NodeVisitor):
    """Walks the tree; raises `_Rejected` at the first violation."""

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not _module_allowed(alias.name):
                raise _Rejected(node, f"import of {alias.name!r} is not allowed (allowed: {', '.join(ALLOWED_IMPORTS)})")
            if alias.asname:
                _check_identifier(node, alias.asname, "name")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            raise _Rejected(node, "relative imports are not allowed")
        module = node.module or ""
        if not _module_allowed(module):
            raise _Rejected(node, f"import from {module!r} is not allowed (allowed: {', '.join(ALLOWED_IMPORTS)})")
        for alias in node.names:
            if alias.name == "*":
                raise _Rejected(node, "`from ... import *` is not allowed")
            if alias.name.startswith("_") or alias.name in FORBIDDEN_ATTRIBUTES or alias.name in escape_attribute_names():
                raise _Rejected(node, f"importing {alias.name!r} from {module!r} is not allowed")
            _check_identifier(node, alias.asname or alias.name, "name")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        _check_identifier(node, node.id, "name")
        if node.id in ALLOWED_DUNDER_NAMES and not isinstance(node.ctx, ast.Load):
            raise _Rejected(node, f"assigning {node.id!r} is not allowed")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_"):
            raise _Rejected(node, f"access to the private or dunder attribute {node.attr!r} is not allowed")
        if node.attr in FORBIDDEN_ATTRIBUTES:
            raise _Rejected(node, f"access to the attribute {node.attr!r} is not allowed")
        if node.attr in escape_attribute_names():
            raise _Rejected(node, f"the attribute {node.attr!r} leads to a module checkers may not use")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr"):
            if len(node.args) < 2:
                raise _Rejected(node, f"{node.func.id}() needs an object and an attribute name")
            name = node.args[1]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                raise _Rejected(node, f"{node.func.id}() with a computed attribute name is not allowed")
            if name.value.startswith("_") or name.value in FORBIDDEN_ATTRIBUTES:
                raise _Rejected(node, f"{node.func.id}() of {name.value!r} is not allowed")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and _FORMAT_FIELD_DUNDER.search(node.value):
            raise _Rejected(node, "a format field reaching for a dunder attribute is not allowed")
        self.generic_visit(node)

    def _check_definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            _check_identifier(node, node.name, "definition")
        args = node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                _check_identifier(node, arg.arg, "argument")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._check_definition(node)
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        raise _Rejected(node, "async functions are not allowed")

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._check_definition(node)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        _check_identifier(node, node.name, "definition")
        for keyword in node.keywords:
            raise _Rejected(node, f"class keyword {keyword.arg!r} (metaclasses and the like) is not allowed")
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg is not None:
            _check_identifier(node, node.arg, "keyword")
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None:
            raise _Rejected(node, "a bare `except:` is not allowed; catch Exception or narrower")
        if isinstance(node.type, ast.Name) and node.type.id == "BaseException":
            raise _Rejected(node, "catching BaseException is not allowed; catch Exception or narrower")
        if node.name:
            _check_identifier(node, node.name, "name")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            _check_identifier(node, name, "name")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        for name in node.names:
            _check_identifier(node, name, "name")

    def visit_Await(self, node: ast.Await) -> None:
        raise _Rejected(node, "await is not allowed")

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            _check_identifier(node, node.name, "name")
        self.generic_visit(node)

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        for attr in node.kwd_attrs:
            if attr.startswith("_") or attr in FORBIDDEN_ATTRIBUTES:
                raise _Rejected(node, f"matching on the attribute {attr!r} is not allowed")
        self.generic_visit(node)


def _defines_check(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "check":
            positional = [*node.args.posonlyargs, *node.args.args]
            required = len(positional) - len(node.args.defaults)
            return required <= 1 and (len(positional) >= 1 or node.args.vararg is not None)
    return False


def inspect_source(code: str, *, require_check: bool = True) -> GateVerdict:
    """Parse and inspect `code`; `ok` only when it stays inside the policy.

    With `require_check`, the program must also define a top-level `check(response)`.
    """
    if not isinstance(code, str) or not code.strip():
        return GateVerdict(False, "the code is empty")
    if len(code) > MAX_SOURCE_CHARS:
        return GateVerdict(False, f"the code is longer than {MAX_SOURCE_CHARS} characters")
    try:
        tree = ast.parse(code, mode="exec")
    except SyntaxError as exc:
        return GateVerdict(False, f"SyntaxError: {exc.msg} (line {exc.lineno})")
    except (ValueError, RecursionError, MemoryError) as exc:
        return GateVerdict(False, f"the code cannot be parsed: {type(exc).__name__}")
    try:
        _Gate().visit(tree)
    except _Rejected as exc:
        return GateVerdict(False, str(exc))
    except RecursionError:
        return GateVerdict(False, "the code is nested too deeply to inspect")
    if require_check and not _defines_check(tree):
        return GateVerdict(False, "the code does not define a top-level function `check(response)`")
    return GateVerdict(True)
