"""`bench ifeval-verify`: how well the constraint verifier agrees with IFEval's reference verdicts.

Each line of a verdicts file holds a prompt, a real model response, the gold constraints
(`instruction_id_list` + `kwargs`) and the official checker's strict and loose verdicts.
With `gold_constraints=True` our checkers run on the gold constraints and we measure
agreement per instruction and per prompt. Otherwise the constraints are extracted from the
prompt (rules, plus the extractor model when the context has one): extraction precision/recall
compare the extracted ids with the gold ids, and an instruction whose id was not extracted
counts as a disagreement. Checking goes through the constraint verifier's own path, so
`checkers: generated` (with a coder model) has the coder write every checker from the
constraint's description: IFEval's official verdicts become a development set for the agentic
path. Coverage (share of instructions with a verdict) is reported beside agreement.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..context import RewardContext
from ..jsonl import line_errors, read_jsonl
from ..types import ConstraintSpec, RewardRequest
from ..verifiers.constraints import checkers as _register  # noqa: F401  (registers the checkers)
from ..verifiers.constraints.verifier import check_entries, resolve_with_context

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
    """Running counts for the metrics (per mode where the verdicts differ by mode)."""

    items: int = 0
    instructions: int = 0
    instruction_agree: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))
    instruction_covered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))
    instruction_agree_covered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))
    prompt_agree: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))
    prompt_covered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))
    prompt_agree_covered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))
    check_errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))
    extracted: int = 0
    extracted_correct: int = 0
    kwargs_exact: int = 0
    checker_seconds: float = 0.0
    model_calls: int = 0
    # per gold instruction id: instructions, and per mode covered / agreeing counts
    per_id: dict[str, dict[str, int]] = field(default_factory=dict)
    generated: dict[str, dict[str, Any]] = field(default_factory=dict)  # task label -> generated checker


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


def prompt_verdict(followed: list[bool | None]) -> bool | None:
    """Prompt level: followed only when every constraint was decided and followed; not followed when
    one was decided unmet; no verdict when nothing was checked or a check gave no verdict (an error
    is never "not followed", an empty list never "followed")."""
    if not followed:
        return None
    if any(f is False for f in followed):
        return False
    return True if all(f is True for f in followed) else None


async def _constraints_for(item: VerdictItem, gold_constraints: bool, context: RewardContext
                           ) -> tuple[list[ConstraintSpec], int]:
    if gold_constraints:
        return item.gold, 0
    request = RewardRequest(prompt=item.prompt, responses=[item.response])
    constraints, _source, extraction = await resolve_with_context(request, context)
    return constraints, extraction.model_calls if extraction else 0


async def verify_item(item: VerdictItem, gold_constraints: bool, tally: Tally, context: RewardContext
                      ) -> dict[str, Any]:
    """Score one item with the constraint verifier's own checking path, update `tally`, return its row."""
    constraints, calls = await _constraints_for(item, gold_constraints, context)
    tally.model_calls += calls
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
    for g in item.gold:
        tally.per_id.setdefault(g.id, {"instructions": 0, **{f"{k}_{m}": 0 for m in MODES for k in ("covered", "agree")}})
        tally.per_id[g.id]["instructions"] += 1
    for mode in MODES:
        mode_context = context.model_copy(update={"constraint_mode": mode})
        started = time.perf_counter()
        entries, extra, calls = await check_entries(constraints, [item.response], mode_context) if constraints else ([[]], {}, 0)
        tally.checker_seconds += time.perf_counter() - started
        tally.model_calls += calls
        for generated in extra.get("generated_typed_checkers", []) + extra.get("generated_checkers", []):
            tally.generated.setdefault(generated["constraint"], generated)
        followed = [e["followed"] for e in entries[0]]
        tally.check_errors[mode] += sum(f is None for f in followed)
        ours = [None if j is None else followed[j] for j in pairs]
        reference = item.reference[mode]
        for g, o, r in zip(item.gold, ours, reference):
            tally.instruction_agree[mode] += o == r
            if o is not None:
                tally.instruction_covered[mode] += 1
                tally.instruction_agree_covered[mode] += o == r
                tally.per_id[g.id][f"covered_{mode}"] += 1
            tally.per_id[g.id][f"agree_{mode}"] += o == r
        ours_prompt = prompt_verdict(followed)
        tally.prompt_agree[mode] += ours_prompt == all(reference)
        if ours_prompt is not None:
            tally.prompt_covered[mode] += 1
            tally.prompt_agree_covered[mode] += ours_prompt == all(reference)
        row[mode] = {
            "ours": ours,
            "reference": reference,
            "checked_by": [e.get("checked_by") for e in entries[0]],
            "errors": {c.id: e["error"] for c, e in zip(constraints, entries[0]) if e.get("error")},
        }
    tally.items += 1
    tally.instructions += len(item.gold)
    return row


