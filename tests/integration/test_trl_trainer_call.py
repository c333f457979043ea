"""The TRL reward function called by TRL itself: a real `GRPOTrainer._calculate_rewards`.

A GRPOTrainer is built around a tiny randomly initialised GPT-2 (no download) and the MiniLM
tokenizer shipped with the embedded RM; then its own `_calculate_rewards` is called with a
batch shaped as `_generate_and_score_completions` makes it: dataset rows as `inputs`, chat
prompts, assistant completions (one of them a tool call with `content: None`, one in content
blocks). TRL passes every dataset column as a keyword, plus `completion_ids`, `trainer_state`,
`log_extra` and `log_metric`; it turns a None reward into NaN.
"""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.integration

CAPS = "Answer in English and in capital letters only: what colour is the sky?"
TOOL_CALL = {"type": "function", "function": {"name": "lookup", "arguments": {"q": "sky colour"}}}


@pytest.fixture(scope="module")
def trainer(tmp_path_factory):
    from datasets import Dataset
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel
    from trl import GRPOConfig, GRPOTrainer

    from reward_agent import RewardContext
    from reward_agent.integrations import make_trl_reward_fn
    from reward_agent.rm.minilm import minilm_path

    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    tokenizer.chat_template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=16, n_layer=1, n_head=2, n_positions=64))
    caps = {"prompt": [{"role": "user", "content": CAPS}], "instruction_id_list": ["change_case:english_capital"],
            "kwargs": [{}], "answer": "BLUE"}
    # The tool-calling row: "use the word none" tells the text "None" (which would pass) from
    # empty text (a blank response follows no constraint, as in IFEval).
    tool = {"prompt": [{"role": "user", "content": "Look it up, and use the word none in your answer."}],
            "instruction_id_list": ["keywords:existence"], "kwargs": [{"keywords": ["none"]}], "answer": "BLUE"}
    rows = [caps, caps, caps, tool]
    # The "answer" column becomes the reference; correctness is left out here (the whole sentence is not
    # the short answer "BLUE"), so the constraint verdicts alone show how the completions were read.
    reward = make_trl_reward_fn(context=RewardContext(disable=("preference", "factuality", "correctness")))
    args = GRPOConfig(output_dir=str(tmp_path_factory.mktemp("grpo")), per_device_train_batch_size=4, num_generations=4,
                      max_completion_length=8, report_to="none", use_cpu=True)
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=args, train_dataset=Dataset.from_list(rows),
                          processing_class=tokenizer)
    return trainer, rows


def test_calculate_rewards_with_tool_calls_and_content_blocks(trainer) -> None:
    trainer, rows = trainer
    inputs = [dict(r) for r in rows]
    prompts = [r["prompt"] for r in inputs]
    completions = [
        [{"role": "assistant", "content": "THE SKY IS BLUE ON A CLEAR DAY, MY FRIEND"}],
        [{"role": "assistant", "content": "The sky is blue on a clear day, my friend"}],
        [{"role": "assistant", "content": [{"type": "text", "text": "THE SKY IS BLUE ON A CLEAR DAY, MY FRIEND"}]}],
        [{"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}],
    ]
    rewards = trainer._calculate_rewards(inputs, prompts, completions, [[1, 2]] * 4)
    got = [float(x) for x in rewards[:, 0]]
    # content blocks read as their text (their repr holds lowercase keys and would fail);
    # a tool-call-only turn said nothing: empty text, which earns nothing (the text "None" would
    # have passed "use the word none")
    assert got == [1.0, 0.0, 1.0, 0.0]
    assert not any(math.isnan(x) for x in got)
