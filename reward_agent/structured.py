"""Structured (JSON) calls to chat models: prompting for a schema, extraction, repair, retries.

Owns `invoke_structured` / `ainvoke_structured`, which ask a model for JSON matching a pydantic
schema, extract and validate it, feed a validation error back for a bounded number of repair rounds,
retry transport failures with exponential backoff, and can cache validated answers in a `Cache`;
and the pieces they are built from: `StructuredAnswer`, `extract_json` (the first JSON value in a
model's text) and `describe_schema` (the compact schema picture shown to models).

The schema goes into the prompt rather than a `json_schema` response format, which llama.cpp and
older vLLM builds do not all speak. Building models from a `ModelSpec` is `reward_agent.llm`'s job;
this module sits above it (llm knows nothing of structured calls).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, convert_to_messages
from pydantic import BaseModel, ValidationError

from .cache import Cache
from .errors import ConfigError, ModelCallError, ModelOutputError, RewardAgentError
from .llm import ModelSpec, build_chat_model, spec_of
from .prompting import load_prompt

__all__ = [
    "StructuredAnswer",
    "ainvoke_structured",
    "describe_schema",
    "extract_json",
    "invoke_structured",
]

log = logging.getLogger(__name__)

S = TypeVar("S", bound=BaseModel)


def _chat_model(model: BaseChatModel | ModelSpec) -> BaseChatModel:
    """`model` itself, or the chat model `build_chat_model` makes for a `ModelSpec`."""
    return build_chat_model(model) if isinstance(model, ModelSpec) else model


@dataclass(frozen=True)
class StructuredAnswer(Generic[S]):
    """A validated answer, the raw text it came from, and what it cost (0 model calls if cached)."""

    value: S
    raw: str
    model_calls: int
    cached: bool = False
    prompt_version: str | None = None


_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL)
_DECODER = json.JSONDecoder()


def extract_json(text: str, prefer: type | None = dict) -> Any:
    """The first JSON value in `text` (code fences, prose and <think> blocks around it are ignored).

    With `prefer` (dict or list), the first value of that type wins over earlier ones of the other
    type, so a stray "[1]" in prose does not shadow the object that follows. Raises ValueError.
    """
    text = _THINK_RE.sub("", text)
    first: Any = None
    found = False
    for match in re.finditer(r"[{\[]", text):
        try:
            value, _ = _DECODER.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if prefer is None or isinstance(value, prefer):
            return value
        if not found:
            first, found = value, True
    if found:
        return first
    raise ValueError("no JSON object or array found in the answer")


def _schema_text(schema: type[BaseModel]) -> str:
    """The full JSON schema, compact: part of the cache key (a changed schema is a new question)."""
    return json.dumps(schema.model_json_schema(), separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _json_kind(schema: type[BaseModel]) -> str:
    kind = schema.model_json_schema().get("type")
    return kind if kind in ("object", "array") else "value"


def _preferred_json_type(schema: type[BaseModel]) -> type | None:
    kind = _json_kind(schema)
    return dict if kind == "object" else list if kind == "array" else None


_PRIMITIVES = {"string", "number", "integer", "boolean", "null"}


def _shape(node: dict[str, Any], defs: dict[str, Any], notes: list[str], depth: int = 0) -> str:
    """A compact, JSON-like picture of a JSON schema: `{"score": number (0 to 1), "tags": [string, ...]}`.

    Models of every size follow such a picture better than a full JSON schema, which small models
    tend to echo back instead of answering. Type names are not valid JSON, so a model that copies the
    picture verbatim fails validation (and gets a repair round) instead of passing with placeholders.
    """
    if depth > 8:
        return "any"
    if "$ref" in node:
        target = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
        return _shape(target, defs, notes, depth + 1)
    if "const" in node:
        return json.dumps(node["const"], ensure_ascii=False)
    if "enum" in node:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in node["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in node:
            return " | ".join(_shape(n, defs, notes, depth + 1) for n in node[combinator])
    if "allOf" in node and len(node["allOf"]) == 1:
        return _shape(node["allOf"][0], defs, notes, depth + 1)
    kind = node.get("type")
    if isinstance(kind, list):
        return " | ".join(_shape({**node, "type": k}, defs, notes, depth + 1) for k in kind)
    if kind == "object" or "properties" in node:
        return _object_shape(node, defs, notes, depth)
    if kind == "array":
        if "prefixItems" in node:
            return "[" + ", ".join(_shape(n, defs, notes, depth + 1) for n in node["prefixItems"]) + "]"
        return "[" + _shape(node.get("items", {}), defs, notes, depth + 1) + ", ...]"
    if kind in _PRIMITIVES:
        return kind + _bounds(node)
    return "any"


def _object_shape(node: dict[str, Any], defs: dict[str, Any], notes: list[str], depth: int) -> str:
    properties: dict[str, Any] = node.get("properties", {})
    if not properties:
        extra = node.get("additionalProperties")
        value = _shape(extra, defs, notes, depth + 1) if isinstance(extra, dict) else "any"
        return "{string: " + value + ", ...}"
    required = set(node.get("required", []))
    fields = []
    for name, sub in properties.items():
        optional = "" if name in required else " (optional)"
        fields.append(f"{json.dumps(name)}: {_shape(sub, defs, notes, depth + 1)}{optional}")
        if sub.get("description"):
            notes.append(f"{name}: {sub['description']}")
    return "{" + ", ".join(fields) + "}"


def _bounds(node: dict[str, Any]) -> str:
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        return f" ({low} to {high})"
    parts = []
    for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in node:
            parts.append(f"{sign} {node[key]}")
    return f" ({', '.join(parts)})" if parts else ""


def describe_schema(schema: type[BaseModel]) -> str:
    """The shape of `schema` as shown to models, with field descriptions listed under it."""
    json_schema = schema.model_json_schema()
    notes: list[str] = []
    shape = _shape(json_schema, json_schema.get("$defs", {}), notes)
    return shape + ("\nwhere " + "; ".join(notes) if notes else "")


def _with_instruction(messages: list[BaseMessage], instruction: str) -> list[BaseMessage]:
    """Append the JSON instruction to the last user turn (some chat templates refuse two in a row)."""
    if messages and isinstance(messages[-1], HumanMessage) and isinstance(messages[-1].content, str):
        last = messages[-1]
        return [*messages[:-1], HumanMessage(content=f"{last.content}\n\n{instruction}")]
    return [*messages, HumanMessage(content=instruction)]


def _describe_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors(include_url=False)[:5]
        ]
        return "the JSON does not match the schema: " + "; ".join(parts)
    return str(exc)


def _parse(raw: str, schema: type[S]) -> S:
    """Extract and validate; raises ValueError or ValidationError."""
    return schema.model_validate(extract_json(raw, _preferred_json_type(schema)))


def _is_transient(exc: BaseException) -> bool:
    """Failures worth retrying: the endpoint was unreachable, slow, overloaded or briefly broken."""
    if isinstance(exc, RewardAgentError):
        return False
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai depends on openai
        openai = None  # type: ignore[assignment]
    if openai is not None:
        if isinstance(exc, (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)):
            return True
        if isinstance(exc, openai.APIStatusError) and (exc.status_code in (408, 409, 429) or exc.status_code >= 500):
            return True
    try:
        import httpx
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, httpx.TransportError)


def _is_call_failure(exc: BaseException) -> bool:
    """Errors that mean "the model call failed" (as opposed to a bug in our code)."""
    if _is_transient(exc):
        return True
    try:
        import openai
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, openai.APIError)


def _default_retries(model: BaseChatModel) -> int:
    """Extra attempts on transient failures. Models built here for an endpoint already retry inside
    the OpenAI client (spec.max_retries, with backoff); stacking a second layer would multiply them."""
    spec = spec_of(model)
    if spec is not None and spec.provider == "openai":
        return 0
    return 2


def _retrying(retries: int, backoff_s: float) -> dict[str, Any]:
    from tenacity import retry_if_exception, stop_after_attempt, wait_exponential_jitter

    return {
        "stop": stop_after_attempt(retries + 1),
        "wait": wait_exponential_jitter(initial=backoff_s, max=max(backoff_s * 16, backoff_s), jitter=backoff_s),
        "retry": retry_if_exception(_is_transient),
        "reraise": True,
        "before_sleep": lambda state: log.warning(
            "model call failed (%s); retry %d of %d", state.outcome.exception(), state.attempt_number, retries
        ),
    }


def _call(
    model: BaseChatModel, messages: list[BaseMessage], retries: int, backoff_s: float, options: dict[str, Any]
) -> str:
    from tenacity import Retrying

    try:
        for attempt in Retrying(**_retrying(retries, backoff_s)):
            with attempt:
                return str(model.invoke(messages, **options).text)
    except Exception as exc:
        if _is_call_failure(exc):
            raise ModelCallError(f"model call failed after {retries + 1} attempt(s): {exc}") from exc
        raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _acall(
    model: BaseChatModel, messages: list[BaseMessage], retries: int, backoff_s: float, options: dict[str, Any]
) -> str:
    from tenacity import AsyncRetrying

    try:
        async for attempt in AsyncRetrying(**_retrying(retries, backoff_s)):
            with attempt:
                return str((await model.ainvoke(messages, **options)).text)
    except Exception as exc:
        if _is_call_failure(exc):
            raise ModelCallError(f"model call failed after {retries + 1} attempt(s): {exc}") from exc
        raise
    raise AssertionError("unreachable")  # pragma: no cover


def _model_identity(model: BaseChatModel) -> Any:
    spec = spec_of(model)
    if spec is not None:
        return spec.identity()
    # A model built elsewhere: its own description of itself (non-JSON parts by repr, which at worst
    # makes the key never hit; it can never make two different models share a key).
    params = json.loads(json.dumps(model._identifying_params, default=repr, sort_keys=True))
    return {"llm_type": model._llm_type, "params": params}


class _Plan:
    """What one structured call needs, shared by the sync and async versions."""

    def __init__(
        self,
        model: BaseChatModel,
        messages: Any,
        schema: type[BaseModel],
        repair_rounds: int,
        prompt_version: str | None,
        retries: int | None,
    ) -> None:
        if repair_rounds < 0:
            raise ConfigError(f"repair_rounds={repair_rounds} must be 0 or more")
        self.schema = schema
        self.repair_rounds = repair_rounds
        self.prompt_version = prompt_version
        self.retries = _default_retries(model) if retries is None else retries
        if self.retries < 0:
            raise ConfigError(f"retries={retries} must be 0 or more")
        self.base = convert_to_messages(messages)
        self.schema_text = _schema_text(schema)
        # Models that decode under a JSON-schema grammar (llama.cpp in-process) get the schema itself:
        # their answer is then valid JSON of the right shape by construction, not by persuasion.
        self.constrained = bool(getattr(type(model), "constrained_json", False))
        self.options: dict[str, Any] = {"json_schema": schema.model_json_schema()} if self.constrained else {}
        self.instruction = load_prompt("structured_output")
        self.repair = load_prompt("structured_repair")
        self.kind = _json_kind(schema)
        self.shape = describe_schema(schema)
        instruction = self.instruction.render(kind=self.kind, shape=self.shape).strip()
        self.first_messages = _with_instruction(self.base, instruction)
        self.cache_key = {
            "model": _model_identity(model),
            "messages": [{"type": m.type, "content": m.content} for m in self.base],
            "schema": schema.__name__,
            "schema_json": self.schema_text,
            "prompt_version": prompt_version,
            "instruction": [self.instruction.version, self.repair.version],
        }
        if self.constrained:  # only then: keys of unconstrained calls stay what they were
            self.cache_key["constrained"] = True

    def repair_messages(self, history: list[BaseMessage], raw: str, error: Exception) -> list[BaseMessage]:
        text = self.repair.render(error=_describe_error(error), kind=self.kind, shape=self.shape).strip()
        return [*history, AIMessage(content=raw), HumanMessage(content=text)]

    def failure(self, raw: str, error: Exception, calls: int) -> ModelOutputError:
        return ModelOutputError(
            f"{self.schema.__name__}: no valid answer after {calls} model call(s); last problem: "
            f"{_describe_error(error)}",
            raw=raw,
            model_calls=calls,
        )

    @staticmethod
    def call_failure(exc: ModelCallError, calls: int) -> ModelCallError:
        """A transport failure after `calls` answered calls of this structured call (a repair round
        that could not reach the model): the same error, costing those calls as well."""
        return ModelCallError(str(exc), model_calls=exc.model_calls + calls)

    def from_cache(self, cached: Any) -> StructuredAnswer[Any] | None:
        try:
            value = self.schema.model_validate(cached["value"])
        except (ValidationError, KeyError, TypeError):
            return None  # an entry that no longer validates is a miss, not an error
        return StructuredAnswer(value, cached["raw"], 0, cached=True, prompt_version=self.prompt_version)


_CACHE_NAMESPACE = "llm.structured"


def invoke_structured(
    model: BaseChatModel | ModelSpec,
    messages: Any,
    schema: type[S],
    *,
    repair_rounds: int = 1,
    cache: Cache | None = None,
    prompt_version: str | None = None,
    retries: int | None = None,
    backoff_s: float = 0.5,
) -> StructuredAnswer[S]:
    """Ask `model` for JSON matching `schema`; return it validated.

    `messages` is anything LangChain converts to messages (a string, (role, text) pairs, messages).
    The JSON schema is added to the last user turn. An answer that does not parse or validate is
    sent back with the error for up to `repair_rounds` more tries, then `ModelOutputError` (with the
    raw text and the calls it cost, `model_calls`) is raised. Transport failures are retried `retries` times with exponential backoff
    (default: 2, or 0 for endpoint models whose client already retries), then `ModelCallError`.
    With `cache`, validated answers are stored keyed by model identity, messages, schema and
    `prompt_version`; a hit costs no model call.
    """
    model = _chat_model(model)
    plan = _Plan(model, messages, schema, repair_rounds, prompt_version, retries)
    computed: list[StructuredAnswer[S]] = []

    def compute() -> dict[str, Any]:
        answer = _run_sync(model, plan, backoff_s)
        computed.append(answer)
        return {"raw": answer.raw, "value": answer.value.model_dump(mode="json")}

    if cache is None:
        return _run_sync(model, plan, backoff_s)
    stored = cache.get_or_compute(_CACHE_NAMESPACE, plan.cache_key, compute)
    if computed:
        return computed[0]
    hit = plan.from_cache(stored)
    if hit is not None:
        return hit
    answer = _run_sync(model, plan, backoff_s)
    cache.put(_CACHE_NAMESPACE, plan.cache_key, {"raw": answer.raw, "value": answer.value.model_dump(mode="json")})
    return answer


def _run_sync(model: BaseChatModel, plan: _Plan, backoff_s: float) -> StructuredAnswer[Any]:
    history = plan.first_messages
    calls = 0
    while True:
        try:
            raw = _call(model, history, plan.retries, backoff_s, plan.options)
        except ModelCallError as exc:
            if not calls:
                raise
            raise plan.call_failure(exc, calls) from exc
        calls += 1
        try:
            value = _parse(raw, plan.schema)
        except (ValueError, ValidationError) as exc:
            if calls > plan.repair_rounds:
                raise plan.failure(raw, exc, calls) from exc
            history = plan.repair_messages(history, raw, exc)
            continue
        return StructuredAnswer(value, raw, calls, prompt_version=plan.prompt_version)


async def ainvoke_structured(
    model: BaseChatModel | ModelSpec,
    messages: Any,
    schema: type[S],
    *,
    repair_rounds: int = 1,
    cache: Cache | None = None,
    prompt_version: str | None = None,
    retries: int | None = None,
    backoff_s: float = 0.5,
) -> StructuredAnswer[S]:
    """Async `invoke_structured` (same arguments and errors). The cache is read and written inline:
    SQLite lookups take microseconds, far less than the model call they save."""
    model = _chat_model(model)
    plan = _Plan(model, messages, schema, repair_rounds, prompt_version, retries)
    if cache is not None:
        stored = cache.get(_CACHE_NAMESPACE, plan.cache_key)
        hit = plan.from_cache(stored) if stored is not None else None
        if hit is not None:
            return hit
    answer = await _run_async(model, plan, backoff_s)
    if cache is not None:
        cache.put(_CACHE_NAMESPACE, plan.cache_key, {"raw": answer.raw, "value": answer.value.model_dump(mode="json")})
    return answer


async def _run_async(model: BaseChatModel, plan: _Plan, backoff_s: float) -> StructuredAnswer[Any]:
    history = plan.first_messages
    calls = 0
    while True:
        try:
            raw = await _acall(model, history, plan.retries, backoff_s, plan.options)
        except ModelCallError as exc:
            if not calls:
                raise
            raise plan.call_failure(exc, calls) from exc
        calls += 1
        try:
            value = _parse(raw, plan.schema)
        except (ValueError, ValidationError) as exc:
            if calls > plan.repair_rounds:
                raise plan.failure(raw, exc, calls) from exc
            history = plan.repair_messages(history, raw, exc)
            continue
        return StructuredAnswer(value, raw, calls, prompt_version=plan.prompt_version)
