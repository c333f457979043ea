"""A constraint id is one file plus one registration line (`constraint_emojis.py`).

Importing that module is enough for the rule library to read the constraint from a prompt
(merged and reconciled by what its checker declares), for the checker to judge responses,
for the constraint verifier to score them, and for the LLM extractor's catalogue to offer it.
"""

from __future__ import annotations

import asyncio
import importlib
import sys

import pytest

from reward_agent.context import RewardContext
from reward_agent.types import ConstraintSpec, RewardRequest
from reward_agent.verifiers.constraints.base import CHECKERS
from reward_agent.verifiers.constraints.checking import run_check
from reward_agent.verifiers.constraints.extract import extract_constraints
from reward_agent.verifiers.constraints.llm_extract import checker_catalogue
from reward_agent.verifiers.constraints.rules import unregister_rules
from reward_agent.verifiers.constraints.verifier import check_constraints

MODULE = "constraint_emojis"
ID = "custom:emoji_count"
PROMPT = "Write a cheer for the team in one line, with at least 2 emojis and no commas."


@pytest.fixture
def exclamations():
    assert ID not in CHECKERS
    module = importlib.import_module(MODULE)  # the one registration line
    try:
        yield module
    finally:
        CHECKERS.unregister(ID)
        unregister_rules(module.RULES)
        sys.modules.pop(MODULE, None)


def _ids(prompt: str) -> list[str]:
    return [c.id for c in extract_constraints(prompt)]


def test_before_registration_the_constraint_is_not_read() -> None:
    assert _ids(PROMPT) == ["punctuation:no_comma"]


def test_one_import_registers_checker_and_rule(exclamations) -> None:
    found = extract_constraints(PROMPT)
    assert [(c.id, c.kwargs, c.text) for c in found] == [
        (ID, {"relation": "at least", "num_emojis": 2}, "at least 2 emojis"),
        ("punctuation:no_comma", {}, "no commas"),
    ]
    assert ID in checker_catalogue()  # the LLM extractor is offered it too
    assert run_check(found[0], "Go team \U0001F389 win \U0001F3C6").followed is True
    assert run_check(found[0], "Go team \U0001F389").followed is False
    assert run_check(ConstraintSpec(id=ID, kwargs={"relation": "at most", "num_emojis": 1}), "x").error


def test_what_the_checker_declares_drives_the_merge(exclamations) -> None:
    # distinct_by=relation: a lower and an upper bound are two constraints
    both = extract_constraints("Use at least 1 emoji and less than 4 emojis.")
    assert [c.kwargs for c in both] == [{"relation": "at least", "num_emojis": 1}, {"relation": "less than", "num_emojis": 4}]
    # bound: of "less than 1" then "at least 3" (contradictory), the later statement stands
    later = extract_constraints("He wrote less than 1 emoji a day. Reply with at least 3 emojis.")
    assert [c.kwargs for c in later] == [{"relation": "at least", "num_emojis": 3}]
    # the same bound stated twice is one constraint
    assert len(extract_constraints("At least 2 emojis. Again: at least 2 emojis.")) == 1


def test_the_verifier_scores_it(exclamations) -> None:
    request = RewardRequest(prompt=PROMPT, responses=["Go team \U0001F389 win \U0001F3C6", "Go team, win \U0001F389", "Go team win"])
    signal = asyncio.run(check_constraints(request, RewardContext()))
    assert signal.status == "ok"
    assert [c["id"] for c in signal.evidence["constraints"]] == [ID, "punctuation:no_comma"]
    assert signal.scores == [1.0, 0.0, 0.5]


def test_unregistering_forgets_it(exclamations) -> None:
    assert ID in _ids(PROMPT)
    unregister_rules(exclamations.RULES)
    assert _ids(PROMPT) == ["punctuation:no_comma"]  # the extraction cache does not hide the change


def test_the_builtin_merge_metadata_is_declared_on_the_checkers() -> None:
    from reward_agent.verifiers.constraints.checkers import IFEVAL_CHECKER_IDS

    specs = [CHECKERS.get(cid) for cid in IFEVAL_CHECKER_IDS]
    assert sorted(s.id for s in specs if s.merged_list) == ["keywords:existence", "keywords:forbidden_words"]
    counted = ["change_case:capital_word_frequency", "keywords:frequency", "keywords:letter_frequency",
               "length_constraints:number_sentences", "length_constraints:number_words"]
    assert sorted(s.id for s in specs if s.bound) == counted
    assert sorted(s.id for s in specs if s.distinct_by) == counted
