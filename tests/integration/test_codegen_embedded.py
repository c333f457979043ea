"""The real embedded model (SmolLM2-135M) as the coder of a free-text constraint, end to end through
`reward_agent.score`.

The verifier's generator (`typed.py`, prompt checker_code_typed.v3) is what runs here. A 135M model
does not write working checkers: with any of the older prompts (checker_code.v1; v2: one
worked example, probes as asserts; v3: three worked examples of different shapes) and sampled repair
rounds it got 0 of 10 constraints through its own self-test in `benchmarks/bench_codegen_embedded.py`
(it copies or merges the worked examples, returns tuples, or writes asserts that contradict each other). So this asserts that the path runs and that the outcome is recorded
honestly (verdicts from a checker that passed its own probes in the sandbox, or a dropped record with
its reason), never that the code is good; the success path is covered with a scripted coder in
tests/unit/test_codegen.py and tests/unit/test_constraints_free_text.py.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from reward_agent import RewardContext, score  # noqa: E402
from reward_agent.llm import ModelSpec  # noqa: E402

pytestmark = pytest.mark.integration

CONSTRAINT = "use exactly three question marks"


def test_embedded_coder_end_to_end(tmp_path) -> None:
    # Small budgets keep this test to one or two short generations on a CPU; the repair loop itself
    # is covered with a scripted model in tests/unit/test_codegen.py.
    coder = ModelSpec(provider="embedded", max_tokens=192)  # its v1 answers are 50-120 tokens
    context = RewardContext(
        models={"coder": coder}, cache_path=str(tmp_path / "cache.sqlite3"), checker_repair_rounds=0,
        verifier_timeout_s=1500, disable=("preference",),
    )
    request = {
        "prompt": "Ask me three questions about the sea.",
        "responses": ["Why is it blue? How deep is it? Who lives there?", "The sea is big."],
        "constraints": [{"id": "free_text", "kwargs": {"text": CONSTRAINT}},
                        {"id": "punctuation:no_comma", "kwargs": {}}],
    }
    result = score(request, context)
    signal = result.signals["constraints"]
    assert signal.status == "ok", signal.error
    (generated,) = signal.evidence["generated_checkers"]
    assert generated["constraint"] == CONSTRAINT and generated["prompt_version"] == "checker_code_typed.v3"
    assert generated["model_calls"] == 1  # one try, no repair round in this context
    assert signal.model_calls == generated["model_calls"] and result.model_calls >= signal.model_calls
    entries = [row[0] for row in signal.evidence["per_response"]]
    if generated["status"] == "ok":
        # The code passed its own probes in the sandbox; its verdicts are recorded as they came.
        assert len(generated["code_sha256"]) == 64 and "def check" in generated["code"]
        assert all(e["outcome"] in {"passed", "failed", "error", "timeout"} for e in entries)
        assert all((e["followed"] is None) == (e["outcome"] in {"error", "timeout"}) for e in entries)
        assert "rlimits" in signal.evidence["sandbox"]["layers"]
    else:
        assert generated["status"] == "dropped" and generated["reason"]
        assert len(generated["attempts"]) == generated["model_calls"]
        assert all(e["followed"] is None and "dropped" in e["error"] for e in entries)
    # The built-in check still decided, whatever the generated one did.
    assert [row[1]["followed"] for row in signal.evidence["per_response"]] == [True, True]
    print(f"\nembedded coder: {generated['status']} after {generated['model_calls']} call(s): "
          f"{generated.get('reason') or generated.get('code_sha256')}")

    # A second epoch over the same prompt (best-of-4 now) generates nothing new.
    again = score({**request, "responses": request["responses"] * 2}, context)
    assert again.signals["constraints"].model_calls == 0
    assert again.signals["constraints"].evidence["generated_checkers"][0]["cached"] is True
