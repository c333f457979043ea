"""The compiled LangGraph graph end to end: planning, parallel verifiers, failures as data, judging."""

import asyncio

import pytest
from pydantic import ValidationError

from reward_agent import build_graph, score
from reward_agent.context import RewardContext
from reward_agent.errors import UnknownIdError
from reward_agent.types import RewardRequest, Signal
from reward_agent.verifiers.base import VERIFIERS, VerifierSpec, register_verifier

NO_COMMA = {"id": "punctuation:no_comma", "kwargs": {}}
LOWER = {"id": "change_case:english_lowercase", "kwargs": {}}
# The constraint logic tested here is checked with the preference RM switched off, so rewards
# are the constraint scores alone; tests/rm/test_preference_verifier.py covers the two together.
NO_RM = RewardContext(disable=("preference",))


def request(**kw):
    base = {"prompt": "Describe tea.", "responses": ["green tea is calm", "Black tea, strong."]}
    return base | kw


def test_constraints_from_request_drive_the_reward():
    result = score(request(constraints=[NO_COMMA, LOWER]), NO_RM)
    assert result.plan.verifiers == ["constraints"]
    sig = result.signals["constraints"]
    assert sig.status == "ok" and sig.scores == [1.0, 0.0]
    assert result.rewards == [1.0, 0.0] and result.best_index == 0
    assert sig.evidence["source"] == "request"
    assert sig.evidence["per_response"][1] == [
        {"id": "punctuation:no_comma", "followed": False, "checked_by": "builtin"},
        {"id": "change_case:english_lowercase", "followed": False, "checked_by": "builtin"},
    ]


def test_constraints_extracted_from_the_prompt():
    result = score({"prompt": "Describe tea in all lowercase letters, without any commas.",
                    "responses": ["green tea is calm", "Green tea, calm."]}, NO_RM)
    sig = result.signals["constraints"]
    assert sig.evidence["source"] == "rules"
    assert {c["id"] for c in sig.evidence["constraints"]} == {"punctuation:no_comma", "change_case:english_lowercase"}
    assert result.rewards == [1.0, 0.0]


def test_planner_skips_constraints_when_none_are_stated():
    result = score({"prompt": "What is the capital of France?", "responses": ["Paris."]}, NO_RM)
    assert result.plan.verifiers == []
    assert "not chosen" in result.plan.reasons["constraints"]
    assert result.rewards == [None] and result.best_index is None
    assert result.notes
    # With the preference RM on (the default), it alone decides.
    result = score({"prompt": "What is the capital of France?", "responses": ["Paris."]})
    assert result.plan.verifiers == ["preference"]
    assert result.rewards == result.signals["preference"].scores and 0 < result.rewards[0] < 1


def test_an_erroring_check_is_missing_evidence_not_a_verdict():
    # A bad argument makes one check error: the score uses the other constraint only.
    bad = {"id": "length_constraints:number_words", "kwargs": {"relation": "roughly", "num_words": 3}}
    result = score(request(constraints=[NO_COMMA, bad]))
    sig = result.signals["constraints"]
    assert sig.scores == [1.0, 0.0]
    assert sig.evidence["check_errors"] == 2
    assert "relation" in sig.evidence["per_response"][0][1]["error"]


@pytest.fixture
def extra_verifiers():
    """Register a verifier that raises, one that hangs and one that scores; remove them after."""

    async def boom(req, ctx):
        raise RuntimeError("evidence source exploded")

    async def hang(req, ctx):
        await asyncio.sleep(30)

    async def length(req, ctx):
        longest = max(len(r) for r in req.responses)
        return Signal(verifier="length", status="ok", scores=[len(r) / longest for r in req.responses])

    def always(req, ctx):
        return True, "test verifier"

    specs = [
        VerifierSpec(id="boom", description="raises", node="check_boom", run=boom, applies=always),
        VerifierSpec(id="hang", description="hangs", node="check_hang", run=hang, applies=always),
        VerifierSpec(id="length", description="longer is better", node="score_length", run=length, applies=always),
    ]
    for spec in specs:
        register_verifier(spec)
    yield build_graph()
    for spec in specs:
        VERIFIERS.unregister(spec.id)


