"""Planning: which verifiers run for a request, and why.

The rule-based planner (default) asks each registered verifier whether it applies. The LLM
planner shows the model the verifier descriptions and the prompt and asks for a validated
JSON choice; on a bad answer or a failed call it falls back to the rules and says so.
Verifiers forced or disabled by the request or the context override both.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, create_model

from .context import RewardContext
from .errors import ConfigError, ModelCallError, ModelOutputError
from .llm import build_chat_model
from .prompting import load_prompt
from .structured import ainvoke_structured
from .types import Plan, RewardRequest
from .verifiers.base import VERIFIERS, all_verifiers


class LLMPlanAnswer(BaseModel):
    """What the planner model must answer."""

    verifiers: list[str] = Field(description="Ids of the verifiers to run.")
    reasons: dict[str, str] = Field(default_factory=dict, description="One short reason per chosen id.")


@lru_cache(maxsize=32)
def answer_schema(ids: tuple[str, ...]) -> type[LLMPlanAnswer]:
    """`LLMPlanAnswer` with `verifiers` limited to `ids` (the registered verifiers).

    The ids are in the schema, not only in the prompt, because small models otherwise answer with
    the constraints they read ("lowercase", "no commas") instead of verifier ids: a grammar-constrained
    model (llama.cpp) can then only choose registered ids, and any other model's unknown id is a
    validation error that is fed back for a repair round before the rules take over.
    """
    return create_model(
        "LLMPlanAnswer",
        __base__=LLMPlanAnswer,
        verifiers=(list[Literal[ids]], Field(description="Ids of the verifiers to run.")),  # type: ignore[valid-type]
    )


def plan_by_rules(request: RewardRequest, context: RewardContext) -> Plan:
    """Ask every registered verifier whether it applies; record each answer."""
    chosen: list[str] = []
    reasons: dict[str, str] = {}
    for spec in all_verifiers():
        applies, why = spec.applies(request, context)
        reasons[spec.id] = why if applies else f"not chosen: {why}"
        if applies:
            chosen.append(spec.id)
    return Plan(verifiers=chosen, reasons=reasons, planner="rules")


async def plan_by_llm(request: RewardRequest, context: RewardContext) -> Plan:
    """Let the planner model choose; fall back to the rules on any failure, recorded in the plan."""
    spec = context.model_for("planner")
    if spec is None:
        raise ConfigError("planner='llm' needs a model for the 'planner' role (models.planner)")
    template = load_prompt("planner")
    catalogue = "\n".join(f"- {v.id}: {v.description}" for v in all_verifiers())
    messages = [
        SystemMessage(content=template.render(verifiers=catalogue)),
        HumanMessage(content=request.user_prompt),
    ]
    try:
        schema = answer_schema(tuple(VERIFIERS.names()))
        answer = await ainvoke_structured(build_chat_model(spec), messages, schema)
    except (ModelOutputError, ModelCallError) as exc:
        plan = plan_by_rules(request, context)
        return plan.model_copy(
            update={"fallback": f"planner model failed ({type(exc).__name__}: {exc}); rules decided",
                    "model_calls": exc.model_calls, "prompt_version": template.version}
        )
    unknown = [v for v in answer.value.verifiers if v not in VERIFIERS]
    if unknown:
        plan = plan_by_rules(request, context)
        return plan.model_copy(
            update={"fallback": f"planner model chose unknown verifier(s) {unknown}; rules decided",
                    "model_calls": answer.model_calls, "prompt_version": template.version}
        )
    chosen = list(dict.fromkeys(answer.value.verifiers))
    reasons = {v: answer.value.reasons.get(v, "chosen by the planner model") for v in chosen}
    return Plan(verifiers=chosen, reasons=reasons, planner="llm",
                model_calls=answer.model_calls, prompt_version=template.version)


def apply_overrides(plan: Plan, request: RewardRequest, context: RewardContext) -> Plan:
    """Add verifiers the request forces; drop those the request or the context disables."""
    verifiers = list(plan.verifiers)
    reasons = dict(plan.reasons)
    for forced in request.verifiers or ():
        if forced not in VERIFIERS:
            raise VERIFIERS.unknown(forced)
        if forced not in verifiers:
            verifiers.append(forced)
        reasons[forced] = "forced by the request"
    for disabled, who in [(d, "the request") for d in request.disable] + [(d, "the context") for d in context.disable]:
        if disabled in verifiers:
            verifiers.remove(disabled)
            reasons[disabled] = f"disabled by {who}"
    return plan.model_copy(update={"verifiers": verifiers, "reasons": reasons})


async def make_plan(request: RewardRequest, context: RewardContext) -> Plan:
    """The plan for this request under this context."""
    if context.planner == "llm":
        plan = await plan_by_llm(request, context)
    else:
        plan = plan_by_rules(request, context)
    return apply_overrides(plan, request, context)
