"""The child side of math comparison: math-verify in its own process, one comparison per line.

Symbolic comparison can hang (sympy simplifying a huge power, a pathological LaTeX parse), and
math-verify's own timeout uses SIGALRM, which only works in a main thread and returns False (a
silent "wrong") when it fires. So comparisons run here, in a long-lived child started by
`compare.MathVerifyWorker`: each under a soft per-item timer raising an exception this module
catches (reported as `timeout`), and the host adds a hard deadline that kills the whole process
when even the timer cannot interrupt (C code holding the interpreter).

Protocol, JSON lines. The child first writes `{"kind": "ready"}`; then per request line
`{"gold": str, "answer": str, "timeout_s": float}` it answers one line
`{"status": "equal" | "different" | "gold_unparsed" | "answer_unparsed" | "timeout" | "error",
  "gold_parsed": str | null, "answer_parsed": str | null, "message": str | null}`.

`python path/to/mathworker.py [module:function | file.py:function]`: started by path, since it
needs only the standard library and math-verify, not the reward_agent package. The optional
argument names another comparison function with the signature of `math_verify_compare` (the
tests inject deliberately slow ones to prove both timeout paths).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import signal
import sys
from collections.abc import Callable
from typing import Any


class _Timeout(BaseException):
    """Raised by the per-item timer. BaseException, so no `except Exception` in sympy swallows it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm)\{([^{}]*)\}")
_LATEX_MARK = re.compile(r"[\\^_{]")
_WORD = re.compile(r"[A-Za-z]{2,}")


def latex_form(answer: str) -> str:
    """How math-verify should read an already extracted answer.

    math-verify reads LaTeX only between delimiters, and reads words inside them as products of
    symbols ("72 dollars" -> 72*a*d*l*...). So: LaTeX (a backslash, ^, _ or a brace) or a
    word-free expression ("x = 5", "[1, 2)") goes between `$...$`; an answer with words
    ("72 dollars", "1/2 cup") is left bare, where math-verify takes the expression out of the text.
    """
    answer = _TEXT_WRAPPER.sub(r"\1", answer).strip()
    if "$" in answer.replace("\\$", ""):
        return answer
    if _LATEX_MARK.search(answer) or not _WORD.search(answer):
        return f"${answer}$"
    return answer


def math_verify_compare(gold: str, answer: str) -> dict[str, Any]:
    """Compare by value with math-verify; its own (signal-based, silent) timeouts switched off."""
    from math_verify import parse, verify

    gold_parsed = parse(latex_form(gold), parsing_timeout=None, raise_on_error=True)  # type: ignore[arg-type]
    if not gold_parsed:
        return {"status": "gold_unparsed", "gold_parsed": None, "answer_parsed": None}
    answer_parsed = parse(latex_form(answer), parsing_timeout=None, raise_on_error=True)  # type: ignore[arg-type]
    shown = {"gold_parsed": str(gold_parsed[0]), "answer_parsed": str(answer_parsed[0]) if answer_parsed else None}
    if not answer_parsed:
        return {"status": "answer_unparsed", **shown}
    equal = verify(gold_parsed, answer_parsed, timeout_seconds=None, raise_on_error=True)
    return {"status": "equal" if equal else "different", **shown}


def _load(target: str) -> Callable[[str, str], dict[str, Any]]:
    """`package.module:function`, or `/path/to/file.py:function`."""
    module, _, name = target.rpartition(":")
    if module.endswith(".py"):
        spec = importlib.util.spec_from_file_location("_injected_compare", module)
        assert spec is not None and spec.loader is not None, f"cannot load {module}"
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        return getattr(loaded, name)
    return getattr(importlib.import_module(module), name)


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> None:
    compare = _load(argv[0]) if argv else math_verify_compare
    if compare is math_verify_compare:
        import math_verify  # noqa: F401  (import now, so the first comparison is not charged for it)
    signal.signal(signal.SIGALRM, _on_alarm)
    _emit({"kind": "ready"})
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        signal.setitimer(signal.ITIMER_REAL, float(request["timeout_s"]))
        try:
            out = compare(str(request["gold"]), str(request["answer"]))
        except _Timeout:
            out = {"status": "timeout", "message": f"comparison took longer than {request['timeout_s']:g}s"}
        except Exception as exc:  # a comparison that breaks is an error outcome, never a verdict
            out = {"status": "error", "message": f"{type(exc).__name__}: {str(exc)[:300]}"}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        _emit(out)


if __name__ == "__main__":
    main(sys.argv[1:])
