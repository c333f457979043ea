"""verl's custom reward function, loaded and called the way verl loads and calls it.

verl (`verl/trainer/ppo/reward.py`, `get_custom_reward_fn`) loads `custom_reward_function.path`
with `importlib.util.spec_from_file_location("custom_module", path)`, registers it in
`sys.modules`, executes it, and wraps the function so `reward_kwargs` from the config are merged
into every call. Its reward managers call `compute_score(data_source=..., solution_str=...,
ground_truth=..., extra_info=...)`; its reward loop adds keywords such as
`reward_router_address`. Ground truths come from parquet through pandas, so they may be numpy.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import reward_agent.integrations.verl as verl_module

NO_COMMA = {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}


def load_like_verl(path: str, name: str = "compute_score", reward_kwargs: dict | None = None):
    """verl's loader, step by step (module name, sys.modules entry, kwargs merge)."""
    spec = importlib.util.spec_from_file_location("custom_module", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom_module"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise RuntimeError(f"Error loading module from '{path}': {exc}") from exc
    raw_fn = getattr(module, name)
    extra = dict(reward_kwargs or {})

    def wrapped(*args, **kwargs):
        return raw_fn(*args, **{**kwargs, **extra})

    return wrapped


@pytest.fixture
def compute_score(monkeypatch: pytest.MonkeyPatch):
    # Constraint verdicts only: the preference model is switched off so scores are exact.
    monkeypatch.setenv("REWARD_AGENT_DISABLE", "preference,factuality")
    monkeypatch.delenv("REWARD_AGENT_URL", raising=False)
    fn = load_like_verl(verl_module.__file__)
    yield fn
    sys.modules.pop("custom_module", None)


def test_file_loads_by_path_outside_the_package() -> None:
    path = Path(verl_module.__file__)
    assert "from ." not in path.read_text(encoding="utf-8")  # relative imports fail under spec_from_file_location
    fn = load_like_verl(str(path))
    assert callable(fn)


def test_three_positional_arguments(compute_score) -> None:
    # data_source, solution_str, ground_truth: no prompt anywhere; the constraints in the ground truth decide
    assert compute_score("ifeval", "tea, tea", NO_COMMA) == {"score": 0.0, "reward_missing": False}
    assert compute_score("ifeval", "tea and tea", NO_COMMA) == {"score": 1.0, "reward_missing": False}
    out = compute_score("openai/gsm8k", "She sold 72 clips. #### 72", "72")  # a reference only: no raise
    assert set(out) == {"score", "reward_missing"} and isinstance(out["score"], float)


def test_reward_manager_keywords_with_extra_info(compute_score) -> None:
    out = compute_score(data_source="ifeval", solution_str="tea, tea", ground_truth=NO_COMMA,
                        extra_info={"prompt": "Say tea twice.", "index": 3, "split": "train"})
    assert out == {"score": 0.0, "reward_missing": False}
    # the prompt as a chat list (verl datasets keep it so), read from extra_info
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say tea twice without commas."}]
    request = verl_module.build_request("tea tea", None, {"prompt": np.array(chat, dtype=object)})
    assert [m.role for m in request.messages] == ["system", "user"]
    assert compute_score(data_source="ifeval", solution_str="tea, tea", ground_truth=None,
                         extra_info={"prompt": chat}) == {"score": 0.0, "reward_missing": False}


def test_reward_loop_keywords_are_accepted(compute_score) -> None:
    out = compute_score(data_source="ifeval", solution_str="tea tea", ground_truth=NO_COMMA, extra_info=None,
                        reward_router_address="127.0.0.1:9999", reward_model_tokenizer=object())
    assert out == {"score": 1.0, "reward_missing": False}
    with_config_kwargs = load_like_verl(verl_module.__file__, reward_kwargs={"missing_score": -1.0})
    assert with_config_kwargs("x", "anything", None, extra_info={"prompt": "hi"}) == {"score": -1.0, "reward_missing": True}


def test_numpy_ground_truths(compute_score) -> None:
    as_parquet = {"instruction_id_list": np.array(["punctuation:no_comma"], dtype=object),
                  "kwargs": np.array([{"unused": None}], dtype=object)}
    assert compute_score("ifeval", "tea, tea", as_parquet) == {"score": 0.0, "reward_missing": False}
    assert verl_module.build_request("72", np.int64(72), None).reference == "72"
    assert verl_module.build_request("72", np.array(["72"]), None).reference == "72"
    assert verl_module.build_request("x", np.str_("Paris"), {"question": "Capital of France?"}).reference == "Paris"


def test_without_a_prompt_the_preference_model_is_left_out() -> None:
    request = verl_module.build_request("x", "72", None)
    assert request.prompt == verl_module.NO_PROMPT and request.disable == ["preference"] and request.reference == "72"
    with_prompt = verl_module.build_request("x", "72", {"question": "How many?"})
    assert with_prompt.prompt == "How many?" and with_prompt.disable == []
