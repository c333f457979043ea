"""verl: reward-agent's compute_score, loaded by path the way verl loads a custom reward function.

    python examples/trainers/verl_compute_score.py

In a verl config:

    custom_reward_function.path=<site-packages>/reward_agent/integrations/verl.py
    custom_reward_function.name=compute_score

(`python -c "import reward_agent.integrations.verl as m; print(m.__file__)"` prints the path.)
"""

import importlib.util
import os
import sys

import numpy as np

import reward_agent.integrations.verl as verl_adapter

os.environ["REWARD_AGENT_DISABLE"] = "preference,factuality"  # constraint verdicts only: exact numbers

# verl's loader (verl/trainer/ppo/reward.py, get_custom_reward_fn), step by step
spec = importlib.util.spec_from_file_location("custom_module", verl_adapter.__file__)
module = importlib.util.module_from_spec(spec)
sys.modules["custom_module"] = module
spec.loader.exec_module(module)
compute_score = module.compute_score

no_commas = {"instruction_id_list": np.array(["punctuation:no_comma"], dtype=object),  # as read from parquet
             "kwargs": np.array([{}], dtype=object)}

# 1. the three-argument call: no prompt, the ground truth decides
print(compute_score("ifeval", "green tea is calm", no_commas))
# 2. the reward manager's call, with the prompt in extra_info
print(compute_score(data_source="ifeval", solution_str="green tea, calm", ground_truth=no_commas,
                    extra_info={"prompt": "Describe green tea without commas.", "index": 0}))
# 3. the reward loop's call, with keywords reward-agent does not need
print(compute_score(data_source="ifeval", solution_str="green tea is calm", ground_truth=no_commas,
                    extra_info=None, reward_router_address="127.0.0.1:8000"))
assert compute_score("ifeval", "green tea is calm", no_commas) == {"score": 1.0, "reward_missing": False}
