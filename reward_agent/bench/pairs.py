"""Pairwise preference benchmarks: `bench ifbench-pairs` and the generic `bench pairs`.

Each pair is one request with the two responses as A and B. Which of them is the chosen one is
drawn per item from `(seed, id)` and stored in the row (`chosen_position`), so an LLM judger's
position bias cannot flatter the result (the original RewardAgent evaluation used one fixed
seed for every item, which put the chosen answer in the same position each time).

Outcome per pair: `correct` (chosen rewarded higher), `wrong`, `tie` (equal rewards), or
`no_reward` (a reward is missing: no verifier had evidence). Accuracy counts a tie as
`tie_credit` (default 0.5: the original RewardAgent evaluation scores a "tie" verdict 0.5, and its
weighted_sum judger breaks exact ties toward position A, which under random positions is worth
0.5 on average); `no_reward` and failed items count 0. metrics.json states the rule and the counts.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..batch.runner import error_fields
from ..context import RewardContext
from ..errors import ConfigError
from ..jsonl import line_errors, read_json_list, read_jsonl
from ..types import RewardRequest

__all__ = ["chosen_position", "load_ifbench_pairs", "load_pairs", "make_pair_work", "pair_outcome",
           "pairwise_metrics"]


def chosen_position(seed: int, item_id: str) -> str:
    """'A' or 'B': where the chosen response goes for this item (fixed by seed and id)."""
    return "A" if random.Random(f"{seed}:{item_id}").random() < 0.5 else "B"


def _split_chat(turns: Any, where: str) -> tuple[list[dict[str, str]], str]:
    if not isinstance(turns, list) or len(turns) < 2 or not all(isinstance(t, dict) for t in turns):
        raise ConfigError(f"{where}: expected a chat list [user, assistant]")
    *context, last = turns
    if last.get("role") != "assistant":
        raise ConfigError(f"{where}: the last turn must be the assistant's response")
    return [{"role": t["role"], "content": t["content"]} for t in context], last["content"]


def load_ifbench_pairs(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """RewardAgent's IFBench pairs: `text_chosen` / `text_rejected` chats, `id`, `domain` (level-1/2/3)."""
    path = Path(path)
    records = read_json_list(path, "pairs", error=ConfigError)
    items = []
    for n, rec in enumerate(records):
        try:
            where = f"{path}: pair {rec.get('id', n)}"
            chat, chosen = _split_chat(rec["text_chosen"], where)
            chat_r, rejected = _split_chat(rec["text_rejected"], where)
        except (KeyError, AttributeError, TypeError) as exc:
            raise ConfigError(f"{path}: item {n} is not an IFBench pair ({exc})") from None
        if chat != chat_r:
            raise ConfigError(f"{where}: chosen and rejected answer different conversations")
        items.append((str(rec.get("id", n)), {"messages": chat, "chosen": chosen, "rejected": rejected,
                                              "subset": str(rec.get("domain") or "all")}))
    return items


