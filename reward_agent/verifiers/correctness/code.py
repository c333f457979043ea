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
`timeout`; no code in the response -> `unparsable`.
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
    code: str | None


def test_program(code: str, tests: str) -> str:
    """The sandbox program for one response: its code, then `check` running the tests."""
    body = textwrap.indent(tests.strip("\n"), " " * 8)
    return (f"{code}\n\n\ndef check(unused):\n    try:\n{body}\n"
            "    except AssertionError:\n        return False\n    return True\n")


def _defines_check(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == "check" for n in tree.body) or any(
        isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "check" for t in n.targets)
        for n in tree.body
    )


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
    checks: list[CodeCheck | None] = [None] * len(responses)
    jobs: dict[int, asyncio.Task] = {}
    for i, response in enumerate(responses):
        found = extract_code(response)
        if found is None:
            checks[i] = CodeCheck(Comparison("unparsable", "code_tests", "the response holds no Python code"),
                                  None, None)
            continue
        try:
            ast.parse(found.code)
        except SyntaxError as exc:
            # The model wrote code that is not Python: a wrong program, not a failed check.
            checks[i] = CodeCheck(Comparison("incorrect", "code_tests", f"SyntaxError: {exc.msg} (line {exc.lineno})"),
                                  found.rule, found.code)
            continue
        if _defines_check(found.code):
            checks[i] = CodeCheck(Comparison("error", "code_tests", "the program defines `check`, a name the "
                                             "sandbox reserves for the test harness"), found.rule, found.code)
            continue
        jobs[i] = asyncio.ensure_future(pool.run(test_program(found.code, tests), [""], limits))
        checks[i] = CodeCheck(Comparison("error", "code_tests", "pending"), found.rule, found.code)
    if jobs:
        results = await asyncio.gather(*jobs.values())
        for i, result in zip(jobs, results):
            previous = checks[i]
            assert previous is not None
            checks[i] = CodeCheck(_from_sandbox(result.outcomes[0]), previous.extraction_rule, previous.code)
    return [c for c in checks if c is not None]
