"""LLM constraint extraction: validation of each item, mapping onto the registry, fallback to rules.

The extractor model is scripted (its answers are the inputs under test).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from reward_agent.llm import ModelSpec
from reward_agent.verifiers.constraints import llm_extract
from reward_agent.verifiers.constraints.llm_extract import ExtractedItem, extract_with_llm, is_grounded, to_constraint

from scripted_model import scripted

PROMPT = "Write a poem about the sea in all lowercase letters. Use exactly three rhetorical questions."
SPEC = ModelSpec(provider="embedded")


def run(monkeypatch, *answers: str):
    model = scripted(*answers)
    monkeypatch.setattr(llm_extract, "build_chat_model", lambda spec: model)
    return asyncio.run(extract_with_llm(PROMPT, SPEC)), model


def as_json(*items: dict) -> str:
    return json.dumps({"constraints": list(items)})


@pytest.mark.parametrize(
    ("text", "grounded"),
    [("in all lowercase letters", True), ("IN ALL   lowercase letters", True),
     ("use exactly three rhetorical questions", True), ("answer in French", False), ("", False)],
)
def test_grounding(text: str, grounded: bool) -> None:
    assert is_grounded(text, PROMPT) is grounded


def test_known_type_with_valid_kwargs_maps_onto_the_registry() -> None:
    spec, note = to_constraint(ExtractedItem(type="change_case:english_lowercase", text="in all lowercase letters"), PROMPT)
    assert spec is not None and spec.id == "change_case:english_lowercase" and spec.source == "llm" and note is None


def test_bad_kwargs_and_unknown_types_become_free_text() -> None:
    bad, note = to_constraint(ExtractedItem(type="length_constraints:number_words", kwargs={"num_words": "many"},
                                            text="use exactly three rhetorical questions"), PROMPT)
    assert bad is not None and bad.id == "free_text" and "bad arguments" in (note or "")
    unknown, note = to_constraint(ExtractedItem(type="rhetoric:questions", text="three rhetorical questions"), PROMPT)
    assert unknown is not None and unknown.id == "free_text"
    assert unknown.kwargs == {"text": "Use exactly three rhetorical questions."}  # widened to the instruction
    assert "unknown checker" in (note or "")


def test_hallucinated_constraints_are_dropped() -> None:
    spec, note = to_constraint(ExtractedItem(type="free_text", text="answer in exactly 7 haiku"), PROMPT)
    assert spec is None and "not in the prompt" in (note or "")


def test_a_valid_answer_is_used_and_rules_fill_gaps(monkeypatch) -> None:
    extraction, model = run(monkeypatch, as_json(
        {"type": "free_text", "kwargs": {}, "text": "Use exactly three rhetorical questions"},
    ))
    assert extraction.method == "llm" and extraction.model_calls == 1 and extraction.fallback is None
    ids = [c.id for c in extraction.constraints]
    assert ids == ["change_case:english_lowercase", "free_text"]  # rules first, then what the model added
    assert extraction.constraints[1].kwargs == {"text": "Use exactly three rhetorical questions"}
    assert any("added by the model" in n for n in extraction.notes)
    rule_text = extraction.constraints[0].text
    assert rule_text and rule_text in model.seen[0][0].content  # the model is told what the rules found


def test_restated_rule_hits_are_dropped_as_duplicates(monkeypatch) -> None:
    extraction, _ = run(monkeypatch, as_json(
        {"type": "free_text", "kwargs": {}, "text": "in all lowercase letters"},
        {"type": "change_case:english_lowercase", "kwargs": {}, "text": "all lowercase"},
    ))
    assert [c.id for c in extraction.constraints] == ["change_case:english_lowercase"]
    assert any("already found by the rules" in n for n in extraction.notes)


def test_nothing_beyond_the_rules_is_an_answer_not_a_fallback(monkeypatch) -> None:
    extraction, _ = run(monkeypatch, as_json())
    assert extraction.method == "llm" and extraction.fallback is None
    assert [c.id for c in extraction.constraints] == ["change_case:english_lowercase"]


def test_garbage_falls_back_to_the_rules_and_says_so(monkeypatch) -> None:
    extraction, _ = run(monkeypatch, "I like the sea.", "Still not JSON.")
    assert extraction.method == "rules" and extraction.model_calls == 2
    assert "extractor model failed" in (extraction.fallback or "")
    assert [c.id for c in extraction.constraints] == ["change_case:english_lowercase"]


def test_only_hallucinations_fall_back_to_the_rules(monkeypatch) -> None:
    extraction, _ = run(monkeypatch, as_json({"type": "free_text", "kwargs": {}, "text": "write in Klingon"}))
    assert extraction.method == "rules" and "not stated in the prompt" not in (extraction.fallback or "x")
    assert "rules decided" in (extraction.fallback or "")
    assert extraction.evidence()["fallback"] == extraction.fallback


def test_a_quoted_key_word_is_widened_to_its_instruction() -> None:
    prompt = "Begin your reply with the word 'Primary'. Describe a school day in under 50 words."
    spec, _ = to_constraint(ExtractedItem(type="free_text", text="Primary"), prompt)
    assert spec is not None and spec.kwargs == {"text": "Begin your reply with the word 'Primary'."}


@pytest.mark.parametrize("text", [
    "Begin your reply with the word 'Primary'.", "Make sure the words 'tide' and 'horizon' both show up.",
    "The whole output must be valid JSON and nothing else.", "Respond in German only.", "Add a P.S. at the end.",
    "Keep it under 50 words", "Wrap your entire response in double quotation marks.", "Give two different responses.",
    "Answer with one of: My answer is yes., My answer is no.", "No commas allowed.",
])
def test_form_constraints_name_a_checkable_property(text: str) -> None:
    assert llm_extract.names_form_property(text)


@pytest.mark.parametrize("text", [
    "Write an email to my boss telling him that I am quitting.", "Are hamburgers sandwiches?",
    "One person must be dressed up in a ball gown.", "WRITE ME A RESUME",
])
def test_task_restatements_name_none(text: str) -> None:
    assert not llm_extract.names_form_property(text)


def test_a_restated_task_is_dropped_with_a_note_and_is_not_a_fallback(monkeypatch) -> None:
    extraction, _ = run(monkeypatch, as_json({"type": "free_text", "kwargs": {}, "text": "Write a poem about the sea"}))
    assert extraction.method == "llm" and extraction.fallback is None
    assert [c.id for c in extraction.constraints] == ["change_case:english_lowercase"]
    assert any("names no property of the response's form" in n for n in extraction.notes)