@pytest.mark.parametrize("use_async", [False, True])
def test_failing_and_hanging_verifiers_become_failed_signals(extra_verifiers, use_async):
    graph = extra_verifiers
    ctx = RewardContext(verifier_timeout_s=0.5, disable=("preference",))
    inp = {"request": request(constraints=[NO_COMMA])}
    out = asyncio.run(graph.ainvoke(inp, context=ctx)) if use_async else graph.invoke(inp, context=ctx)
    result = out["result"]
    assert set(result.plan.verifiers) == {"constraints", "boom", "hang", "length"}
    assert result.signals["boom"].status == "failed"
    assert "RuntimeError: evidence source exploded" in result.signals["boom"].error
    assert result.signals["hang"].status == "failed" and "timed out" in result.signals["hang"].error
    # Renormalised over the two signals present: constraints [1, 0] and length.
    lengths = result.signals["length"].scores
    assert result.rewards == pytest.approx([(1.0 + lengths[0]) / 2, (0.0 + lengths[1]) / 2])
    assert set(result.weights) == {"constraints", "length"}


@pytest.mark.parametrize("use_async", [False, True])
def test_a_lone_failing_verifier_still_yields_a_result(extra_verifiers, use_async):
    # The failed node's error handler must route to the judge itself: with no sibling
    # verifier succeeding, nothing else would trigger it.
    inp = {"request": request(verifiers=["boom"], disable=["hang", "length", "constraints", "preference"])}
    graph = extra_verifiers
    out = asyncio.run(graph.ainvoke(inp)) if use_async else graph.invoke(inp)
    result = out["result"]
    assert result.signals["boom"].status == "failed"
    assert result.rewards == [None, None] and result.notes


def test_request_can_force_and_disable(extra_verifiers):
    graph = extra_verifiers
    out = graph.invoke({"request": request(constraints=[NO_COMMA], disable=["boom", "hang", "constraints", "preference"])})
    result = out["result"]
    assert result.plan.verifiers == ["length"]
    assert result.plan.reasons["constraints"] == "disabled by the request"


def test_unknown_forced_verifier_is_a_clear_error():
    with pytest.raises(UnknownIdError, match="did you mean 'constraints'|Did you mean 'constraints'"):
        score(request(verifiers=["constraint"]))


def test_bad_input_raises_validation_error_naming_the_field():
    with pytest.raises(ValidationError, match="responses"):
        score({"prompt": "p", "responses": []})


def test_verifier_registered_after_build_is_reported(extra_verifiers):
    graph = build_graph([VERIFIERS.get("constraints")])
    with pytest.raises(Exception, match="registered after this graph was built"):
        graph.invoke({"request": request()})


def test_sync_and_async_agree():
    req = RewardRequest.model_validate(request(constraints=[NO_COMMA, LOWER]))
    graph = build_graph()
    a = graph.invoke({"request": req})["result"]
    b = asyncio.run(graph.ainvoke({"request": req}))["result"]
    assert a.rewards == b.rewards and a.signals["constraints"].evidence == b.signals["constraints"].evidence


def test_judger_choice_is_recorded():
    result = score(request(constraints=[NO_COMMA, LOWER]), RewardContext(judger="gated"))
    assert result.judger == "gated"
    result = score(request(constraints=[NO_COMMA]), RewardContext(weights={"constraints": 2.0}))
    assert result.weights == {"constraints": 2.0, "preference": 1.0}


def test_the_judgers_model_calls_are_recorded_on_the_result(monkeypatch):
    import json

    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from reward_agent import judger as judger_mod
    from reward_agent.batch.scoring import result_row
    from reward_agent.llm import ModelSpec
    from reward_agent.types import RewardResult

    # Two responses: one pair, judged in both orders -> two judge calls.
    judge = GenericFakeChatModel(messages=iter([AIMessage(content='{"winner": "A", "reason": "r"}')] * 2))
    monkeypatch.setattr(judger_mod, "build_chat_model", lambda spec: judge)
    context = RewardContext(judger="llm", disable=("preference",), models={"judge": ModelSpec(provider="embedded")})
    result = score(request(constraints=[NO_COMMA]), context)
    assert result.judger == "llm" and result.judger_model_calls == 2
    parts = result.plan.model_calls + sum(s.model_calls for s in result.signals.values())
    assert result.model_calls == parts + 2
    assert result_row(result)["model_calls"]["judger"] == 2
    # In-process only: the result's JSON and its schema keep their shape.
    assert "judger_model_calls" not in json.loads(result.model_dump_json())
    assert "judger_model_calls" not in RewardResult.model_json_schema()["properties"]
    # Judgers that call no model record none.
    assert score(request(constraints=[NO_COMMA]), NO_RM).judger_model_calls == 0
