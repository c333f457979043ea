"""When the rule-based planner chooses the factuality verifier, and the reason it records."""

import json

import pytest

from reward_agent.context import RewardContext
from reward_agent.planner import plan_by_rules
from reward_agent.types import RewardRequest
from reward_agent.verifiers.factuality.applies import applies, fact_seeking, ready_sources

# (prompt, fact-seeking?)
TABLE = [
    ("What is the capital of Peru?", True),
    ("Who discovered oxygen and when?", True),
    ("When did the Berlin Wall fall?", True),
    ("Where is Mount Kilimanjaro?", True),
    ("Which planet is closest to the sun?", True),
    ("How many bones are in the adult human body?", True),
    ("How much does the Eiffel Tower weigh?", True),
    ("Explain how photosynthesis works.", True),
    ("Define entropy.", True),
    ("Tell me about the history of the printing press.", True),
    ("Give me an overview of the French Revolution.", True),
    ("Is it true that Napoleon was short?", True),
    ("List the noble gases.", True),
    ("In what year did the Titanic sink?", True),
    ("Describe the causes of the First World War.", True),
    ("Summarize the history of Japan.", True),
    ("Write an essay about the history of the printing press.", True),
    ("Write a poem about the ocean.", False),
    ("Write a short story about a dragon who learns to fly.", False),
    ("Imagine you are a pirate and describe your ship.", False),
    ("Compose a haiku about autumn leaves.", False),
    ("Write song lyrics about summer love.", False),
    ("Tell me a joke about cats.", False),
    ("Rewrite the following paragraph in a formal tone: hey whats up", False),
    ("Translate 'good morning' into French.", False),
    ("Paraphrase this sentence: the cat sat on the mat.", False),
    ("Format the following list as a markdown table: a, b, c", False),
    ("Summarize the following text: The meeting is moved to Monday.", False),
    ("Proofread my paragraph please.", False),
    ("Write a letter to your friend who recently moved away, in all capital letters.", False),
    ("Write a funny blog post about the history of socks.", False),
    ("What do you think about pineapple on pizza?", False),
    ("How do I bake sourdough bread at home?", False),
    ("Which is better for sneakers: Prada or Nike?", False),
    ("A colt is 5 feet tall and grows 6 inches a month. How tall will it be in 3 years? Think step-by-step.", False),
    ("Hello!", False),
]


@pytest.mark.parametrize(("prompt", "expected"), TABLE)
def test_fact_seeking_table(prompt, expected):
    chosen, why = fact_seeking(prompt)
    assert chosen is expected, why
    assert why  # the reason is never empty: it goes into the plan


def test_ifeval_prompts_are_rarely_selected(data_dir):
    # IFEval prompts are mostly formatting and creative tasks; a few are real knowledge questions.
    prompts = [json.loads(line)["prompt"] for line in (data_dir / "ifeval" / "input_data.jsonl").read_text().splitlines()]
    share = sum(fact_seeking(p)[0] for p in prompts) / len(prompts)
    assert len(prompts) == 541 and share < 0.15, share
    assert share > 0.02  # and not never: "Who won the defamation case between Amber Heard and Johnny Depp?"


def request(prompt):
    return RewardRequest(prompt=prompt, responses=["x"])


def test_no_evidence_source_means_not_chosen_with_what_to_configure():
    chosen, why = applies(request("What is the capital of Peru?"), RewardContext())
    assert not chosen and "no evidence source is configured" in why and "retrieval.index" in why
    assert ready_sources(RewardContext()) == ([], ["local: no retrieval.index", "web: opt-in (name it in retrieval.sources)"])


def test_chosen_with_a_local_index_and_the_plan_records_why(tmp_path):
    ctx = RewardContext(retrieval={"index": str(tmp_path)})
    plan = plan_by_rules(request("What is the capital of Peru?"), ctx)
    assert "factuality" in plan.verifiers
    assert plan.reasons["factuality"] == "a knowledge question ('what'); evidence from local"
    plan = plan_by_rules(request("Write a poem about Peru."), ctx)
    assert "factuality" not in plan.verifiers and plan.reasons["factuality"].startswith("not chosen: creative")


def test_web_and_llm_sources_count_when_named():
    assert ready_sources(RewardContext(retrieval={"sources": ["web"]})) == (["web"], [])
    assert ready_sources(RewardContext(retrieval={"sources": ["llm"]}))[0] == []
    ctx = RewardContext(retrieval={"sources": ["llm"]}, models={"claims": {"provider": "embedded"}})
    assert ready_sources(ctx) == (["llm"], [])
