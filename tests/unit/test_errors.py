"""The error classes carry what a failed model call cost as a typed field (`model_calls`)."""

from __future__ import annotations

import pickle

import pytest

from reward_agent.errors import ModelCallError, ModelOutputError, RewardAgentError


def test_an_output_error_costs_at_least_the_answer_it_carries() -> None:
    assert ModelOutputError("bad shape", raw="{").model_calls == 1
    exc = ModelOutputError("bad shape", raw="{", model_calls=3)
    assert exc.model_calls == 3 and exc.raw == "{" and str(exc) == "bad shape"
    with pytest.raises(ValueError, match="at least one answered call"):
        ModelOutputError("bad shape", raw="", model_calls=0)


def test_a_call_error_may_cost_nothing() -> None:
    assert ModelCallError("connection refused").model_calls == 0
    assert ModelCallError("down in the repair round", model_calls=1).model_calls == 1
    with pytest.raises(ValueError, match="0 or more"):
        ModelCallError("down", model_calls=-1)
    assert isinstance(ModelCallError("x"), RewardAgentError)


@pytest.mark.parametrize("exc", [ModelOutputError("bad", raw="raw text", model_calls=2),
                                 ModelCallError("down", model_calls=1)])
def test_the_cost_survives_pickling(exc: RewardAgentError) -> None:
    # A worker process (Ray, a pool) hands its errors back pickled: the cost must come with them.
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc) and str(back) == str(exc)
    assert back.model_calls == exc.model_calls  # type: ignore[attr-defined]
    if isinstance(exc, ModelOutputError):
        assert isinstance(back, ModelOutputError) and back.raw == exc.raw
