"""OpenRLHF's remote reward-model traffic against a real server on loopback.

The payload is built the way OpenRLHF builds it: the prompt is the chat template applied with
`add_generation_prompt=True`, the query is `decode(prompt_ids + output_ids, skip_special_tokens=False)`
(so every response ends in the end-of-turn token, some padded), and it is posted the way
`openrlhf.utils.remote_rm_utils.request_api_wrapper` posts it: `requests.post(url, json=data,
headers={"Content-Type": "application/json"})`, no Authorization header. The tokenizer and chat
template are the real ones of SmolLM2-135M-Instruct (a ChatML model), read from the embedded
GGUF with llama.cpp (vocabulary only).
"""

from __future__ import annotations

import pytest
import requests
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reward_agent import RewardContext
from reward_agent.serve import ServeSettings, create_app
from reward_agent.serve.background import running_server

pytestmark = pytest.mark.integration

TOKEN = "s3cret"
# Only the deterministic constraint verifier: the verdicts are what this test is about.
CONTEXT = RewardContext(disable=("preference", "factuality"))
PROMPT = 'Describe green tea without using any commas. End your response with "Stay hydrated!"'
RESPONSES = [
    "Green tea tastes fresh and grassy. Stay hydrated!",  # follows both
    "Green tea, fresh and grassy. Stay hydrated!",  # a comma
    "Green tea, fresh and grassy.",  # a comma and the wrong ending
]
CAPS_PROMPT = "Answer in English and in capital letters only: what colour is the sky?"
CAPS_RESPONSES = ["THE SKY IS BLUE ON A CLEAR DAY, MY FRIEND", "The sky is blue on a clear day, my friend"]
CAPS_LABEL = '{"instruction_id_list": ["change_case:english_capital"], "kwargs": [{}]}'


class RealTokenizer:
    """SmolLM2's tokenizer (llama.cpp, vocabulary only) and its chat template (from the GGUF)."""

    def __init__(self) -> None:
        from llama_cpp import Llama

        from reward_agent.llm import embedded_gguf_path

        self.model = Llama(model_path=str(embedded_gguf_path()), vocab_only=True, verbose=False)
        template = self.model.metadata["tokenizer.chat_template"]
        self.template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(template)
        self.eos = self.model.token_eos()
        self.pad = self.model.tokenize(b"<|endoftext|>", add_bos=False, special=True)[0]

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        return self.template.render(messages=messages, add_generation_prompt=True)

    def encode(self, text: str, special: bool) -> list[int]:
        return self.model.tokenize(text.encode(), add_bos=False, special=special)

    def decode(self, ids: list[int]) -> str:  # skip_special_tokens=False
        return self.model.detokenize(ids, special=True).decode()


@pytest.fixture(scope="module")
def tokenizer() -> RealTokenizer:
    return RealTokenizer()


@pytest.fixture(scope="module")
def server() -> str:
    settings = ServeSettings(token=TOKEN, max_responses=4)
    with running_server(create_app(CONTEXT, settings)) as base_url:
        yield base_url


def openrlhf_payload(tok: RealTokenizer, user: str, responses: list[str], labels: list[str], pad: int = 0) -> dict:
    """`{"query", "prompts", "labels"}` as OpenRLHF's experience maker sends them (n samples per prompt)."""
    prompt = tok.apply_chat_template([{"role": "user", "content": user}])
    prompt_ids = tok.encode(prompt, special=True)
    queries = []
    for k, response in enumerate(responses):
        output_ids = tok.encode(response, special=False) + [tok.eos] + [tok.pad] * (pad if k == 0 else 0)
        queries.append(tok.decode(prompt_ids + output_ids))
    return {"query": queries, "prompts": [prompt] * len(responses), "labels": labels}


def request_api_wrapper(url: str, data: dict) -> requests.Response:
    """OpenRLHF's client call: JSON body, Content-Type header, nothing else."""
    return requests.post(url=url, json=data, headers={"Content-Type": "application/json"}, timeout=180)


def bare_scores(server: str, prompt: str, responses: list[str], constraints: list | None = None) -> dict:
    body = {"prompt": prompt, "responses": responses, **({"constraints": constraints} if constraints else {})}
    result = requests.post(server + "/v1/score", json=body, headers={"Authorization": f"Bearer {TOKEN}"}).json()
    return result


def test_responses_ending_in_im_end_get_the_verdicts_of_the_bare_text(server: str, tokenizer: RealTokenizer) -> None:
    data = openrlhf_payload(tokenizer, PROMPT, RESPONSES, [""] * 3, pad=2)
    assert all(q.endswith("<|im_end|>") or q.endswith("<|endoftext|>") for q in data["query"])
    assert data["prompts"][0].startswith("<|im_start|>system\n")  # the template's default system turn
    reply = request_api_wrapper(f"{server}/get_reward/{TOKEN}", data)
    assert reply.status_code == 200, reply.text
    out = reply.json()

    want = bare_scores(server, PROMPT, RESPONSES)
    assert want["rewards"] == [1.0, 0.5, 0.0]  # the verdicts are not all alike
    assert out["rewards"] == want["rewards"]
    assert out["extra_logs"]["constraints_score"] == want["signals"]["constraints"]["scores"]
    assert out["extra_logs"]["reward_missing"] == [0.0, 0.0, 0.0]
    # what was stripped is reported: the end-of-turn token, and the padding of the first sample
    assert out["stripped"][0]["format"] == "chatml" and out["stripped"][0]["response_tokens"] == {"<|im_end|>": 1, "<|endoftext|>": 2}
    assert out["stripped"][1]["response_tokens"] == {"<|im_end|>": 1}
    assert out["extra_logs"]["special_tokens_stripped"] == [3.0, 1.0, 1.0]

    # The same raw responses scored as they arrive (tokens kept) get other verdicts: what the
    # stripping prevents.
    raw = [q[len(data["prompts"][0]):] for q in data["query"]]
    assert bare_scores(server, PROMPT, raw)["rewards"] != want["rewards"]


