"""RewardContext: the per-run settings of the graph (LangGraph `context_schema`).

Which model serves each role, which planner and judger run, the weights, the timeouts.
Precedence, lowest to highest: defaults, then `REWARD_AGENT_*` environment variables,
then a config file (YAML or JSON), then values passed for this run. A run's context layers
over the environment (`layer_context`): only the fields it sets replace the loaded ones.

Names that select registered things (judger, RM backend and options, verifier ids in `weights`
and `disable`, retrieval sources) are checked against the registries when a context is built,
so a typo fails at load with "did you mean" instead of silently doing nothing.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError, UnknownIdError
from .judger import JUDGERS
from .llm import ModelSpec
from .retrieval.base import RetrievalSpec
from .rm.auto import check_spec
from .rm.spec import RMSpec
from .verifiers.base import VERIFIERS

# Roles a model can serve. Each is configured on its own so a small fast model can plan
# while a strong one judges, and a coder model writes checker code.
MODEL_ROLES = ("planner", "judge", "extractor", "coder", "claims")

ENV_PREFIX = "REWARD_AGENT_"


class RewardContext(BaseModel):
    """Settings for one run of the reward graph. Every field has a safe offline default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str = Field(
        default="default",
        description="Named bundle of defaults (reward_agent.profiles): 'default', or 'agentic' = the embedded "
        "Qwen2.5-Coder-1.5B as extractor and coder. Roles you configure yourself keep your models.",
    )
    planner: Literal["rules", "llm"] = Field(
        default="rules", description="'rules' (deterministic, no model) or 'llm' (needs models.planner)."
    )
    judger: str = Field(default="weighted_sum", description="Judger id: weighted_sum, gated or llm.")
    weights: dict[str, float] = Field(
        default_factory=dict, description="Weight per verifier id; unnamed verifiers use their default."
    )
    models: dict[str, ModelSpec] = Field(
        default_factory=dict, description=f"Chat model per role ({', '.join(MODEL_ROLES)})."
    )
    constraint_mode: Literal["strict", "loose"] = Field(
        default="strict", description="IFEval checking mode that the constraint score uses."
    )
    verifier_timeout_s: float = Field(default=120.0, gt=0, description="Wall-clock limit per verifier.")
    disable: tuple[str, ...] = Field(default=(), description="Verifier ids never run in this context.")
    gate_cap: float = Field(
        default=0.3, ge=0, le=1, description="gated judger: reward cap for a response violating a constraint."
    )
    llm_judge_max_responses: int = Field(
        default=8, ge=2, description="llm judger: above this many responses, fall back to weighted_sum."
    )
    cache_path: str | None = Field(
        default=None,
        description="Cache of extracted constraints, generated checker code, search results and RM scores: "
        "a SQLite file (default $REWARD_AGENT_CACHE/cache.sqlite3), ':memory:' for a cache private to this "
        "process, or redis://host:port/db for one shared by every worker and replica (an unreachable "
        "Redis is recomputed around, never a failed reward).",
    )
    checker_repair_rounds: int = Field(
        default=2, ge=0, le=5, description="Generated checkers: repair rounds after the first attempt."
    )
    checkers: Literal["auto", "builtin", "generated"] = Field(
        default="auto",
        description="Who checks a constraint given as an id: 'auto' = the built-in checker when one is "
        "registered, else code the coder writes; 'builtin' = built-ins only (others: no evidence); "
        "'generated' = the coder writes every checker from the constraint's description.",
    )
    checker_candidates: int = Field(
        default=1, ge=1, le=5,
        description="Generated checkers for constraint ids: drafts per type, chosen by agreement on all "
        "drafts' tests (1 = no voting).",
    )
    checker_timeout_s: float = Field(
        default=2.0, gt=0, le=60, description="Generated checkers: sandbox time limit per response."
    )
    unparsable_answers: Literal["no_evidence", "wrong"] = Field(
        default="no_evidence",
        description="correctness verifier: a response with no readable final answer scores None (no "
        "evidence) or 0.0 ('wrong', e.g. for RL runs that must not let a missing answer escape).",
    )
    rm: RMSpec = Field(
        default_factory=RMSpec,
        description="Preference reward model: backend (embedded, transformers, http, vllm, generative, ...), "
        "model, options, normalisation.",
    )
    retrieval: RetrievalSpec = Field(
        default_factory=RetrievalSpec,
        description="Evidence for the factuality verifier: sources (local, web, llm), local index directory, k.",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_profile(cls, data: Any) -> Any:
        """Fill in the profile's defaults under what was set explicitly."""
        if not isinstance(data, dict) or not data.get("profile"):
            return data
        from .profiles import PROFILES

        return PROFILES.get(str(data["profile"])).apply(data)

    @field_validator("weights")
    @classmethod
    def _weights_non_negative(cls, weights: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in weights.items() if v < 0}
        if bad:
            raise ValueError(f"weights must be >= 0, got {bad}")
        return weights

    @field_validator("models")
    @classmethod
    def _known_roles(cls, models: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
        unknown = sorted(set(models) - set(MODEL_ROLES))
        if unknown:
            raise ValueError(f"unknown model role(s) {unknown}; roles are {list(MODEL_ROLES)}")
        return models

    @model_validator(mode="after")
    def _registered_names(self) -> RewardContext:
        check_registered_names(self)
        return self

    def model_for(self, role: str) -> ModelSpec | None:
        """The model configured for `role`, or None when the role has none."""
        return self.models.get(role)

    def weight_of(self, verifier_id: str, default: float) -> float:
        return self.weights.get(verifier_id, default)


def check_registered_names(context: RewardContext) -> None:
    """Raise ConfigError (one line, with "did you mean") for a name no registry knows.

    Checked against the registries as they are now, so verifiers, judgers and RM backends a
    user registered before building the context are accepted.
    """
    def named(where: str, exc: UnknownIdError | ConfigError) -> ConfigError:
        return ConfigError(f"{where}: {exc}")

    if context.judger not in JUDGERS:
        raise named("judger", JUDGERS.unknown(context.judger))
    for where, ids in (("weights", list(context.weights)), ("disable", list(context.disable))):
        for vid in ids:
            if vid not in VERIFIERS:
                raise named(where, VERIFIERS.unknown(vid))
    try:
        check_spec(context.rm)
    except ConfigError as exc:
        raise named("rm", exc) from None


def layer_context(run: RewardContext | None, base: RewardContext | None = None) -> RewardContext:
    """The context a run uses: `base` (default: environment and config file, `default_context()`)
    with the fields `run` set explicitly replacing base's values of those fields.

    A field is replaced whole: `weights`, `models` and `rm` are one field each, so a run that
    sets `rm` sets all of it. Fields the run left at their defaults keep the environment's value.
    """
    base = default_context() if base is None else base
    if run is None or run is base:
        return base
    updates = {name: getattr(run, name) for name in run.model_fields_set}
    if not updates:
        return base
    # Both sides are validated contexts and each field is replaced whole, so no re-validation
    # is needed (registry names were checked when each was built).
    return base.model_copy(update=updates)


def _describe_errors(exc: ValidationError) -> str:
    """One `field.path: message` per problem, with "did you mean" for unknown fields and for
    values outside a fixed set (`planner: rulez`)."""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden" and err["loc"]:
            known = _fields_at(err["loc"][:-1])
            close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
            message = f"unknown setting{f'; did you mean {close[0]!r}?' if close else ''} (known: {', '.join(known)})"
        elif err["type"] == "literal_error":
            allowed = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
            close = difflib.get_close_matches(str(err.get("input")), allowed, n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        problems.append(f"{loc}: {message}")
    return "; ".join(problems)


def _fields_at(path: tuple[Any, ...]) -> list[str]:
    """The field names of the (nested) model at `path` inside RewardContext, for suggestions."""
    model: Any = RewardContext
    for part in path:
        field = getattr(model, "model_fields", {}).get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _env_settings(environ: dict[str, str]) -> dict[str, Any]:
    """Read `REWARD_AGENT_*` variables into context fields.

    Scalars map by name (`REWARD_AGENT_JUDGER=gated`); `REWARD_AGENT_WEIGHTS` takes JSON or
    `id=w,id=w`; models per role take `REWARD_AGENT_<ROLE>_MODEL`, `_BASE_URL`, `_PROVIDER`
    (default `openai`) and `_API_KEY`; the preference RM takes `REWARD_AGENT_RM_BACKEND` and
    `REWARD_AGENT_RM_MODEL`.
    """
    out: dict[str, Any] = {}
    for field in ("profile", "planner", "judger", "constraint_mode", "verifier_timeout_s", "gate_cap"):
        value = environ.get(ENV_PREFIX + field.upper())
        if value:
            out[field] = value
    if weights := environ.get(ENV_PREFIX + "WEIGHTS"):
        out["weights"] = _parse_weights(weights)
    if disable := environ.get(ENV_PREFIX + "DISABLE"):
        out["disable"] = tuple(v.strip() for v in disable.split(",") if v.strip())
    rm: dict[str, Any] = {}
    for key in ("backend", "model"):
        if value := environ.get(f"{ENV_PREFIX}RM_{key.upper()}"):
            rm[key] = value
    if rm:
        out["rm"] = rm
    models: dict[str, Any] = {}
    for role in MODEL_ROLES:
        name = environ.get(f"{ENV_PREFIX}{role.upper()}_MODEL")
        if not name:
            continue
        spec: dict[str, Any] = {"model": name, "provider": environ.get(f"{ENV_PREFIX}{role.upper()}_PROVIDER", "openai")}
        if base_url := environ.get(f"{ENV_PREFIX}{role.upper()}_BASE_URL"):
            spec["base_url"] = base_url
        if api_key := environ.get(f"{ENV_PREFIX}{role.upper()}_API_KEY"):
            spec["api_key"] = api_key
        models[role] = spec
    if models:
        out["models"] = models
    return out


def _parse_weights(text: str) -> dict[str, float]:
    text = text.strip()
    if text.startswith("{"):
        return json.loads(text)
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"weight {part!r} must look like 'verifier=1.5'")
        weights[name.strip()] = float(value)
    return weights


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Load a YAML or JSON config file into a dict of context fields."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping of settings, got {type(data).__name__}")
    return data


def load_context(
    config_file: str | Path | None = None,
    environ: dict[str, str] | None = None,
    **overrides: Any,
) -> RewardContext:
    """Build a RewardContext: defaults < environment < config file < `overrides`."""
    environ = dict(os.environ) if environ is None else environ
    settings: dict[str, Any] = _env_settings(environ)
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        settings.update(read_config_file(config_file))
    settings.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RewardContext.model_validate(settings)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {_describe_errors(exc)}") from None


@lru_cache(maxsize=1)
def default_context() -> RewardContext:
    """The context used when a run passes none: environment over defaults, read once."""
    return load_context()
