"""Constraint extraction by an LLM (role "extractor"), after the rule library.

The rules run first (they are precise on what they know). The model is shown what they found and
lists the prompt's *other* explicit constraints as structured items (`ExtractionAnswer`; prompt
`constraint_extract.v2`; grammar-constrained with llama.cpp models). Each item is validated here,
not trusted:

- its `text` must be words of the prompt (a hallucinated constraint is dropped, with the reason);
- a registered checker id with arguments that validate becomes that checker's `ConstraintSpec`;
- anything else (`free_text`, an unknown id, arguments that do not validate) becomes a free-text
  constraint carrying the prompt's words, for the coder model to write a checker for.

- an item that restates a rule hit (same id, or overlapping words) is dropped as a duplicate.

When the model fails (no valid JSON after a repair round, the call failed) or none of its items
survive validation, the rule-based extraction decides alone and the fallback is recorded.
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
from ...llm import ModelSpec, build_chat_model
from ...structured import ainvoke_structured
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


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
MIN_STATEMENT_WORDS = 4


def whole_statement(text: str, prompt: str) -> str:
    """`text` widened to the prompt's sentence that contains it, when it is only a few words.

    Small models quote the key word of an instruction ("Primary") instead of the instruction
    ("Begin your reply with the word 'Primary'."); the coder needs the instruction.
    """
    if len(text.split()) >= MIN_STATEMENT_WORDS:
        return text
    needle = " ".join(text.lower().split())
    for sentence in _SENTENCE_END.split(prompt):
        if needle and needle in " ".join(sentence.lower().split()):
            return sentence.strip()
    return text


# Words that name a property code can check in a response: its units (words, sentences, lines...),
# counts and bounds, format, case, punctuation, where it starts or ends, what it must include or
# avoid, its language. The extractor model also lists the task itself ("Write a resume for a
# fresh high school graduate ...", "Are hamburgers sandwiches?": 9 of its 10 additions on the
# first 25 IFEval prompts); such an item names none of these, and a checker written for it would
# grade the content with made-up rules, so it is dropped with a note. Digits count (a bound).
_LANGUAGES = ("english|french|german|spanish|italian|portuguese|dutch|russian|chinese|japanese|korean|arabic|"
              "hindi|bengali|urdu|persian|farsi|turkish|greek|hebrew|polish|swedish|finnish|danish|norwegian|"
              "thai|vietnamese|indonesian|swahili|tamil|telugu|marathi|gujarati|kannada|punjabi|nepali")
FORM_PROPERTY = re.compile(
    r"\b(?:words?|sentences?|paragraphs?|lines?|letters?|characters?|syllables?|bullet(?:s|ed)?|lists?|items?|"
    r"sections?|titles?|headings?|headers?|json|xml|yaml|html|markdown|csv|tables?|code blocks?|format(?:ted)?|"
    r"quot(?:e|es|ed|ation|ations)|commas?|punctuation|periods?|question marks?|exclamation(?: marks?)?|colons?|"
    r"semicolons?|hyphens?|dash(?:es)?|asterisks?|brackets?|parenthes[ie]s|capital(?:s|ized|ised|ization)?|"
    r"upper ?case|lower ?case|caps|begin(?:s|ning)?|start(?:s|ing)?|end(?:s|ing)?|finish(?:es)?|conclude|"
    r"include[sd]?|including|mention(?:s|ed)?|contains?|use|using|avoid|without|never|omit|exactly|at least|"
    r"at most|no more than|fewer than|less than|more than|maximum|minimum|digits?|numbers?|numbered|times|"
    r"twice|once|language|" + _LANGUAGES + r"|highlight(?:s|ed)?|emphasi[sz]ed?|bold|italics?|postscript|"
    r"placeholders?|repeat(?:ed)?|separated?|wrap(?:ped)?|enclosed?|responses|(?:answer|respond|reply) (?:with|in|only)|"
    r"\d+)\b|p\.\s?s\.",
    re.IGNORECASE,
)


def names_form_property(text: str) -> bool:
    """Whether a free-text constraint names something code can check (see FORM_PROPERTY)."""
    return FORM_PROPERTY.search(text) is not None


def to_constraint(item: ExtractedItem, prompt: str) -> tuple[ConstraintSpec | None, str | None]:
    """The validated constraint for one item, or None; plus a note on anything changed or dropped."""
    text = item.text.strip()
    if not is_grounded(text, prompt):
        return None, f"dropped {item.type!r}: its text {text[:80]!r} is not in the prompt"
    text = whole_statement(text, prompt)
    free = ConstraintSpec(id=FREE_TEXT_ID, kwargs={"text": text}, source="llm", text=text)
    if item.type == FREE_TEXT_ID:
        if not names_form_property(text):
            return None, (f"dropped {text[:80]!r}: it names no property of the response's form (a restatement "
                          "of the task?)")
        return free, None
    if item.type not in CHECKERS:
        return free, f"unknown checker {item.type!r}: kept as free text"
    try:
        kwargs = validate_kwargs(CHECKERS.get(item.type), item.kwargs)
    except ValueError as exc:
        return free, f"{exc}: kept as free text"
    return ConstraintSpec(id=item.type, kwargs=kwargs, source="llm", text=text), None


def _overlaps(a: str, b: str) -> bool:
    """Whether two statements share their words: one inside the other, or most longer words shared."""
    na, nb = " ".join(a.lower().split()), " ".join(b.lower().split())
    if not na or not nb:
        return False
    if na in nb or nb in na:
        return True
    wa = {w for w in _WORD.findall(na) if len(w) > 3}
    wb = {w for w in _WORD.findall(nb) if len(w) > 3}
    return bool(wa and wb) and len(wa & wb) / min(len(wa), len(wb)) >= GROUNDING_MIN_OVERLAP


def _merge(llm: list[ConstraintSpec], rules: list[ConstraintSpec]) -> tuple[list[ConstraintSpec], list[str]]:
    """The rules' constraints, then the model's additions that no rule hit already states."""
    out = list(rules)
    seen = {spec.model_dump_json(include={"id", "kwargs"}) for spec in out}
    rule_ids = {c.id for c in rules}
    rule_texts = [c.text for c in rules if c.text]
    added: list[str] = []
    duplicates: list[str] = []
    for spec in llm:
        key = spec.model_dump_json(include={"id", "kwargs"})
        if key in seen:
            continue
        if spec.id in rule_ids or any(_overlaps(spec.text or "", t) for t in rule_texts):
            duplicates.append(label_of(spec))
            continue
        seen.add(key)
        out.append(spec)
        added.append(label_of(spec))
    notes = [f"added by the model: {', '.join(added)}"] if added else []
    if duplicates:
        notes.append(f"already found by the rules: {', '.join(duplicates)}")
    return out, notes


def label_of(spec: ConstraintSpec) -> str:
    return f"free_text {spec.kwargs.get('text', '')!r}" if spec.id == FREE_TEXT_ID else spec.id


def found_list(rules: list[ConstraintSpec]) -> str:
    """The rule hits as the prompt shows them: the prompt's words, else the id."""
    return "\n".join(f"- {c.text or c.id}" for c in rules) or "- (none)"