def _same_kwargs(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def norm(d: dict[str, Any]) -> dict[str, Any]:
        return {k: (v.strip().lower() if isinstance(v, str) else v) for k, v in d.items() if v is not None}

    return norm(a) == norm(b)


def metrics_of(tally: Tally, gold_constraints: bool, checkers: str = "builtin") -> dict[str, Any]:
    """The metrics dict written to metrics.json.

    `instruction_agreement_*` is over ALL gold instructions (one without a verdict counts as a
    disagreement); `*_coverage_*` is the share with a verdict; `*_agreement_covered_*` is agreement
    over the covered ones only. Read them together.
    """
    n, k = max(tally.items, 1), max(tally.instructions, 1)
    metrics: dict[str, Any] = {
        "items": tally.items,
        "instructions": tally.instructions,
        "gold_constraints": gold_constraints,
        "checkers": checkers,
        "check_errors": sum(tally.check_errors.values()),
        "checker_seconds": round(tally.checker_seconds, 4),
        "model_calls": tally.model_calls,
    }
    for mode in MODES:
        metrics[f"check_errors_{mode}"] = tally.check_errors[mode]
        metrics[f"instruction_agreement_{mode}"] = tally.instruction_agree[mode] / k
        metrics[f"instruction_coverage_{mode}"] = tally.instruction_covered[mode] / k
        metrics[f"instruction_agreement_covered_{mode}"] = (
            tally.instruction_agree_covered[mode] / tally.instruction_covered[mode] if tally.instruction_covered[mode] else None)
        metrics[f"prompt_agreement_{mode}"] = tally.prompt_agree[mode] / n
        metrics[f"prompt_coverage_{mode}"] = tally.prompt_covered[mode] / n
        metrics[f"prompt_agreement_covered_{mode}"] = (
            tally.prompt_agree_covered[mode] / tally.prompt_covered[mode] if tally.prompt_covered[mode] else None)
    if not gold_constraints:
        metrics["extraction_precision"] = tally.extracted_correct / max(tally.extracted, 1)
        metrics["extraction_recall"] = tally.extracted_correct / k
        metrics["extraction_kwargs_exact"] = tally.kwargs_exact / k
    metrics["per_id"] = {
        cid: {**counts,
              **{f"agreement_{m}": counts[f"agree_{m}"] / counts["instructions"] for m in MODES},
              **{f"coverage_{m}": counts[f"covered_{m}"] / counts["instructions"] for m in MODES}}
        for cid, counts in sorted(tally.per_id.items())
    }
    if tally.generated:
        ok = [g for g in tally.generated.values() if g.get("status") == "ok"]
        metrics["generated"] = {
            "tasks": len(tally.generated),
            "ok": len(ok),
            "codegen_success_rate": len(ok) / len(tally.generated),
            # Calls made by THIS invocation: a checker taken from the cache cost none here (its
            # generation's calls are in the cache record, `calls_to_generate`).
            "model_calls_this_run": sum(int(g.get("model_calls") or 0) for g in tally.generated.values()),
            "from_cache": sum(bool(g.get("cached")) for g in tally.generated.values()),
            "dropped": {label: g.get("reason") for label, g in tally.generated.items() if g.get("status") != "ok"},
        }
    return metrics


def run_ifeval_verify(
    data: str | Path, out: str | Path, gold_constraints: bool = False, limit: int | None = None,
    progress: bool = True, context: RewardContext | None = None,
) -> dict[str, Any]:
    """Run the benchmark, write `out/metrics.json` and `out/results.jsonl`, return the metrics.

    `context` decides the checkers (`checkers`: builtin / generated / auto), the extractor model
    (without gold constraints) and the coder model; default: built-in checkers, rules extraction.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    context = context or RewardContext(checkers="builtin")
    items: Iterable[VerdictItem] = list(read_verdicts(data))[:limit]
    tally = Tally()

    async def run_all() -> None:
        with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
            for item in tqdm(items, desc="ifeval-verify", unit="item", disable=not progress):
                fh.write(json.dumps(await verify_item(item, gold_constraints, tally, context)) + "\n")
                fh.flush()

    asyncio.run(run_all())
    metrics = metrics_of(tally, gold_constraints, context.checkers) | {
        "data": str(data), "profile": context.profile,
        "coder": context.model_for("coder").model if context.model_for("coder") else None,
        "extractor": context.model_for("extractor").model if context.model_for("extractor") else None,
        "checker_candidates": context.checker_candidates, "checker_repair_rounds": context.checker_repair_rounds,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics
