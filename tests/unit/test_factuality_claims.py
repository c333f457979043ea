"""Claims: the offline sentence extractor, dedup across responses, disagreement order, the LLM path."""

import asyncio

import pytest

from reward_agent.errors import ModelCallError
from reward_agent.llm import ModelSpec
from reward_agent.verifiers.factuality import claims as claims_mod
from reward_agent.verifiers.factuality.claims import (
    claim_id,
    dedupe,
    extract_claims,
    is_checkable,
    order_by_disagreement,
    sentence_claims,
)
from tests.unit.scripted_model import scripted


@pytest.mark.parametrize(
    ("sentence", "keep", "why"),
    [
        ("The capital of Peru is Lima.", True, "checkable"),
        ("Oxygen was discovered in 1774.", True, "checkable"),
        ("Water boils at 100 degrees Celsius at sea level.", True, "checkable"),
        ("What is the capital of Peru?", False, "a question"),
        ("I think Lima is lovely in spring.", False, "about the writer or reader"),
        ("Perhaps the city was founded by Pizarro.", False, "hedged or opinion"),
        ("Lima.", False, "too short"),
        ("Sure, here is the answer you asked for.", False, "about the writer or reader"),
        ("Here are some facts:", False, "a heading or lead-in"),
        ("run quickly towards the light now", False, "no checkable content (number, name or is/was/has statement)"),
    ],
)
def test_is_checkable(sentence, keep, why):
    assert is_checkable(sentence) == (keep, why)


def test_sentence_claims_keep_facts_and_strip_markup():
    text = "Sure! **The capital of Peru is Lima.** I love it. Is it big?\n- Peru borders Ecuador and Colombia.\n1. Lima was founded in 1535."
    assert sentence_claims(text) == [
        "The capital of Peru is Lima.", "Peru borders Ecuador and Colombia.", "Lima was founded in 1535."
    ]


def test_claim_ids_ignore_case_space_and_final_punctuation():
    assert claim_id("The capital of Peru is Lima.") == claim_id("  the capital of  peru is lima ")
    assert claim_id("The capital of Peru is Lima.") != claim_id("The capital of Peru is Quito.")


def test_dedupe_across_responses_keeps_who_said_it():
    claims, per_response = dedupe([["Lima is in Peru.", "Peru is big."], ["lima is in peru", "Quito is in Peru."], []])
    assert [c.text for c in claims] == ["Lima is in Peru.", "Peru is big.", "Quito is in Peru."]
    assert [c.responses for c in claims] == [[0, 1], [0], [1]]
    assert per_response == [[claims[0].id, claims[1].id], [claims[0].id, claims[2].id], []]


def test_a_claim_shared_by_twenty_answers_is_one_claim():
    claim_set = asyncio.run(extract_claims("q", ["The capital of Peru is Lima."] * 20))
    assert len(claim_set.claims) == 1 and claim_set.claims[0].responses == list(range(20))
    assert claim_set.method == "sentences" and claim_set.fallback is None


def test_disagreement_first():
    claims, _ = dedupe([["Shared fact one is true.", "Only A says this."], ["Shared fact one is true.", "B and C say this."],
                        ["Shared fact one is true.", "B and C say this."]])
    ordered = order_by_disagreement(claims, 3)
    assert [c.text for c in ordered] == ["Only A says this.", "B and C say this.", "Shared fact one is true."]
    assert order_by_disagreement(claims, 1) == claims  # one response: nothing to disagree on


def test_llm_extraction_is_used_and_deduplicated(monkeypatch):
    model = scripted('{"claims": ["Lima is the capital of Peru.", "Lima was founded in 1535."]}',
                     '{"claims": ["lima is the capital of peru"]}')
    monkeypatch.setattr(claims_mod, "build_chat_model", lambda spec: model)
    out = asyncio.run(extract_claims("What is the capital of Peru?", ["Lima, founded 1535.", "Lima."],
                                     ModelSpec(provider="embedded")))
    assert out.method == "llm" and out.model_calls == 2 and out.prompt_version == "claims_extract.v1"
    assert [c.responses for c in out.claims] == [[0, 1], [0]]
    assert "What is the capital of Peru?" in model.seen[0][0].content


def test_llm_failure_falls_back_to_sentences_and_says_why(monkeypatch):
    model = scripted(ModelCallError("connection refused"))
    monkeypatch.setattr(claims_mod, "build_chat_model", lambda spec: model)
    out = asyncio.run(extract_claims("q", ["The capital of Peru is Lima."], ModelSpec(provider="embedded")))
    assert out.method == "sentences" and "connection refused" in out.fallback
    assert out.model_calls == 0  # the model was never reached
    assert [c.text for c in out.claims] == ["The capital of Peru is Lima."]
