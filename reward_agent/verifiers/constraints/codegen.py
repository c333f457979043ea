"""Checker code for free-text constraints, written by the coder model and proven in the sandbox.

For one constraint text, `generate_checker`:

1. asks the coder model (prompt `checker_code`) for `check(response) -> bool` plus a response that
   should pass and one that should fail;
2. self-tests the code in the sandbox on those two probes (the static gate runs first);
3. on any problem (no code block, gate rejection, an error, a timeout, a wrong verdict on a probe,
   a copy of the prompt's worked example) feeds the problem back (prompt `checker_code_repair`)
   for at most `repair_rounds` more tries, sampled with a per-round seed (`attempt_options`);
4. returns a `GeneratedChecker`: `ok` with the code and its sha256, or `dropped` with the reason.

Results are stored in the content-addressed cache under (constraint text, model identity, prompt
versions, repair rounds, sandbox policy), dropped ones too, so best-of-N and later epochs make no
new model calls. A model call that fails in transport is not cached (it may work next time).
Concurrent requests for the same key in one event loop share one generation.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from ...cache import Cache
from ...llm import ModelSpec, build_chat_model
from ...prompting import PromptTemplate, load_prompt
from ...sandbox import ALLOWED_IMPORTS, POLICY_VERSION, BatchResult, Limits, SandboxPool, default_pool
from ...structured import _model_identity  # the cache-key identity structured calls use, shared on purpose

CACHE_NAMESPACE = "checker_code"
PROMPT_NAME = "checker_code"
REPAIR_PROMPT_NAME = "checker_code_repair"
_BLOCK = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)
_OPEN_BLOCK = re.compile(r"```[ \t]*(?:python3?|py)[^\n]*\n(.*)\Z", re.DOTALL)
_LABELLED = re.compile(r"^[ \t>*-]*(PASS|FAIL)[ \t]*:[ \t]*(.+?)[ \t]*$", re.MULTILINE | re.IGNORECASE)
_CODE_TAGS = ("python", "py", "python3", "")
# v1 stays the default: v2 (a worked example, probes as asserts; written for small models) and v3
# (three worked examples of different shapes, same format) did no better with SmolLM2-135M (0/10
# with each, benchmarks/results/codegen_embedded.json: it merges the examples into one expression
# or copies their probes) and are untried with strong coders. Pass prompt_version="v2"/"v3" to use them.
DEFAULT_PROMPT_VERSION = "v1"
# Temperature of repair rounds (see `attempt_options`).
REPAIR_TEMPERATURE = 0.8


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


def _probe_text(node: ast.expr) -> str | None:
    """The string a probe assert passes to `check`, when it is a literal string."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check" and len(node.args) == 1:
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


def _assert_probe(node: ast.Assert) -> tuple[str, str] | None:
    """("pass"|"fail", text) for `assert check("..")`, `assert not check("..")`, `== True/False`, `is ...`."""
    test, negated = node.test, False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, negated = test.operand, True
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.Is)):
        expected = test.comparators[0]
        if not (isinstance(expected, ast.Constant) and isinstance(expected.value, bool)):
            return None
        test, negated = test.left, negated != (expected.value is False)
    text = _probe_text(test)
    return None if text is None else ("fail" if negated else "pass", text)


def _split_asserts(code: str) -> tuple[str, dict[str, str]]:
    """Probes written as asserts below the function (the v2 prompt's format), and the code without them.

    Top-level asserts and bare calls of `check` are taken out of the code: they are the probes (or
    stray tests of them), and run by the self-test instead. Code that does not parse is returned
    unchanged, so the gate reports its syntax error.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code, {}
    probes: dict[str, str] = {}
    keep = []
    for node in tree.body:
        if isinstance(node, ast.Assert):
            probe = _assert_probe(node)
            if probe is not None:
                probes.setdefault(*probe)
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and _probe_text(node.value) is not None:
            continue
        keep.append(node)
    if len(keep) == len(tree.body):
        return code, probes
    lines = code.splitlines()
    kept = [line for node in keep for line in lines[node.lineno - 1 - _decorators(node) : node.end_lineno]]
    return "\n".join(kept).rstrip() + "\n", probes


def _decorators(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return node.lineno - min(d.lineno for d in decorators) if decorators else 0


def _unquote(text: str) -> str:
    """A probe line given as a quoted string ("Wow!" or 'Wow!') means the text inside the quotes."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        return text[1:-1]
    return text


def _labelled_lines(text: str) -> dict[str, str]:
    """Probes written as `PASS: ...` / `FAIL: ...` lines."""
    found: dict[str, str] = {}
    for label, value in _LABELLED.findall(text):
        found.setdefault(label.lower(), _unquote(value))
    return found


