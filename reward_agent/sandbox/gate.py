"""The static gate: reject untrusted checker code by reading its syntax tree, before anything runs.

`inspect_source(code)` parses the program and walks every node. It refuses:

- imports outside `policy.ALLOWED_IMPORTS` (and relative imports, and `from x import *`);
- names in `policy.FORBIDDEN_NAMES` (open, exec, eval, compile, __import__, globals, vars, type, ...);
- any dunder identifier (`__builtins__`, `__class__`, `__subclasses__`, `__globals__`, ...) as a
  name, an attribute, a definition or an argument, except `__name__` read as a plain name;
- every attribute outside the allow-list (`allowed_attribute(name, program_names)`): the public
  attributes of the types and modules a checker can reach legitimately, found by walking them
  (`known_attribute_names()`), plus the attributes the program itself defines; under that list a
  floor of names refused whatever the program defines (`policy.attribute_denied`: frames,
  tracebacks, generators, coroutines, code objects, string-keyed lookups), and the names through
  which an allowed module reaches one that is not (`re.enum`, `json.codecs`, `.sys`, `.os`);
- `getattr`/`hasattr` anywhere but as the callee of a direct call with a constant, allowed
  attribute name: no aliases (`GA = getattr`), no passing them along, no computed names;
- string constants holding a format field whose attribute chain reaches a denied name
  (`"{0.gi_frame}"`, `"{0.__class__}"`), which `str.format` would otherwise evaluate at run time;
- bare `except:` and handlers for `BaseException`;
- code that does not define a top-level `check` function taking one argument.

The verdict is data (`GateVerdict`): ok, or the first reason with its line number. The gate is the
first layer only: the child runner enforces the same attribute allow-list again in `getattr`, runs
every response in its own process that cannot reach the verdict channel (see `runner.py`), and
the process around it is confined by the operating system (see `isolation.py`).
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
import types
from dataclasses import dataclass

from .helpers import host_module
from .policy import (
    ALLOWED_DUNDER_NAMES,
    ALLOWED_IMPORTS,
    DIRECT_CALL_ONLY,
    EXTRA_ATTRIBUTES,
    FORBIDDEN_NAMES,
    SAFE_BUILTINS,
    attribute_denied,
)

MAX_SOURCE_CHARS = 50_000
_DUNDER = re.compile(r"^__.*__$")
# A replacement field of a format string: "{" name ( "." attr | "[" key "]" )* [!conv] [:spec] "}".
_FORMAT_FIELD = re.compile(r"\{([^{}!:]*)(?:![^{}:]*)?(?::[^{}]*)?\}")
_FORMAT_ATTRIBUTE = re.compile(r"\.([^.\[\]]*)")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
    stack = [host_module(m) for m in ALLOWED_IMPORTS]
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


@functools.lru_cache(maxsize=1)
def known_attribute_names() -> frozenset[str]:
    """Public attribute names of everything a checker reaches legitimately: the allowed modules and
    the classes in them, the safe builtins and their types, the objects builtins return (dict views,
    generators' send/throw/close) and `policy.EXTRA_ATTRIBUTES`; minus the denied floor and the
    names that lead to modules checkers may not use."""
    import builtins

    owners: list[object] = [str, bytes, bytearray, list, dict, set, frozenset, tuple, int, float, bool,
                            complex, range, slice, property, staticmethod, classmethod,
                            type({}.keys()), type({}.values()), type({}.items()), types.GeneratorType]
    owners += [getattr(builtins, name) for name in SAFE_BUILTINS if isinstance(getattr(builtins, name, None), type)]
    seen: set[str] = set()
    stack = [host_module(m) for m in ALLOWED_IMPORTS]
    while stack:
        module = stack.pop()
        if module.__name__ in seen:
            continue
        seen.add(module.__name__)
        owners.append(module)
        for name, value in vars(module).items():
            if name.startswith("_"):
                continue
            if isinstance(value, types.ModuleType):
                if _module_allowed(value.__name__):
                    stack.append(value)
            elif isinstance(value, type):
                owners.append(value)
    names = set(EXTRA_ATTRIBUTES)
    for owner in owners:
        names.update(n for n in dir(owner) if not n.startswith("_"))
    return frozenset(n for n in names if not attribute_denied(n)) - escape_attribute_names()


def program_attribute_names(tree: ast.AST) -> frozenset[str]:
    """Attribute names the program defines itself: assigned attributes (`self.total = 0`), names
    bound in class bodies (methods, class attributes), and identifiers spelled in string constants
    (namedtuple fields). Denied names stay denied (`allowed_attribute` checks the floor first)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(item.name)
                targets = item.targets if isinstance(item, ast.Assign) else [getattr(item, "target", None)]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 1000:
            names.update(_IDENTIFIER.findall(node.value))
    return frozenset(names)


def program_attribute_names_of(code: str) -> frozenset[str]:
    """`program_attribute_names` of source text; empty when it does not parse."""
    try:
        return program_attribute_names(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()


def allowed_attribute(name: str, program_names: frozenset[str] = frozenset()) -> bool:
    """The attribute allow-list: known or defined by the program, and never on the denied floor."""
    if attribute_denied(name) or name in escape_attribute_names():
        return False
    return name in known_attribute_names() or name in program_names


def runtime_attribute_names(code: str) -> list[str]:
    """The names the child runner's `getattr`/`hasattr` answer for this program (same list as the gate)."""
    program = program_attribute_names_of(code)
    return sorted(n for n in known_attribute_names() | program if allowed_attribute(n, program))


def _check_identifier(node: ast.AST, name: str, what: str) -> None:
    if _DUNDER.match(name) and not (what == "name" and name in ALLOWED_DUNDER_NAMES):
        raise _Rejected(node, f"dunder {what} {name!r} is not allowed")
    if name in FORBIDDEN_NAMES:
        raise _Rejected(node, f"{what} {name!r} is not allowed")


class _Gate(ast.NodeVisitor):
    """Walks the tree; raises `_Rejected` at the first violation."""

    def __init__(self, program_names: frozenset[str]) -> None:
        self.program_names = program_names

    def _check_attribute(self, node: ast.AST, name: str, what: str = "the attribute") -> None:
        if name.startswith("_"):
            raise _Rejected(node, f"access to the private or dunder attribute {name!r} is not allowed")
        if name in escape_attribute_names():
            raise _Rejected(node, f"{what} {name!r} leads to a module checkers may not use")
        if not allowed_attribute(name, self.program_names):
            raise _Rejected(node, f"access to {what} {name!r} is not allowed (not on the attribute allow-list)")

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
            if not allowed_attribute(alias.name):
                raise _Rejected(node, f"importing {alias.name!r} from {module!r} is not allowed")
            _check_identifier(node, alias.asname or alias.name, "name")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in DIRECT_CALL_ONLY:  # reached only when not the callee of a checked direct call
            raise _Rejected(node, f"{node.id} may only be called directly with a constant name, not aliased or passed")
        _check_identifier(node, node.id, "name")
        if node.id in ALLOWED_DUNDER_NAMES and not isinstance(node.ctx, ast.Load):
            raise _Rejected(node, f"assigning {node.id!r} is not allowed")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.generic_visit(node)  # the object first: `open(r).read` is refused for `open`
        self._check_attribute(node, node.attr)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in DIRECT_CALL_ONLY:
            if len(node.args) < 2 or node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise _Rejected(node, f"{node.func.id}() needs an object and a constant attribute name")
            name = node.args[1]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                raise _Rejected(node, f"{node.func.id}() with a computed attribute name is not allowed")
            if name.value.startswith("_"):
                raise _Rejected(node, f"{node.func.id}() of {name.value!r} is not allowed")
            self._check_attribute(node, name.value, f"{node.func.id}() of")
            for arg in node.args:  # the callee itself is checked here, not by visit_Name
                self.visit(arg)
            return
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and "{" in node.value:
            for field in _FORMAT_FIELD.findall(node.value):
                for attribute in _FORMAT_ATTRIBUTE.findall(field):
                    # The denied floor only: a format field yields a repr, never a callable, and
                    # plain text with braces ("{file.txt}") must not be mistaken for an attack.
                    if attribute_denied(attribute) or attribute in escape_attribute_names():
                        raise _Rejected(node, f"a format field reaching for the attribute {attribute!r} is not allowed")
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
            self._check_attribute(node, attr, "matching on the attribute")
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
        _Gate(program_attribute_names(tree)).visit(tree)
    except _Rejected as exc:
        return GateVerdict(False, str(exc))
    except RecursionError:
        return GateVerdict(False, "the code is nested too deeply to inspect")
    if require_check and not _defines_check(tree):
        return GateVerdict(False, "the code does not define a top-level function `check(response)`")
    return GateVerdict(True)
