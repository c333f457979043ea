"""The http (OpenRLHF /get_reward) and served-vLLM backends against a real reward server on
loopback, which scores with the real embedded RM: same numbers as scoring in-process, batching,
concurrency limits, retries, timeouts, and refusals that fail the batch."""

import asyncio
import time

import pytest

from reward_agent.errors import ConfigError
from reward_agent.rm import AutoRM, RMError

PROMPT = "Give me one tip for sleeping better."
RESPONSES = [
    "Keep a regular schedule: go to bed and get up at the same time every day, weekends included.",
    "sleep",
    "Avoid screens for an hour before bed; the light and the stimulation keep you awake.",
    "Drink three espressos at 11 pm.",
    "A cool, dark, quiet bedroom helps most people fall asleep faster.",
]


@pytest.mark.integration  # a real reward server on loopback
def test_openrlhf_protocol_matches_in_process_scores(rm_server, embedded_rm):
    server, stats = rm_server
    stats.reset()
    rm = AutoRM.load(f"{server.url}/get_reward", batch_size=2, max_concurrency=2)
    assert rm.backend == "http"
    out = rm.score_batch(PROMPT, RESPONSES)
    expected = embedded_rm.score_batch(PROMPT, RESPONSES).raw
    assert out.raw == pytest.approx(expected, abs=1e-5)
    assert stats.requests["get_reward"] == 3  # 5 pairs in batches of 2
    assert out.details["batches"] == 3 and out.model_calls == 3
    assert 1 <= stats.max_in_flight <= 2


@pytest.mark.integration  # a real reward server on loopback
def test_concurrency_limit_holds_under_load(rm_server):
    server, stats = rm_server
    stats.reset()
    rm = AutoRM.load(f"{server.url}/get_reward", backend="http", batch_size=1, max_concurrency=3)
    asyncio.run(rm.ascore_batch(PROMPT, RESPONSES * 2))
    assert stats.requests["get_reward"] == 10
    assert stats.max_in_flight == 3  # overlapping requests, but never more than the limit


@pytest.mark.integration  # a real reward server on loopback
def test_retries_ride_out_a_flaky_server(rm_server):
    server, stats = rm_server
    server.app.state.flaky_left["n"] = 2
    stats.reset()
    rm = AutoRM.load(f"{server.url}/flaky/get_reward", retries=2, backoff_s=0.01)
    out = rm.score_batch(PROMPT, RESPONSES[:2])
    assert len(out.raw) == 2 and stats.requests["flaky"] == 3
    server.app.state.flaky_left["n"] = 5
    with pytest.raises(RMError, match="failed after 2 attempt"):
        AutoRM.load(f"{server.url}/flaky/get_reward", retries=1, backoff_s=0.01).score_batch(PROMPT, RESPONSES[:1])
    server.app.state.flaky_left["n"] = 0


@pytest.mark.integration  # a real reward server on loopback
def test_timeouts_and_refusals_fail_the_batch(rm_server):
    server, stats = rm_server
    started = time.perf_counter()
    with pytest.raises(RMError, match="timed out after 0.3 s"):
        AutoRM.load(f"{server.url}/slow/get_reward", timeout_s=0.3, retries=1, backoff_s=0.01).score_batch(PROMPT, ["a"])
    assert time.perf_counter() - started < 1.5
    stats.reset()
    with pytest.raises(RMError, match="refused the request .*HTTP 422"):
        AutoRM.load(f"{server.url}/bad_request/get_reward", retries=3).score_batch(PROMPT, ["a"])
    assert stats.requests["bad_request"] == 1  # a 4xx is not retried
    with pytest.raises(RMError, match="returned 1 rewards for 2 queries"):
        AutoRM.load(f"{server.url}/short/get_reward").score_batch(PROMPT, ["a", "b"])
    with pytest.raises(RMError, match="failed after 1 attempt"):
        AutoRM.load("http://127.0.0.1:9/get_reward", retries=0).score_batch(PROMPT, ["a"])
    with pytest.raises(ConfigError, match="needs model= a URL"):
        AutoRM.load("not-a-url", backend="http")


@pytest.mark.integration  # a real reward server on loopback
def test_vllm_served_pooling_endpoint_chat_and_batched_text(rm_server, embedded_rm):
    server, stats = rm_server
    expected = embedded_rm.score_batch(PROMPT, RESPONSES).raw
    stats.reset()
    chat = AutoRM.load("my-rm", backend="vllm", base_url=f"{server.url}/v1", max_concurrency=2)
    out = chat.score_batch(PROMPT, RESPONSES)
    assert out.raw == pytest.approx(expected, abs=1e-5)
    assert stats.requests["pooling"] == len(RESPONSES)  # one chat request per pair
    stats.reset()
    texts = AutoRM.load("my-rm", backend="vllm", base_url=server.url, chat=False, batch_size=4)
    out = texts.score_batch(PROMPT, RESPONSES)
    assert out.raw == pytest.approx(expected, abs=1e-5)  # per-token rows and shuffled indices handled
    assert stats.requests["pooling"] == 2


def test_vllm_in_process_engine_says_what_is_missing():
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="needs the `vllm` package.*CUDA GPU.*base_url="):
            AutoRM.load("Skywork/Skywork-Reward-Llama-3.1-8B-v0.2", backend="vllm")
    else:  # pragma: no cover - only on a GPU machine with vllm
        pytest.skip("vllm is installed: the in-process engine would load a real model")