async def extract_with_llm(prompt: str, spec: ModelSpec, cache: Cache | None = None) -> Extraction:
    """Read the constraints of `prompt` with the extractor model; the rules on any failure (recorded)."""
    template = load_prompt(PROMPT_NAME)
    rules = extract_constraints(prompt)
    values = {"checkers": checker_catalogue, "found": lambda: found_list(rules)}  # v1 lists the catalogue
    rendered = template.render(**{k: make() for k, make in values.items() if k in template.variables})
    messages = [SystemMessage(content=rendered), HumanMessage(content=prompt)]
    try:
        answer = await ainvoke_structured(
            build_chat_model(spec), messages, ExtractionAnswer, cache=cache, prompt_version=template.version
        )
    except (ModelOutputError, ModelCallError) as exc:
        return Extraction(rules, "rules", exc.model_calls, prompt_version=template.version,
                          fallback=f"extractor model failed ({type(exc).__name__}: {str(exc)[:300]}); rules decided")
    kept: list[ConstraintSpec] = []
    notes: list[str] = []
    for item in answer.value.constraints:
        constraint, note = to_constraint(item, prompt)
        if constraint is not None:
            kept.append(constraint)
        if note:
            notes.append(note)
    grounded = [item for item in answer.value.constraints if is_grounded(item.text.strip(), prompt)]
    if answer.value.constraints and not grounded:  # only hallucinations: the model's answer says nothing
        return Extraction(rules, "rules", answer.model_calls, answer.cached, template.version,
                          fallback="no constraint the extractor model listed is stated in the prompt; rules decided",
                          notes=notes)
    if not kept:  # the model found nothing beyond the rules: that is an answer, not a fallback
        return Extraction(rules, "llm", answer.model_calls, answer.cached, template.version, notes=notes)
    merged, merge_notes = _merge(kept, rules)
    return Extraction(merged, "llm", answer.model_calls, answer.cached, template.version, notes=notes + merge_notes)
