"""Our checkers against the official IFEval checker's verdicts on real model responses.

The shared data holds GPT-4 (541 prompts) and PaLM text-bison (80 prompts) responses with
the reference checker's strict and loose verdicts per instruction. Instruction-level
agreement must stay at or above 0.995; today it is 1.0 on both files and modes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reward_agent.types import ConstraintSpec
from reward_agent.verifiers.constraints.checking import check_all

MIN_AGREEMENT = 0.995


@pytest.mark.parametrize("mode", ["strict", "loose"])
@pytest.mark.parametrize("filename", ["gpt4_verdicts.jsonl", "text_bison_verdicts.jsonl"])
def test_agreement_with_official_ifeval_verdicts(data_dir: Path, filename: str, mode: str) -> None:
    total = agreed = 0
    disagreements = []
    for line in (data_dir / "ifeval" / filename).read_text().splitlines():
        item = json.loads(line)
        constraints = [ConstraintSpec(id=i, kwargs=k) for i, k in zip(item["instruction_id_list"], item["kwargs"])]
        (outcomes,) = check_all(constraints, [item["response"]], mode)  # type: ignore[arg-type]
        for constraint, outcome, gold in zip(constraints, outcomes, item[mode]["follow_list"]):
            total += 1
            if outcome.followed == gold:
                agreed += 1
            else:
                disagreements.append((item["key"], constraint.id, gold, outcome))
    agreement = agreed / total
    assert agreement >= MIN_AGREEMENT, f"{agreement:.4f} < {MIN_AGREEMENT}: {disagreements[:10]}"
