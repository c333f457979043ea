"""`bench ifeval-verify`: how well the constraint verifier agrees with IFEval's reference verdicts.

Each line of a verdicts file holds a prompt, a real model response, the gold constraints
(`instruction_id_list` + `kwargs`) and the official checker's strict and loose verdicts.
With `gold_constraints=True` our checkers run on the gold constraints and we measure
agreement per instruction and per prompt. Otherwise the constraints are extracted from the
prompt: extraction precision/recall compare the extracted ids with the gold ids, and an
instruction whose id was not extracted counts as a disagreement.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..jsonl import line_errors, read_jsonl
from ..types import ConstraintSpec
from ..verifiers.constraints import checkers as _register  # noqa: F401  (registers the checkers)
from ..verifiers.constraints.checking import run_check
from ..verifiers.constraints.extract import extract_constraints

MODES = ("strict", "loose")


@dataclass
class VerdictItem:
    """One reference line: prompt, response, gold constraints, reference verdicts per mode."""

    key: str
    prompt: str
    response: str
    gold: list[ConstraintSpec]
    reference: dict[str, list[bool]]


def read_verdicts(path: str | Path) -> Iterator[VerdictItem]:
    """Parse a `*_verdicts.jsonl` file; a malformed line raises with its line number."""
    for lineno, row in read_jsonl(path, "a verdicts line"):
        with line_errors(path, lineno, "a verdicts line"):
            gold = [
                ConstraintSpec(id=i, kwargs=k or {}, source="request")
                for i, k in zip(row["instruction_id_list"], row["kwargs"], strict=True)
            ]
            item = VerdictItem(
                key=str(row["key"]),
                prompt=row["prompt"],
                response=row["response"],
                gold=gold,
                reference={m: list(row[m]["follow_list"]) for m in MODES},
            )
        yield item


@dataclass
class Tally:
    """Running counts for the metrics."""

    items: int = 0
    instructions: int = 0
    instruction_agree: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))
    prompt_agree: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))
    extracted: int = 0
    extracted_correct: int = 0
    kwargs_exact: int = 0
    check_errors: int = 0
    checker_seconds: float = 0.0


def pair_with_gold(gold: list[ConstraintSpec], found: list[ConstraintSpec]) -> list[int | None]:
    """For each gold instruction, the index of the found constraint standing for it (or None).

    A prompt can state the same type twice (two keyword frequencies), so pairing is by id in
    order, preferring a found constraint whose arguments match exactly.
    """
    unused = list(range(len(found)))
    pairs: list[int | None] = []
    for g in gold:
        same_id = [j for j in unused if found[j].id == g.id]
        exact = [j for j in same_id if _same_kwargs(found[j].kwargs, g.kwargs)]
        pick = (exact or same_id or [None])[0]
        if pick is not None:
            unused.remove(pick)
        pairs.append(pick)
    return pairs


def verify_item(item: VerdictItem, gold_constraints: bool, tally: Tally) -> dict[str, Any]:
    """Score one item, update `tally`, and return its results row."""
    constraints = item.gold if gold_constraints else extract_constraints(item.prompt)
    pairs = pair_with_gold(item.gold, constraints)
    if not gold_constraints:
        matched = [j for j in pairs if j is not None]
        tally.extracted += len(constraints)
        tally.extracted_correct += len(matched)
        tally.kwargs_exact += sum(_same_kwargs(constraints[j].kwargs, g.kwargs) for g, j in zip(item.gold, pairs) if j is not None)
    row: dict[str, Any] = {
        "id": item.key,
        "constraints": [c.model_dump(exclude_none=True) for c in constraints],
    }
    for mode in MODES:
        started = time.perf_counter()
        outcomes = [run_check(c, item.response, mode) for c in constraints]
        tally.checker_seconds += time.perf_counter() - started
        tally.check_errors += sum(o.error is not None for o in outcomes)
        ours = [None if j is None else outcomes[j].followed for j in pairs]
        reference = item.reference[mode]
        tally.instruction_agree[mode] += sum(o == r for o, r in zip(ours, reference))
        our_all = all(o.followed is True for o in outcomes)
        tally.prompt_agree[mode] += our_all == all(reference)
        row[mode] = {
            "ours": ours,
            "reference": reference,
            "errors": {c.id: o.error for c, o in zip(constraints, outcomes) if o.error},
        }
    tally.items += 1
    tally.instructions += len(item.gold)
    return row


def _same_kwargs(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def norm(d: dict[str, Any]) -> dict[str, Any]:
        return {k: (v.strip().lower() if isinstance(v, str) else v) for k, v in d.items() if v is not None}

    return norm(a) == norm(b)


def metrics_of(tally: Tally, gold_constraints: bool) -> dict[str, Any]:
    """The metrics dict written to metrics.json."""
    n, k = max(tally.items, 1), max(tally.instructions, 1)
    metrics: dict[str, Any] = {
        "items": tally.items,
        "instructions": tally.instructions,
        "gold_constraints": gold_constraints,
        "check_errors": tally.check_errors,
        "checker_seconds": round(tally.checker_seconds, 4),
    }
    for mode in MODES:
        metrics[f"instruction_agreement_{mode}"] = tally.instruction_agree[mode] / k
        metrics[f"prompt_agreement_{mode}"] = tally.prompt_agree[mode] / n
    if not gold_constraints:
        metrics["extraction_precision"] = tally.extracted_correct / max(tally.extracted, 1)
        metrics["extraction_recall"] = tally.extracted_correct / k
        metrics["extraction_kwargs_exact"] = tally.kwargs_exact / k
    return metrics


def run_ifeval_verify(
    data: str | Path, out: str | Path, gold_constraints: bool = False, limit: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the benchmark, write `out/metrics.json` and `out/results.jsonl`, return the metrics."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    items: Iterable[VerdictItem] = list(read_verdicts(data))[:limit]
    tally = Tally()
    with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
        for item in tqdm(items, desc="ifeval-verify", unit="item", disable=not progress):
            fh.write(json.dumps(verify_item(item, gold_constraints, tally)) + "\n")
    metrics = metrics_of(tally, gold_constraints) | {"data": str(data)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics
