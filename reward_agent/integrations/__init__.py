"""Adapters for RL trainers: TRL reward functions, verl `compute_score`, and the server clients.

OpenRLHF needs no adapter: point `--remote_rm_url` at `http://HOST:PORT/get_reward/<token>` (its
client sends no Authorization header); the server strips the special tokens and chat framing of
its decoded text (`decoded.py`) and reads its labels (`labels.py`).
"""

from __future__ import annotations

from .client import AsyncRewardClient, RewardClient, RewardServerError
from .trl import make_trl_reward_fn
from .verl import compute_score

__all__ = ["AsyncRewardClient", "RewardClient", "RewardServerError", "compute_score", "make_trl_reward_fn"]
