"""OpenRLHF: `reward-agent serve` as the remote reward model, fed OpenRLHF's own traffic.

    python examples/trainers/openrlhf_remote_rm.py

For training:

    REWARD_AGENT_TOKEN=s3cret reward-agent serve --port 5000
    # OpenRLHF sends no Authorization header: the token goes in the URL
    ... --remote_rm_url http://127.0.0.1:5000/get_reward/s3cret --label_key <your label column>

OpenRLHF posts `{"query", "prompts", "labels"}` where each query is the chat-templated prompt
plus the generated text, special tokens kept. The server strips them (and the template's
framing), reads string labels as reference answers and JSON labels with constraints as
constraints, scores a prompt's samples together, and says per query what it removed.
"""

import requests

from reward_agent import RewardContext
from reward_agent.serve import ServeSettings, create_app
from reward_agent.serve.background import running_server

prompt = ("<|im_start|>user\nDescribe green tea without using any commas. "
          'End your response with "Stay hydrated!"<|im_end|>\n<|im_start|>assistant\n')
responses = ["Green tea tastes fresh and grassy. Stay hydrated!", "Green tea, fresh and grassy. Stay hydrated!"]
data = {  # what openrlhf.utils.remote_rm_utils sends, n_samples_per_prompt = 2
    "query": [prompt + r + "<|im_end|>" for r in responses],
    "prompts": [prompt, prompt],
    "labels": ["", ""],  # no label column: OpenRLHF sends empty strings
}

app = create_app(RewardContext(disable=("preference", "factuality")), ServeSettings(token="s3cret"))
with running_server(app) as url:
    reply = requests.post(f"{url}/get_reward/s3cret", json=data, headers={"Content-Type": "application/json"})
    out = reply.json()
print("rewards:", out["rewards"])
print("stripped from the first response:", out["stripped"][0]["response_tokens"])
assert out["rewards"] == [1.0, 0.5] and out["stripped"][0]["response_tokens"] == {"<|im_end|>": 1}
