"""Constraint extraction by an LLM (role "extractor"), with the rule library as the safety net.

The model lists the prompt's explicit constraints as structured items (`ExtractionAnswer`). Each
item is validated here, not trusted:

- its `text` must be words of the prompt (a hallucinated constraint is dropped, with the reason);
- a registered checker id with arguments that validate becomes that checker's `ConstraintSpec`;
- anything else (`free_text`, an unknown id, arguments that do not validate) becomes a free-text
  constraint carrying the prompt's words, for the coder model to write a checker for.

When the model fails (no valid JSON after a repair round, the call failed) or none of its items
survive validation, the rule-based extraction decides instead and the fallback is recorded. Rule
hits for checker ids the model did not mention are added (the rules are precise on what they know).
Answers are cached by (model, messages, prompt version), so the prompt is read once however many
responses or epochs ask for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from ...cache import Cache
from ...errors import ModelCallError, ModelOutputError
from ...llm import ModelSpec, ainvoke_structured, build_chat_model
from ...prompting import load_prompt
from ...types import ConstraintSpec
from . import checkers as _register_checkers  # noqa: F401  (importing registers the built-in checkers)
from .base import CHECKERS, validate_kwargs
from .extract import extract_constraints
from .free_text import FREE_TEXT_ID

PROMPT_NAME = "constraint_extract"
_WORD = re.compile(r"\w+", re.UNICODE)
GROUNDING_MIN_OVERLAP = 0.6


class ExtractedItem(BaseModel):
    """One constraint as the model states it."""

    type: str = Field(description="A checker id from the list, or 'free_text'.")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="The checker's arguments ({} for free_text).")
    text: str = Field(min_length=1, description="The exact words of the prompt that state the constraint.")


class ExtractionAnswer(BaseModel):
    """What the extractor model must answer."""

    constraints: list[ExtractedItem] = Field(description="Every explicit constraint of the prompt.")


@dataclass
class Extraction:
    """The constraints read from a prompt, how, and what it cost."""

    constraints: list[ConstraintSpec]
    method: Literal["llm", "rules"]
    model_calls: int = 0
    cached: bool = False
    prompt_version: str | None = None
    fallback: str | None = None
    notes: list[str] = field(default_factory=list)

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "model_calls": self.model_calls, "cached": self.cached}
        if self.prompt_version:
            out["prompt_version"] = self.prompt_version
        if self.fallback:
            out["fallback"] = self.fallback
        if self.notes:
            out["notes"] = self.notes
        return out


def checker_catalogue() -> str:
    """One line per built-in checker for the extractor prompt: id, arguments, description."""
    lines = []
    for name in sorted(CHECKERS):
        if name == FREE_TEXT_ID:
            continue
        spec = CHECKERS.get(name)
        properties = spec.args.model_json_schema().get("properties", {})
        args = ", ".join(f"{arg}: {_type_name(schema)}" for arg, schema in properties.items()) or "no arguments"
        lines.append(f"- {name} ({args}): {spec.description}")
    lines.append(f"- {FREE_TEXT_ID} (no arguments): any other explicit constraint, stated in its own words")
    return "\n".join(lines)


def _type_name(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(repr(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(_type_name(s) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type_name(schema.get('items', {}))}"
    return str(kind)


def is_grounded(text: str, prompt: str) -> bool:
    """Whether `text` is words of `prompt`: a substring (case and spacing aside), or most of its
    longer words (short ones such as "in" or "the" prove nothing)."""
    norm_text = " ".join(text.lower().split())
    norm_prompt = " ".join(prompt.lower().split())
    if norm_text and norm_text in norm_prompt:
        return True
    words = _WORD.findall(norm_text)
    words = [w for w in words if len(w) > 3] or words  # "in", "the", "a" prove nothing
    if not words:
        return False
    prompt_words = set(_WORD.findall(norm_prompt))
    return sum(w in prompt_words for w in words) / len(words) >= GROUNDING_MIN_OVERLAP


def to_constraint(item: ExtractedItem, prompt: str) -> tuple[ConstraintSpec | None, str | None]:
    """The validated constraint for one item, or None; plus a note on anything changed or dropped."""
    text = item.text.strip()
    if not is_grounded(text, prompt):
        return None, f"dropped {item.type!r}: its text {text[:80]!r} is not in the prompt"
    free = ConstraintSpec(id=FREE_TEXT_ID, kwargs={"text": text}, source="llm", text=text)
    if item.type == FREE_TEXT_ID:
        return free, None
    if item.type not in CHECKERS:
        return free, f"unknown checker {item.type!r}: kept as free text"
    try:
        kwargs = validate_kwargs(CHECKERS.get(item.type), item.kwargs)
    except ValueError as exc:
        return free, f"{exc}: kept as free text"
    return ConstraintSpec(id=item.type, kwargs=kwargs, source="llm", text=text), None


def _merge(llm: list[ConstraintSpec], rules: list[ConstraintSpec]) -> tuple[list[ConstraintSpec], list[str]]:
    """The model's constraints (deduplicated), then rule hits for ids the model did not use."""
    out: list[ConstraintSpec] = []
    seen: set[str] = set()
    for spec in llm:
        key = spec.model_dump_json(include={"id", "kwargs"})
        if key not in seen:
            seen.add(key)
            out.append(spec)
    used = {c.id for c in out}
    added = [c for c in rules if c.id not in used]
    notes = [f"added from the rules: {', '.join(c.id for c in added)}"] if added else []
    return out + added, notes


async def extract_with_llm(prompt: str, spec: ModelSpec, cache: Cache | None = None) -> Extraction:
    """Read the constraints of `prompt` with the extractor model; the rules on any failure (recorded)."""
    template = load_prompt(PROMPT_NAME)
    messages = [SystemMessage(content=template.render(checkers=checker_catalogue())), HumanMessage(content=prompt)]
    rules = extract_constraints(prompt)
    try:
        answer = await ainvoke_structured(
            build_chat_model(spec), messages, ExtractionAnswer, cache=cache, prompt_version=template.version
        )
    except (ModelOutputError, ModelCallError) as exc:
        calls = int(getattr(exc, "model_calls", 1 if isinstance(exc, ModelOutputError) else 0))
        return Extraction(rules, "rules", calls, prompt_version=template.version,
                          fallback=f"extractor model failed ({type(exc).__name__}: {str(exc)[:300]}); rules decided")
    kept: list[ConstraintSpec] = []
    notes: list[str] = []
    for item in answer.value.constraints:
        constraint, note = to_constraint(item, prompt)
        if constraint is not None:
            kept.append(constraint)
        if note:
            notes.append(note)
    if answer.value.constraints and not kept:
        return Extraction(rules, "rules", answer.model_calls, answer.cached, template.version,
                          fallback="no constraint the extractor model listed is stated in the prompt; rules decided",
                          notes=notes)
    merged, merge_notes = _merge(kept, rules)
    return Extraction(merged, "llm", answer.model_calls, answer.cached, template.version, notes=notes + merge_notes)
