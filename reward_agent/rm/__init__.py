"""Reward models behind one protocol: `AutoRM.load(model, backend=..., **options)`.

    from reward_agent.rm import AutoRM
    rm = AutoRM.load()                                   # the embedded default (offline, CPU)
    rm = AutoRM.load("Skywork/Skywork-Reward-Llama-3.1-8B-v0.2", backend="transformers", device="cuda")
    rm = AutoRM.load("http://127.0.0.1:5000/get_reward")  # OpenRLHF-style server
    out = rm.score_batch("What is 2+2?", ["4", "5"])    # one prompt, N responses, one call
    out.raw, out.scores, out.normalisation

Backends: embedded, transformers, http, vllm, generative, custom, ensemble, prm, ray_serve (see `auto.py`).
Names are imported lazily, so `import reward_agent.rm` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AutoRM",
    "BACKENDS",
    "CachedRM",
    "EnsembleRM",
    "Normalisation",
    "RMError",
    "RMItem",
    "RMOutput",
    "RMSpec",
    "RawScores",
    "RewardModel",
    "StepRM",
    "load_rm",
    "normalise",
    "register_backend",
]

_WHERE = {
    "AutoRM": "auto", "BACKENDS": "auto", "load_rm": "auto", "register_backend": "auto",
    "CachedRM": "cached", "EnsembleRM": "ensemble", "StepRM": "prm",
    "Normalisation": "normalise", "normalise": "normalise", "RMSpec": "spec",
    "RMError": "base", "RMItem": "base", "RMOutput": "base", "RawScores": "base", "RewardModel": "base",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
