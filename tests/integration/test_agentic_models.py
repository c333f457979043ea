"""The agentic path with the real Qwen2.5-Coder GGUF models, run in-process by llama.cpp.

`make setup` assembles and verifies both models (`reward-agent models pull`); a missing model is a
failure here, not a skip. Greedy decoding on the same machine is deterministic, so these assertions
are stable; a change that breaks them changed what the model is asked or how its answer is used.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from typer.testing import CliRunner  # noqa: E402

from reward_agent.cli import app  # noqa: E402
from reward_agent.llm import ModelSpec, build_chat_model  # noqa: E402
from reward_agent.models import status  # noqa: E402
from reward_agent.structured import invoke_structured  # noqa: E402
from reward_agent.verifiers.constraints.llm_extract import ExtractionAnswer, extract_with_llm  # noqa: E402

pytestmark = pytest.mark.integration

SMALL = ModelSpec(provider="llamacpp", model="qwen2.5-coder-0.5b", max_tokens=256)
PROMPT = "Begin your reply with the word 'Primary'. Describe a school day in under 50 words."


def test_both_coder_models_are_assembled_and_verified() -> None:
    for name in ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"):
        assert status(name).state == "verified", f"{name}: run `make setup` (reward-agent models pull {name})"


def test_structured_calls_are_grammar_constrained() -> None:
    # Without a grammar a 0.5B model often answers prose or a wrong shape and needs repair rounds;
    # decoding under the schema's grammar makes the first answer valid by construction.
    answer = invoke_structured(build_chat_model(SMALL), [("user", PROMPT)], ExtractionAnswer, repair_rounds=0)
    assert answer.model_calls == 1 and isinstance(answer.value, ExtractionAnswer)
    json.loads(answer.raw)  # the raw text itself is JSON, nothing around it


def test_extraction_runs_the_rules_first_and_keeps_only_grounded_additions() -> None:
    extraction = asyncio.run(extract_with_llm(PROMPT, SMALL))
    assert extraction.model_calls == 1 and extraction.prompt_version == "constraint_extract.v2"
    ids = [c.id for c in extraction.constraints]
    assert ids[0] == "length_constraints:number_words"  # the rule hit comes first, untouched
    for constraint in extraction.constraints[1:]:
        assert constraint.source == "llm" and constraint.text and constraint.text.lower() in PROMPT.lower()


def test_agentic_score_checks_a_constraint_no_builtin_covers(tmp_path) -> None:
    """Done-when of the agentic path: a free-text constraint becomes a sandboxed generated checker
    (written by the 1.5B) whose verdicts rank a following response above a violating one, offline."""
    result = CliRunner().invoke(app, [
        "score", "--profile", "agentic", "--json",
        "-p", "Write one sentence about colours.",
        "-c", 'free_text={"text": "Begin your reply with the word \'Primary\'."}',
        "-r", "Primary colours are red, blue and yellow.",
        "-r", "The primary colours are red, blue and yellow.",
    ], env={"REWARD_AGENT_CACHE": str(tmp_path), "REWARD_AGENT_MODELS": str(status("qwen2.5-coder-1.5b").path.parent)})
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    signal = out["signals"]["constraints"]
    (generated,) = signal["evidence"]["generated_checkers"]
    assert generated["status"] == "ok" and "def check" in generated["code"]
    assert [row[0]["followed"] for row in signal["evidence"]["per_response"]] == [True, False]
    assert all(row[0]["checked_by"] == "generated" for row in signal["evidence"]["per_response"])
    assert out["rewards"][0] > out["rewards"][1] and out["best_index"] == 0
    assert "static_gate" in signal["evidence"]["sandbox"]["layers"]  # the verdicts came out of the sandbox
