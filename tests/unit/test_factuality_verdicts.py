"""The offline verdict heuristic, the model verdict's validation, and the per-response score."""

import asyncio

import pytest

from reward_agent.llm import ModelSpec
from reward_agent.retrieval.base import Passage
from reward_agent.verifiers.factuality import verdicts as verdicts_mod
from reward_agent.verifiers.factuality.claims import Claim, claim_id
from reward_agent.verifiers.factuality.scoring import factuality_score
from reward_agent.verifiers.factuality.verdicts import heuristic_verdict, llm_verdict, names_in, numbers_in
from tests.unit.scripted_model import scripted

PERU = Passage(id="local:peru#0", source="local", title="Peru",
               text="Peru is a country in South America. Its capital is Lima. Peru has a population of 30,814,175 people.")
KYRGYZ = Passage(id="local:kyrgyzstan#0", source="local", title="Kyrgyzstan", text="The capital of Kyrgyzstan is Bishkek.")
OXYGEN = Passage(id="local:oxygen#0", source="local", title="Oxygen",
                 text="Oxygen was discovered by Joseph Priestley and Carl Wilhelm Scheele in 1774. It is a gas.")
SUDAN = Passage(id="local:sudan#0", source="local", title="Sudan", text="The capital of Sudan is Khartoum.")


def verdict(text, *passages):
    return heuristic_verdict(Claim(id=claim_id(text), text=text, responses=[0]), list(passages))


@pytest.mark.parametrize(
    ("claim", "passages", "label"),
    [
        ("The capital of Peru is Lima.", [PERU], "supported"),
        ("Lima is the capital of Peru.", [PERU], "supported"),
        ("The capital of Peru is Quito.", [PERU], "refuted"),
        ("Quito is the capital of Peru.", [PERU], "refuted"),
        ("Peru has a population of about 31 million people.", [PERU], "supported"),  # rounded: within 3 %
        ("Peru has a population of about 62 million people.", [PERU], "refuted"),
        ("Oxygen was discovered by Scheele in 1774.", [OXYGEN], "supported"),  # a surname names the person
        ("Oxygen was discovered by Joseph Priestley in 1771.", [OXYGEN], "refuted"),
        ("Oxygen was discovered by Humphry Davy in 1774.", [OXYGEN], "refuted"),
        ("The capital of Chile is Santiago.", [PERU, OXYGEN], "not_enough_evidence"),
        ("The capital of Cambodia is Bishkek.", [KYRGYZ], "not_enough_evidence"),  # another country's capital
        ("The capital of South Sudan is Juba.", [SUDAN], "not_enough_evidence"),  # Sudan is not South Sudan
        ("The capital of Peru is Lima.", [], "not_enough_evidence"),
    ],
)
def test_heuristic_verdicts(claim, passages, label):
    v = verdict(claim, *passages)
    assert v.label == label, v.reason
    assert v.method == "heuristic"
    if label == "not_enough_evidence":
        assert v.citations == []
    else:
        assert v.citations and v.citations[0].id == passages[0].id and v.citations[0].quote


def test_citations_are_quotes_of_bounded_length():
    long = Passage(id="local:x#0", source="local", title="Peru", text="The capital of Peru is Lima " + "and more " * 80 + ".")
    v = verdict("The capital of Peru is Lima.", long)
    assert v.label == "supported" and len(v.citations[0].quote) <= verdicts_mod.QUOTE_CHARS


def test_numbers_and_names():
    assert [(n.value, n.kind) for n in numbers_in("In 1774, 30,814,175 people; 2.5 million; 15.999")] == [
        (1774.0, "year"), (30814175.0, "number"), (2.5e6, "number"), (15.999, "number")]
    assert names_in("The capital of Peru is Lima. Carl Wilhelm Scheele found it in the Republic of the Congo.") == [
        "peru", "lima", "carl wilhelm scheele", "republic of the congo"]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([], None),
        (["supported"], 1.0),
        (["refuted"], 0.0),
        (["not_enough_evidence"], 0.5),
        (["supported", "refuted"], 1 / 3),
        (["supported", "not_enough_evidence"], 0.75),
        (["not_enough_evidence", "refuted"], 0.5 / 3),
        (["supported", "supported", "refuted"], 2 / 4),
    ],
)
def test_score_hand_computed(labels, expected):
    assert factuality_score(labels) == (None if expected is None else pytest.approx(expected))


def test_refuted_weighs_more_than_unverified():
    assert factuality_score(["supported", "refuted"]) < factuality_score(["supported", "not_enough_evidence"])
    with pytest.raises(ValueError, match="unknown verdict"):
        factuality_score(["maybe"])


def run_llm(monkeypatch, *answers):
    model = scripted(*answers)
    monkeypatch.setattr(verdicts_mod, "build_chat_model", lambda spec: model)
    claim = Claim(id="c1", text="The capital of Peru is Quito.", responses=[0])
    return asyncio.run(llm_verdict(claim, [PERU, OXYGEN], ModelSpec(provider="embedded")))


def test_llm_verdict_cites_given_passages(monkeypatch):
    v, calls = run_llm(monkeypatch, '{"verdict": "refuted", "passage_ids": ["local:peru#0"], "quote": "Its capital is Lima."}')
    assert (v.label, v.method, calls) == ("refuted", "llm", 1)
    assert [c.id for c in v.citations] == ["local:peru#0"] and v.citations[0].quote == "Its capital is Lima."


def test_llm_verdict_citing_unknown_ids_falls_back_to_the_heuristic(monkeypatch):
    v, _ = run_llm(monkeypatch, '{"verdict": "supported", "passage_ids": ["local:made-up#9"]}')
    assert v.method == "heuristic" and v.label == "refuted"  # the heuristic's own reading of PERU
    assert "unknown passage id" in v.fallback


def test_llm_verdict_garbage_falls_back(monkeypatch):
    v, calls = run_llm(monkeypatch, "no idea", "still no idea")
    assert v.method == "heuristic" and "ModelOutputError" in v.fallback and calls == 2