def test_without_prompts_the_query_framing_splits_it(server: str, tokenizer: RealTokenizer) -> None:
    data = openrlhf_payload(tokenizer, PROMPT, RESPONSES, [""] * 3)
    del data["prompts"]  # older OpenRLHF clients send only the queries
    out = request_api_wrapper(f"{server}/get_reward?token={TOKEN}", data).json()
    assert out["rewards"] == bare_scores(server, PROMPT, RESPONSES)["rewards"]
    assert out["stripped"][0]["split"] == "chatml framing of the query"


def test_json_labels_are_constraints_and_capitals_survive_the_end_token(server: str, tokenizer: RealTokenizer) -> None:
    data = openrlhf_payload(tokenizer, CAPS_PROMPT, CAPS_RESPONSES, [CAPS_LABEL] * 2)
    out = request_api_wrapper(f"{server}/get_reward/{TOKEN}", data).json()
    assert out["rewards"] == [1.0, 0.0]  # "<|im_end|>" has lowercase letters: kept, the first would fail


def test_json_answers_stay_json(server: str, tokenizer: RealTokenizer) -> None:
    label = '[{"id": "detectable_format:json_format"}]'
    data = openrlhf_payload(tokenizer, "Give the colour of the sky as JSON.", ['{"colour": "blue"}', "blue"], [label] * 2, pad=2)
    out = request_api_wrapper(f"{server}/get_reward/{TOKEN}", data).json()
    assert out["rewards"] == [1.0, 0.0]  # '{"colour": "blue"}<|im_end|><|endoftext|>...' is not JSON


def test_samples_of_one_prompt_are_scored_as_one_group(server: str, tokenizer: RealTokenizer) -> None:
    # Two prompts x n samples in one call, interleaved with labels as OpenRLHF repeats them.
    first = openrlhf_payload(tokenizer, PROMPT, RESPONSES, [""] * 3)
    second = openrlhf_payload(tokenizer, CAPS_PROMPT, CAPS_RESPONSES, [CAPS_LABEL] * 2)
    data = {key: first[key] + second[key] for key in ("query", "prompts", "labels")}
    out = request_api_wrapper(f"{server}/get_reward/{TOKEN}", data).json()
    assert out["rewards"] == bare_scores(server, PROMPT, RESPONSES)["rewards"] + [1.0, 0.0]
    # more samples of one prompt than the server takes per request: refused, naming the limit
    many = openrlhf_payload(tokenizer, PROMPT, RESPONSES + RESPONSES[:2], [""] * 5)
    refused = request_api_wrapper(f"{server}/get_reward/{TOKEN}", many)
    assert refused.status_code == 413 and "the limit is 4" in refused.json()["detail"]


def test_auth_modes_the_client_can_use(server: str, tokenizer: RealTokenizer) -> None:
    data = openrlhf_payload(tokenizer, PROMPT, RESPONSES[:1], [""])
    assert request_api_wrapper(f"{server}/get_reward", data).status_code == 401  # no header, no URL token
    assert request_api_wrapper(f"{server}/get_reward/wrong", data).status_code == 401
    assert request_api_wrapper(f"{server}/get_reward?token=wrong", data).status_code == 401
    assert request_api_wrapper(f"{server}/get_reward/{TOKEN}", data).json()["rewards"] == [1.0]
    assert request_api_wrapper(f"{server}/get_reward?token={TOKEN}", data).json()["rewards"] == [1.0]
    # the URL token opens /get_reward only
    assert requests.post(f"{server}/v1/score?token={TOKEN}", json={"prompt": PROMPT, "responses": ["x"]}).status_code == 401


def test_url_token_stays_out_of_the_access_log(tmp_path) -> None:
    """`reward-agent serve --log-level info` logs every request line; the token is cut out first."""
    import os
    import subprocess
    import sys
    import time

    from reward_agent.serve.background import free_port

    port = free_port()
    env = {**os.environ, "REWARD_AGENT_TOKEN": "tok-8c1f", "REWARD_AGENT_DISABLE": "preference,factuality"}
    log = tmp_path / "serve.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "reward_agent.cli", "serve", "--port", str(port), "--log-level", "info"],
                                env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if requests.get(url + "/ready", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        body = {"query": ["Use no commas. a b"], "prompts": ["Use no commas."], "labels": [""]}
        assert request_api_wrapper(f"{url}/get_reward/tok-8c1f", body).json()["rewards"] == [1.0]
        assert request_api_wrapper(f"{url}/get_reward?token=tok-8c1f&run=7", body).json()["rewards"] == [1.0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = log.read_text()
    assert '"POST /get_reward HTTP/1.1" 200' in text and '"POST /get_reward?run=7 HTTP/1.1" 200' in text
    assert "tok-8c1f" not in text