def parse_answer(raw: str) -> Draft | str:
    """The code and two probes from a model answer, or a problem description to send back.

    Accepted, in this order: ```pass and ```fail blocks after the code (v1), asserts on `check`
    below the function inside the code block (v2), `PASS:` / `FAIL:` lines, two untagged blocks.
    A code block left open at the end of the answer is read as if closed when the probes are there
    (small models often stop right after their last line).
    """
    blocks = [(tag.lower(), body) for tag, body in _BLOCK.findall(raw)]
    code = next((body for tag, body in blocks if tag in _CODE_TAGS and "def check" in body), None)
    tail = ""
    if code is None:
        unterminated = _OPEN_BLOCK.search(raw)
        if unterminated is None or "def check" not in unterminated.group(1):
            return "the answer has no ```python code block defining `def check(response)`"
        code = unterminated.group(1)
        labelled = _LABELLED.search(code)  # PASS:/FAIL: lines written inside the open block
        code, tail = (code[: labelled.start()], code[labelled.start() :]) if labelled else (code, "")
    code, asserted = _split_asserts(code)
    tagged = {tag: body for tag, body in reversed(blocks) if tag in ("pass", "fail")}
    strip = lambda s: s[:-1] if s.endswith("\n") else s  # noqa: E731
    probes = {k: strip(v) for k, v in tagged.items()}
    for found in (asserted, _labelled_lines(tail or _BLOCK.sub("", raw))):
        for label, text in found.items():
            probes.setdefault(label, text)
    if "pass" not in probes or "fail" not in probes:
        rest = [body for tag, body in blocks if "def check" not in body and tag not in ("python", "py", "python3")]
        if len(rest) >= 2 and not probes:
            probes = {"pass": strip(rest[0]), "fail": strip(rest[1])}
    if "pass" not in probes or "fail" not in probes:
        if not blocks:
            return "the answer ends inside its ```python block (cut off?) and gives no example responses"
        # Worded for any prompt version: the repair prompt of that version says the format again.
        return (
            "the answer needs two example responses to test the code: one that follows the rule and one "
            "that breaks it"
        )
    return Draft(code=code, should_pass=probes["pass"], should_fail=probes["fail"])


def prompt_examples(prompt: str) -> list[Draft]:
    """The worked examples in a rendered prompt: every code block defining `check` (v2 has one, v3 three).

    Probes are read the way `parse_answer` reads them (asserts inside the block; for v1-style
    prompts, PASS:/FAIL: lines or ```pass/```fail blocks when there is a single example).
    """
    blocks = [(tag.lower(), body) for tag, body in _BLOCK.findall(prompt)]
    examples = []
    for tag, body in blocks:
        if tag in _CODE_TAGS and "def check" in body:
            code, probes = _split_asserts(body)
            if "pass" in probes and "fail" in probes:
                examples.append(Draft(code=code, should_pass=probes["pass"], should_fail=probes["fail"]))
    if not examples:
        single = parse_answer(prompt)
        if isinstance(single, Draft):
            examples.append(single)
    return examples


def copied_example(draft: Draft, prompt: str) -> str | None:
    """Why `draft` is one of the prompt's own worked examples rather than an answer, or None.

    Small models copy a worked example verbatim; its code and probes pass the self-test but check
    a different rule. The examples are read from the rendered prompt itself (all of them, see
    `prompt_examples`), so this follows the prompt.
    """
    norm = lambda s: " ".join(s.split())  # noqa: E731
    for example in prompt_examples(prompt):
        if norm(draft.code) == norm(example.code) or {norm(draft.should_pass), norm(draft.should_fail)} & {
            norm(example.should_pass), norm(example.should_fail)
        }:
            return "the answer copies the example from the instructions; write code and examples for this rule instead"
    return None


def self_test_problem(result: BatchResult) -> str | None:
    """Why the probes did not come out passed/failed, or None when they did."""
    problems = []
    for outcome, expected, label in zip(result.outcomes, ("passed", "failed"), ("pass", "fail")):
        if outcome.status == expected:
            continue
        if outcome.status in ("passed", "failed"):
            got = "True" if outcome.status == "passed" else "False"
            problems.append(f"on the example that should {label}, check returned {got}")
        elif outcome.status == "rejected":
            return f"the code was rejected before running: {outcome.message}"
        else:
            problems.append(f"on the example that should {label}, the check {outcome.status}: {outcome.message}")
    return "; ".join(problems) or None


def prompts(version: int | str | None = None) -> tuple[PromptTemplate, PromptTemplate]:
    """The checker prompt and its repair prompt: version N of both (default DEFAULT_PROMPT_VERSION)."""
    template = load_prompt(PROMPT_NAME, DEFAULT_PROMPT_VERSION if version is None else version)
    return template, load_prompt(REPAIR_PROMPT_NAME, template.number)


def cache_key(
    constraint: str, model: BaseChatModel, repair_rounds: int, prompt_version: int | str | None = None
) -> dict[str, Any]:
    """What a generated checker depends on."""
    template, repair = prompts(prompt_version)
    return {
        "constraint": constraint,
        "model": _model_identity(model),
        "prompt_version": template.version,
        "repair_prompt_version": repair.version,
        "repair_rounds": repair_rounds,
        "repair_sampling": {"temperature": REPAIR_TEMPERATURE, "seeds": "round"},
        "policy": POLICY_VERSION,
    }


