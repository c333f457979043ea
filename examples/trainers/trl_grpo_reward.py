"""TRL: reward-agent as a GRPO reward function, called the way GRPOTrainer calls it.

    python examples/trainers/trl_grpo_reward.py

In training: GRPOTrainer(model=..., reward_funcs=[reward_fn], train_dataset=ds, ...), where ds
has a chat `prompt` column and, optionally, IFEval-style `instruction_id_list`/`kwargs` columns
or a `reference`/`answer` column. Here the trainer's call is made by hand (as
`GRPOTrainer._calculate_rewards` makes it) so the example runs in seconds, offline.
"""

from reward_agent import RewardContext
from reward_agent.integrations import make_trl_reward_fn

# Constraint verdicts only, so the numbers are exact (drop `context=` to add the preference RM;
# pass url="http://127.0.0.1:8000" to score through `reward-agent serve` instead).
reward_fn = make_trl_reward_fn(context=RewardContext(disable=("preference", "factuality")))

prompt = [{"role": "user", "content": "Answer in English and in capital letters only: what colour is the sky?"}]
completions = [
    [{"role": "assistant", "content": "THE SKY IS BLUE ON A CLEAR DAY, MY FRIEND"}],
    [{"role": "assistant", "content": "The sky is blue on a clear day, my friend"}],
    [{"role": "assistant", "content": [{"type": "text", "text": "THE SKY IS BLUE ON A CLEAR DAY, MY FRIEND"}]}],
    [{"role": "assistant", "content": None,
      "tool_calls": [{"type": "function", "function": {"name": "lookup", "arguments": {"q": "sky"}}}]}],
]
rewards = reward_fn(
    prompts=[prompt] * 4,
    completions=completions,
    completion_ids=[[0]] * 4,  # TRL passes these; unused
    trainer_state=None,  # likewise (and log_extra, log_metric)
    instruction_id_list=[["change_case:english_capital"]] * 4,  # dataset columns, one entry per sample
    kwargs=[[{}]] * 4,
)
print("rewards:", rewards)  # content blocks read as text; a tool-call-only turn is empty text
assert rewards == [1.0, 0.0, 1.0, 0.0]
