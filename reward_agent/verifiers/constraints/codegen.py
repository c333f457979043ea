"""Checker code for free-text constraints, written by the coder model and proven in the sandbox.

For one constraint text, `generate_checker`:

1. asks the coder model (prompt `checker_code`) for `check(response) -> bool` plus a response that
   should pass and one that should fail;
2. self-tests the code in the sandbox on those two probes (the static gate runs first);
3. on any problem (no code block, gate rejection, an error, a timeout, a wrong verdict on a probe)
   feeds the problem back (prompt `checker_code_repair`) for at most `repair_rounds` more tries;
4. returns a `GeneratedChecker`: `ok` with the code and its sha256, or `dropped` with the reason.

Results are stored in the content-addressed cache under (constraint text, model identity, prompt
versions, repair rounds, sandbox policy), dropped ones too, so best-of-N and later epochs make no
new model calls. A model call that fails in transport is not cached (it may work next time).
Concurrent requests for the same key in one event loop share one generation.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from ...cache import Cache
from ...llm import ModelSpec, build_chat_model
from ...prompting import load_prompt
from ...sandbox import ALLOWED_IMPORTS, POLICY_VERSION, BatchResult, Limits, SandboxPool, default_pool
from ...structured import _model_identity  # the cache-key identity structured calls use, shared on purpose

CACHE_NAMESPACE = "checker_code"
PROMPT_NAME = "checker_code"
REPAIR_PROMPT_NAME = "checker_code_repair"
_BLOCK = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)
_OPEN_BLOCK = re.compile(r"```[ \t]*(?:python3?|py)[^\n]*\n(.*)\Z", re.DOTALL)


@dataclass
class GeneratedChecker:
    """The outcome of generating a checker for one constraint (stored in the cache as a dict)."""

    constraint: str
    status: Literal["ok", "dropped", "unavailable"]
    code: str | None = None
    code_sha256: str | None = None
    reason: str | None = None
    probes: dict[str, str] | None = None
    attempts: list[str] = field(default_factory=list)  # the problem of each failed attempt
    model_calls: int = 0
    cached: bool = False
    prompt_version: str = ""

    def to_cache(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("cached")
        data.pop("model_calls")
        data["calls_to_generate"] = self.model_calls
        return data

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> GeneratedChecker:
        data = dict(data)
        data.pop("calls_to_generate", None)
        return cls(**data, model_calls=0, cached=True)

    def evidence(self) -> dict[str, Any]:
        """Everything worth auditing, the code included (it is short, and it decided the verdicts)."""
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "")}


@dataclass(frozen=True)
class Draft:
    """What one model answer contained."""

    code: str
    should_pass: str
    should_fail: str


def parse_answer(raw: str) -> Draft | str:
    """The code and two probes from a model answer, or a problem description to send back."""
    blocks = [(tag.lower(), body) for tag, body in _BLOCK.findall(raw)]
    code = next((body for tag, body in blocks if tag in ("python", "py", "python3", "") and "def check" in body), None)
    if code is None:
        # An answer cut off by the token limit leaves its code block open: take it, the gate and
        # the self-test will say what is wrong with it.
        unterminated = _OPEN_BLOCK.search(raw)
        if unterminated is None or "def check" not in unterminated.group(1):
            return "the answer has no ```python code block defining `def check(response)`"
        return "the answer ends inside its ```python block (cut off?); the ```pass and ```fail blocks are missing"
    tagged = {tag: body for tag, body in reversed(blocks) if tag in ("pass", "fail")}
    if "pass" not in tagged or "fail" not in tagged:
        rest = [body for tag, body in blocks if body is not code and tag not in ("python", "py", "python3")]
        if len(rest) < 2:
            return "the answer needs a ```pass block and a ```fail block with example responses after the code"
        tagged = {"pass": rest[0], "fail": rest[1]}
    strip = lambda s: s[:-1] if s.endswith("\n") else s  # noqa: E731
    return Draft(code=code, should_pass=strip(tagged["pass"]), should_fail=strip(tagged["fail"]))


def self_test_problem(result: BatchResult) -> str | None:
    """Why the probes did not come out passed/failed, or None when they did."""
    problems = []
    for outcome, expected, label in zip(result.outcomes, ("passed", "failed"), ("pass", "fail")):
        if outcome.status == expected:
            continue
        if outcome.status in ("passed", "failed"):
            got = "True" if outcome.status == "passed" else "False"
            problems.append(f"on the ```{label} example, check returned {got}")
        elif outcome.status == "rejected":
            return f"the code was rejected before running: {outcome.message}"
        else:
            problems.append(f"on the ```{label} example, the check {outcome.status}: {outcome.message}")
    return "; ".join(problems) or None


def cache_key(constraint: str, model: BaseChatModel, repair_rounds: int) -> dict[str, Any]:
    """What a generated checker depends on."""
    return {
        "constraint": constraint,
        "model": _model_identity(model),
        "prompt_version": load_prompt(PROMPT_NAME).version,
        "repair_prompt_version": load_prompt(REPAIR_PROMPT_NAME).version,
        "repair_rounds": repair_rounds,
        "policy": POLICY_VERSION,
    }


async def _write_and_test(
    constraint: str, model: BaseChatModel, repair_rounds: int, pool: SandboxPool, limits: Limits
) -> GeneratedChecker:
    """The generate / self-test / repair loop, uncached."""
    template, repair = load_prompt(PROMPT_NAME), load_prompt(REPAIR_PROMPT_NAME)
    history: list[BaseMessage] = [
        HumanMessage(content=template.render(constraint=constraint, allowed_imports=", ".join(ALLOWED_IMPORTS)))
    ]
    result = GeneratedChecker(constraint=constraint, status="dropped", prompt_version=template.version)
    for _ in range(repair_rounds + 1):
        try:
            raw = str((await model.ainvoke(history)).text)
        except Exception as exc:  # transport failures: no verdict about the code, and not cached
            result.status, result.reason = "unavailable", f"coder model call failed: {type(exc).__name__}: {exc}"
            return result
        result.model_calls += 1
        draft = parse_answer(raw)
        if isinstance(draft, str):
            problem = draft
        else:
            tested = await pool.run(draft.code, [draft.should_pass, draft.should_fail], limits)
            problem = self_test_problem(tested)
            if problem is None:
                result.status, result.code = "ok", draft.code
                result.code_sha256 = hashlib.sha256(draft.code.encode("utf-8")).hexdigest()
                result.probes = {"pass": draft.should_pass, "fail": draft.should_fail}
                return result
        result.attempts.append(problem[:500])
        history = [*history, AIMessage(content=raw), HumanMessage(content=repair.render(problem=problem))]
    result.reason = f"no working checker after {result.model_calls} attempt(s); last problem: {result.attempts[-1]}"
    return result


_INFLIGHT: dict[tuple[int, str], asyncio.Future[GeneratedChecker]] = {}


async def generate_checker(
    constraint: str,
    model: BaseChatModel | ModelSpec,
    *,
    cache: Cache | None = None,
    repair_rounds: int = 2,
    pool: SandboxPool | None = None,
    limits: Limits | None = None,
) -> GeneratedChecker:
    """A checker for `constraint`: from the cache (0 model calls) or written, tested and cached."""
    chat = build_chat_model(model) if isinstance(model, ModelSpec) else model
    pool = pool or default_pool()
    limits = limits or Limits(per_response_timeout_s=2.0)
    key = cache_key(constraint, chat, repair_rounds)
    if cache is not None:
        stored = cache.get(CACHE_NAMESPACE, key)
        if isinstance(stored, dict):
            return GeneratedChecker.from_cache(stored)
    flight = (id(asyncio.get_running_loop()), Cache.make_key(CACHE_NAMESPACE, key))
    if flight in _INFLIGHT:  # the same constraint is being written right now: share that work
        shared = await asyncio.shield(_INFLIGHT[flight])
        return GeneratedChecker.from_cache(shared.to_cache()) if shared.status != "unavailable" else shared
    future: asyncio.Future[GeneratedChecker] = asyncio.get_running_loop().create_future()
    _INFLIGHT[flight] = future
    try:
        generated = await _write_and_test(constraint, chat, repair_rounds, pool, limits)
        if cache is not None and generated.status != "unavailable":
            cache.put(CACHE_NAMESPACE, key, generated.to_cache())
        future.set_result(generated)
        return generated
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # mark retrieved: waiters re-raise it, nobody logs it as lost
        raise
    finally:
        _INFLIGHT.pop(flight, None)