def attempt_options(attempt: int) -> dict[str, Any]:
    """Call options of attempt `attempt` (0 = the first answer).

    The first answer uses the model's own settings (greedy by default). Repairs are sampled at
    REPAIR_TEMPERATURE with the round number as seed: a greedy small model given its own wrong
    answer back tends to repeat it word for word, while a seeded sample differs and is still
    reproducible (the embedded model and OpenAI-compatible servers both take `seed`).
    """
    return {} if attempt == 0 else {"temperature": REPAIR_TEMPERATURE, "seed": attempt}


def _render_repair(repair: PromptTemplate, problem: str, constraint: str) -> str:
    """The repair prompt; versions that restate the rule (v3) also get `$constraint`."""
    values = {"problem": problem, "constraint": constraint}
    return repair.render(**{k: v for k, v in values.items() if k in repair.variables})


async def _write_and_test(
    constraint: str,
    model: BaseChatModel,
    repair_rounds: int,
    pool: SandboxPool,
    limits: Limits,
    prompt_version: int | str | None = None,
) -> GeneratedChecker:
    """The generate / self-test / repair loop, uncached."""
    template, repair = prompts(prompt_version)
    history: list[BaseMessage] = [
        HumanMessage(content=template.render(constraint=constraint, allowed_imports=", ".join(ALLOWED_IMPORTS)))
    ]
    result = GeneratedChecker(constraint=constraint, status="dropped", prompt_version=template.version)
    for attempt in range(repair_rounds + 1):
        try:
            raw = str((await model.ainvoke(history, **attempt_options(attempt))).text)
        except Exception as exc:  # transport failures: no verdict about the code, and not cached
            result.status, result.reason = "unavailable", f"coder model call failed: {type(exc).__name__}: {exc}"
            return result
        result.model_calls += 1
        draft = parse_answer(raw)
        copied = None if isinstance(draft, str) else copied_example(draft, str(history[0].content))
        if isinstance(draft, str) or copied:
            problem = copied or str(draft)
        else:
            tested = await pool.run(draft.code, [draft.should_pass, draft.should_fail], limits)
            problem = self_test_problem(tested)
            if problem is None:
                result.status, result.code = "ok", draft.code
                result.code_sha256 = hashlib.sha256(draft.code.encode("utf-8")).hexdigest()
                result.probes = {"pass": draft.should_pass, "fail": draft.should_fail}
                return result
        result.attempts.append(problem[:500])
        history = [*history, AIMessage(content=raw), HumanMessage(content=_render_repair(repair, problem, constraint))]
    result.reason = f"no working checker after {result.model_calls} attempt(s); last problem: {result.attempts[-1]}"
    return result


_INFLIGHT: dict[tuple[int, str], asyncio.Future[GeneratedChecker]] = {}


async def cached_generation(
    cache: Cache | None, namespace: str, key: dict[str, Any], write: Callable[[], Awaitable[GeneratedChecker]]
) -> GeneratedChecker:
    """The checker stored under (namespace, key), or `write()`'s, stored unless it is `unavailable`
    (a transport failure may work next time). Concurrent requests for one key in one event loop
    share one generation (best-of-N asks N times at once)."""
    if cache is not None:
        stored = cache.get(namespace, key)
        if isinstance(stored, dict):
            return GeneratedChecker.from_cache(stored)
    flight = (id(asyncio.get_running_loop()), Cache.make_key(namespace, key))
    if flight in _INFLIGHT:  # the same checker is being written right now: share that work
        shared = await asyncio.shield(_INFLIGHT[flight])
        return GeneratedChecker.from_cache(shared.to_cache()) if shared.status != "unavailable" else shared
    future: asyncio.Future[GeneratedChecker] = asyncio.get_running_loop().create_future()
    _INFLIGHT[flight] = future
    try:
        generated = await write()
        if cache is not None and generated.status != "unavailable":
            cache.put(namespace, key, generated.to_cache())
        future.set_result(generated)
        return generated
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # mark retrieved: waiters re-raise it, nobody logs it as lost
        raise
    finally:
        _INFLIGHT.pop(flight, None)


async def generate_checker(
    constraint: str,
    model: BaseChatModel | ModelSpec,
    *,
    cache: Cache | None = None,
    repair_rounds: int = 2,
    pool: SandboxPool | None = None,
    limits: Limits | None = None,
    prompt_version: int | str | None = None,
) -> GeneratedChecker:
    """A checker for `constraint` in the `checker_code.vN` format (code block + pass/fail probes):
    from the cache (0 model calls) or written, tested and cached.

    The constraint verifier uses `typed.generate_typed_checker` (tests as asserts, voting); this
    format stays for `benchmarks/bench_codegen_embedded.py`, whose SmolLM2 figures were made with it.
    `prompt_version` picks `checker_code.vN` (and the repair prompt of the same N); default
    DEFAULT_PROMPT_VERSION.
    """
    chat = build_chat_model(model) if isinstance(model, ModelSpec) else model
    pool = pool or default_pool()
    limits = limits or Limits(per_response_timeout_s=2.0)
    key = cache_key(constraint, chat, repair_rounds, prompt_version)
    return await cached_generation(
        cache, CACHE_NAMESPACE, key, lambda: _write_and_test(constraint, chat, repair_rounds, pool, limits, prompt_version)
    )