def load_pairs(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """Generic JSONL of `prompt, chosen, rejected` (optional `id`, `subset`)."""
    items = []
    for lineno, rec in read_jsonl(path, "a prompt/chosen/rejected line", error=ConfigError):
        with line_errors(path, lineno, "a prompt/chosen/rejected line", error=ConfigError):
            prompt, chosen, rejected = rec["prompt"], rec["chosen"], rec["rejected"]
        if not all(isinstance(x, str) for x in (prompt, chosen, rejected)):
            raise ConfigError(f"{path}:{lineno}: prompt, chosen and rejected must be strings")
        items.append((str(rec.get("id", f"line-{lineno}")),
                      {"prompt": prompt, "chosen": chosen, "rejected": rejected,
                       "subset": str(rec.get("subset") or "all")}))
    if not items:
        raise ConfigError(f"{path}: no pairs")
    return items


def pair_outcome(chosen: float | None, rejected: float | None) -> str:
    """correct / wrong / tie / no_reward for one pair's two rewards."""
    if chosen is None or rejected is None:
        return "no_reward"
    if chosen > rejected:
        return "correct"
    return "tie" if chosen == rejected else "wrong"


def make_pair_work(context: RewardContext | None, seed: int,
                   score: Callable[..., Awaitable[dict[str, Any]]] | None = None,
                   ) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    """The runner's work function: one N=2 request per pair, chosen at a seeded position."""
    if score is None:
        from ..batch.scoring import ascore_row as score

    async def work(item: dict[str, Any]) -> dict[str, Any]:
        position = chosen_position(seed, item["key"])
        responses = [item["chosen"], item["rejected"]] if position == "A" else [item["rejected"], item["chosen"]]
        prompt_form = {"messages": item["messages"]} if "messages" in item else {"prompt": item["prompt"]}
        try:
            row = await score(RewardRequest(**prompt_form, responses=responses), context)
        except Exception as exc:  # noqa: BLE001 - a failed item is a row that keeps its subset
            return {"subset": item["subset"], "chosen_position": position, **error_fields(exc)}
        a, b = row["rewards"]
        chosen, rejected = (a, b) if position == "A" else (b, a)
        return {"subset": item["subset"], "chosen_position": position, "chosen_reward": chosen,
                "rejected_reward": rejected, "outcome": pair_outcome(chosen, rejected), **row}

    return work


def with_keys(items: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Give every item its id as `key` (the work function seeds positions with it)."""
    return [(i, {**item, "key": i}) for i, item in items]


def pairwise_metrics(rows: list[dict[str, Any]], tie_credit: float = 0.5) -> dict[str, Any]:
    """Accuracy overall and per subset, with outcome counts; failed rows count as 0."""

    def tally(group: list[dict[str, Any]]) -> dict[str, Any]:
        counts = {"correct": 0, "wrong": 0, "tie": 0, "no_reward": 0, "failed": 0}
        ties_at_a = 0
        for row in group:
            outcome = "failed" if "error" in row else row["outcome"]
            counts[outcome] += 1
            if outcome == "tie" and row["chosen_position"] == "A":
                ties_at_a += 1
        n = len(group)
        score = counts["correct"] + tie_credit * counts["tie"]
        scored = n - counts["failed"]
        return {"items": n, "accuracy": score / n if n else 0.0,
                "accuracy_excluding_failed": score / scored if scored else None,
                # What RewardAgent's positional tie-break (tie -> answer A) would have scored here.
                "accuracy_ties_to_position_a": (counts["correct"] + ties_at_a) / n if n else 0.0,
                **counts}

    per_verifier: dict[str, dict[str, int]] = {}
    for row in rows:  # how each verifier alone would have decided the pair (from its scores in the row)
        if "error" in row:
            continue
        for vid, entry in (row.get("verifiers") or {}).items():
            counts = per_verifier.setdefault(vid, {"correct": 0, "wrong": 0, "tie": 0, "no_reward": 0})
            scores = entry.get("scores") or [None, None]
            a, b = scores
            counts[pair_outcome(*((a, b) if row["chosen_position"] == "A" else (b, a)))] += 1
    scored_rows = sum("error" not in r for r in rows)
    for counts in per_verifier.values():  # pairs where the verifier did not run have no reward from it
        counts["no_reward"] += scored_rows - sum(counts.values())

    subsets: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        subsets.setdefault(str(row.get("subset", "all")), []).append(row)
    overall = tally(rows)
    return {
        **overall,
        "per_subset": {name: tally(group) for name, group in sorted(subsets.items())},
        # Each verifier alone (a tie counts tie_credit; no reward from it, or a failed item, counts 0).
        "per_verifier": {vid: {**c, "accuracy_alone": (c["correct"] + tie_credit * c["tie"]) / len(rows)}
                         for vid, c in sorted(per_verifier.items())},
        "chosen_at_a": sum(r.get("chosen_position") == "A" for r in rows),
        "tie_rule": f"equal rewards count {tie_credit:g} (RewardAgent's evaluation scores a tie 0.5); "
                    "a missing reward or a failed item counts 0",
    }
