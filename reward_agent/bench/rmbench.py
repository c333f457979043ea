"""RM-Bench accuracy of any reward model (chat, code, ... subsets).

Each item has 3 chosen and 3 rejected responses in three styles (concise, detailed plain,
detailed markdown). acc[i][j] is the share of items where chosen[i] scores above rejected[j];
`hard` is the mean of the strict upper triangle (chosen in a plainer style than rejected),
`normal` the diagonal, `easy` the strict lower triangle, as RM-Bench defines them. A tie counts
as half right. All responses are scored in one batched call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..rm.base import RewardModel

__all__ = ["rmbench_accuracy", "rmbench_from_scores"]


def rmbench_from_scores(chosen: list[list[float]], rejected: list[list[float]]) -> dict[str, Any]:
    """The 3x3 matrix and hard/normal/easy means from per-item chosen/rejected scores."""
    n = len(chosen)
    if n == 0:
        raise ValueError("no RM-Bench items to score")
    k = len(chosen[0])
    matrix = [[0.0] * k for _ in range(k)]
    for c, r in zip(chosen, rejected):
        for i in range(k):
            for j in range(k):
                matrix[i][j] += 1.0 if c[i] > r[j] else 0.5 if c[i] == r[j] else 0.0
    matrix = [[v / n for v in row] for row in matrix]
    upper = [matrix[i][j] for i in range(k) for j in range(k) if j > i]
    lower = [matrix[i][j] for i in range(k) for j in range(k) if j < i]
    diag = [matrix[i][i] for i in range(k)]
    hard, normal, easy = sum(upper) / len(upper), sum(diag) / len(diag), sum(lower) / len(lower)
    return {"items": n, "hard": hard, "normal": normal, "easy": easy, "average": (hard + normal + easy) / 3,
            "matrix": matrix}


def rmbench_accuracy(rm: RewardModel, path: str | Path, limit: int | None = None) -> dict[str, Any]:
    """Score an RM-Bench subset file with `rm`."""
    items = json.loads(Path(path).read_text(encoding="utf-8"))[:limit]
    prompts: list[str] = []
    responses: list[str] = []
    for item in items:
        for text in list(item["chosen"]) + list(item["rejected"]):
            prompts.append(item["prompt"])
            responses.append(text)
    raw = rm.score_batch(prompts, responses).raw
    chosen, rejected = [], []
    offset = 0
    for item in items:
        k, m = len(item["chosen"]), len(item["rejected"])
        chosen.append(raw[offset : offset + k])
        rejected.append(raw[offset + k : offset + k + m])
        offset += k + m
    return {"file": Path(path).name, **rmbench_from_scores(chosen, rejected)}
