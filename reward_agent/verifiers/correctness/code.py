"""Code answers: run the reference's tests against each response's program in the sandbox.

The sandbox (`reward_agent.sandbox`) runs one program defining `check(response)` over a batch of
inputs, and refuses `exec`/`compile` inside it, so a batch cannot load N different programs. Each
response therefore gets its own program and its own sandbox process:

    <the response's code>

    def check(unused):
        try:
            <the reference's tests>
        except AssertionError:
            return False
        return True

All responses' processes run in parallel through the shared sandbox pool (bounded by its slots).
The response's code passes the same static gate, restricted builtins and operating-system
confinement as generated checkers: a program that imports outside the allow-list (`typing`,
`sys`, ...) or uses dunder names (`__init__`) is rejected, which is an `error` outcome (no
evidence), never a pass or a fail.

Outcomes: every assert holds -> `correct`; an assert fails -> `incorrect`; the program or a test
raises anything else -> `error`; a test (or the program's top level) runs past the time limit ->
`timeout`; no code in the response -> `unparsable`; code that does not parse as Python ->
`incorrect`, by explicit rule (the model wrote a broken program; no check was needed to see it).
"""

from __future__ import annotations

import ast
import asyncio
import textwrap
from dataclasses import dataclass

from ...sandbox import Limits, Outcome, default_pool
from .compare import Comparison
from .extract import extract_code

# The runner's message when defining the program (running its top level) hit the time limit.
_DEFINE_TIMEOUT_MARK = "took longer than"


@dataclass(frozen=True)
class CodeCheck:
    """One response's program against the tests: the comparison, the rule that found the code."""

    comparison: Comparison
    extraction_rule: str | None


def harness_program(code: str, tests: str) -> str:
    """The sandbox program for one response: its code, then `check` running the tests."""
    body = textwrap.indent(tests.strip("\n"), " " * 8)
    return (f"{code}\n\n\ndef check(unused):\n    try:\n{body}\n"
            "    except AssertionError:\n        return False\n    return True\n")


# Names the harness looks up as globals. A program that rebinds one at module level could turn a
# failed assert into something else (an `AssertionError` class of its own makes a wrong answer an
# error, i.e. no evidence), so such programs are refused: the verdict channel stays the harness's.
RESERVED_NAMES = frozenset({"check", "AssertionError"})


def _module_level_nodes(tree: ast.Module):
    """Every node whose bindings land in the module's globals (not inside def, lambda or class bodies)."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # the name itself is yielded; the body has its own scope
        if isinstance(node, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))


def rebound_reserved_name(code: str) -> str | None:
    """The reserved name the program rebinds at module level (or declares `global`), if any."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global) and RESERVED_NAMES & set(node.names):
            return sorted(RESERVED_NAMES & set(node.names))[0]
    for node in _module_level_nodes(tree):
        bound: list[str] = []
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.append(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound += [(a.asname or a.name).split(".")[0] for a in node.names]
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.append(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.append(node.name)
        hit = RESERVED_NAMES.intersection(bound)
        if hit:
            return sorted(hit)[0]
    return None


def _from_sandbox(outcome: Outcome) -> Comparison:
    message = outcome.message
    if outcome.status == "passed":
        return Comparison("correct", "code_tests", "every test passed")
    if outcome.status == "failed":
        return Comparison("incorrect", "code_tests", "an assertion failed")
    if outcome.status == "timeout" or (outcome.status == "error" and message and "could not be defined"
                                       in message and _DEFINE_TIMEOUT_MARK in message):
        return Comparison("timeout", "code_tests", message)
    if outcome.status == "rejected":
        return Comparison("error", "code_tests", f"rejected by the sandbox gate: {message}")
    return Comparison("error", "code_tests", message)


async def check_code(responses: list[str], tests: str, timeout_s: float) -> list[CodeCheck]:
    """Each response's program against `tests`, one sandbox process per response, in parallel."""
    limits = Limits(per_response_timeout_s=timeout_s)
    pool = default_pool()
    decided: dict[int, Comparison] = {}
    rules: dict[int, str] = {}
    programs: dict[int, str] = {}
    for i, response in enumerate(responses):
        found = extract_code(response)
        if found is None:
            decided[i] = Comparison("unparsable", "code_tests", "the response holds no Python code")
            continue
        rules[i] = found.rule
        try:
            ast.parse(found.code)
        except SyntaxError as exc:
            # Explicit rule: code that is not Python is a wrong program, not a check that failed to run.
            decided[i] = Comparison("incorrect", "code_tests", f"SyntaxError: {exc.msg} (line {exc.lineno})")
            continue
        reserved = rebound_reserved_name(found.code)
        if reserved is not None:
            decided[i] = Comparison("error", "code_tests", f"the program rebinds `{reserved}`, a name the "
                                    "test harness reserves")
            continue
        programs[i] = harness_program(found.code, tests)
    results = await asyncio.gather(*(pool.run(program, [""], limits) for program in programs.values()))
    for i, result in zip(programs, results):
        decided[i] = _from_sandbox(result.outcomes[0])
    return [CodeCheck(decided[i], rules.get(i)) for i in range(len(responses))]
