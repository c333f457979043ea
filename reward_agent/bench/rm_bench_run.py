"""`reward-agent bench rm-bench`: RM-Bench through the whole reward graph.

Each item has 3 chosen and 3 rejected responses in three styles (concise, detailed plain, detailed
markdown). All six are rewarded in ONE request (N=6), in an order shuffled per item with a recorded
seed (an LLM judger must not learn that chosen answers come first); the row stores the order and
the rewards mapped back to chosen/rejected.

Metrics follow RM-Bench's reference `compute_accuracy` (THU-KEG/RM-Bench, scripts/utils.py):
acc[i][j] = share of items where chosen[i] > rejected[j], strictly, so a tie counts as wrong;
hard = mean of the strict upper triangle (chosen plainer than rejected), normal = the diagonal,
easy = the strict lower triangle; computed per domain (the file's name, or an item's `domain`).
`tie_credit=0.5` gives the half-credit variant `rmbench.rmbench_from_scores` uses. A missing
reward (no verifier had evidence, or the item failed) never wins a comparison, and is counted.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..batch.runner import error_fields
from ..context import RewardContext
from ..errors import ConfigError
from ..jsonl import read_json_list
from ..types import RewardRequest

__all__ = ["load_rmbench", "make_rmbench_work", "rmbench_matrix", "rmbench_metrics", "STYLES"]

STYLES = ("concise", "detailed", "markdown")


def _files(data: Path) -> list[Path]:
    if data.is_dir():
        files = sorted(data.glob("*.json"))
        if not files:
            raise ConfigError(f"--data {str(data)!r} holds no *.json RM-Bench files")
        return files
    if not data.is_file():
        raise ConfigError(f"--data {str(data)!r} is neither a file nor a directory")
    return [data]


def load_rmbench(data: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """(id, item) pairs from an RM-Bench file or a folder of them; id = "domain/item id"."""
    items: list[tuple[str, dict[str, Any]]] = []
    for path in _files(Path(data)):
        records = read_json_list(path, "RM-Bench items", error=ConfigError)
        for n, rec in enumerate(records):
            try:
                chosen, rejected = list(rec["chosen"]), list(rec["rejected"])
                prompt = rec["prompt"]
                rid = rec.get("id", n)
            except (KeyError, TypeError) as exc:
                raise ConfigError(f"{path}: item {n} is not an RM-Bench item (missing {exc})") from None
            if len(chosen) != 3 or len(rejected) != 3:
                raise ConfigError(f"{path}: item {rid} needs 3 chosen and 3 rejected responses, "
                                  f"has {len(chosen)} and {len(rejected)}")
            domain = str(rec.get("domain") or path.stem)
            key = f"{domain}/{rid}"
            items.append((key, {"key": key, "domain": domain, "prompt": prompt, "chosen": chosen,
                                              "rejected": rejected, "subset": rec.get("subset")}))
    return items


def shuffled_order(seed: int, item_id: str, n: int = 6) -> list[int]:
    """The presentation order of an item's responses: a permutation fixed by (seed, id)."""
    order = list(range(n))
    random.Random(f"{seed}:{item_id}").shuffle(order)
    return order


def make_rmbench_work(context: RewardContext | None, seed: int,
                      score: Callable[..., Awaitable[dict[str, Any]]] | None = None,
                      ) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    """The runner's work function: one N=6 request per item -> its row."""
    if score is None:
        from ..batch.scoring import ascore_row as score

    async def work(item: dict[str, Any]) -> dict[str, Any]:
        texts = item["chosen"] + item["rejected"]  # indices 0-2 chosen, 3-5 rejected
        order = shuffled_order(seed, item["key"])
        request = RewardRequest(prompt=item["prompt"], responses=[texts[i] for i in order])
        try:
            row = await score(request, context)
        except Exception as exc:  # noqa: BLE001 - a failed item is a row that keeps its domain
            return {"domain": item["domain"], "order": order, **error_fields(exc)}
        by_original: list[float | None] = [None] * 6
        for position, original in enumerate(order):
            by_original[original] = row["rewards"][position]
        return {"domain": item["domain"], "order": order, "chosen_rewards": by_original[:3],
                "rejected_rewards": by_original[3:], **row}

    return work


def rmbench_matrix(chosen: list[list[float | None]], rejected: list[list[float | None]],
                   tie_credit: float = 0.0) -> dict[str, Any]:
    """The 3x3 accuracy matrix and hard/normal/easy, as RM-Bench's reference computes them.

    `tie_credit` is what an exact tie is worth (reference: 0.0). A None score loses its comparison.
    """
    n = len(chosen)
    if n == 0:
        raise ValueError("no RM-Bench items to score")
    k = 3
    matrix = [[0.0] * k for _ in range(k)]
    ties = missing = 0
    for c, r in zip(chosen, rejected, strict=True):
        for i in range(k):
            for j in range(k):
                if c[i] is None or r[j] is None:
                    missing += 1
                elif c[i] > r[j]:  # type: ignore[operator]
                    matrix[i][j] += 1.0
                elif c[i] == r[j]:
                    ties += 1
                    matrix[i][j] += tie_credit
    matrix = [[v / n for v in row] for row in matrix]
    hard = sum(matrix[i][j] for i in range(k) for j in range(k) if j > i) / 3
    normal = sum(matrix[i][i] for i in range(k)) / 3
    easy = sum(matrix[i][j] for i in range(k) for j in range(k) if j < i) / 3
    return {"items": n, "hard": hard, "normal": normal, "easy": easy, "average": (hard + normal + easy) / 3,
            "matrix": matrix, "tied_comparisons": ties, "comparisons_without_reward": missing}


def _scores_of(row: dict[str, Any]) -> tuple[list[float | None], list[float | None]]:
    if "error" in row:
        return [None] * 3, [None] * 3
    return list(row["chosen_rewards"]), list(row["rejected_rewards"])


def rmbench_metrics(rows: list[dict[str, Any]], tie_credit: float = 0.0) -> dict[str, Any]:
    """Per-domain matrices and hard/normal/easy; `accuracy` = mean over domains of their average.

    Rows that failed (`error`) count as items with no reward (every comparison lost).
    """
    domains: dict[str, tuple[list[Any], list[Any]]] = {}
    for row in rows:
        domain = row.get("domain") or str(row["id"]).split("/", 1)[0]
        c, r = _scores_of(row)
        domains.setdefault(domain, ([], []))
        domains[domain][0].append(c)
        domains[domain][1].append(r)
    per_domain = {d: rmbench_matrix(c, r, tie_credit) for d, (c, r) in sorted(domains.items())}
    pooled = rmbench_matrix([c for c, _ in (_scores_of(x) for x in rows)],
                            [r for _, r in (_scores_of(x) for x in rows)], tie_credit)
    mean = lambda key: sum(m[key] for m in per_domain.values()) / len(per_domain)  # noqa: E731
    return {
        "accuracy": mean("average"),
        "hard": mean("hard"), "normal": mean("normal"), "easy": mean("easy"),
        "items": len(rows),
        "failed": sum("error" in r for r in rows),
        "per_domain": per_domain,
        "pooled": pooled,
        "tie_rule": ("strict chosen > rejected: a tie counts as wrong (RM-Bench reference compute_accuracy)"
                     if tie_credit == 0 else f"a tie counts {tie_credit:g}"),
        "accuracy_definition": "mean over domains of (hard + normal + easy) / 3; hard/normal/easy are "
                               "means over domains",
    }
