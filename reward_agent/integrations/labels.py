"""Labels and ground truths of RL datasets, as reward-request fields.

One reading for every trainer adapter (OpenRLHF labels, verl ground truths, TRL dataset
columns): IFEval-style constraints become `constraints`; any other answer becomes the
`reference`. Values may arrive as numpy arrays and scalars (verl reads its parquet files with
pandas), so they are turned into plain Python first.
"""

from __future__ import annotations

import json
from typing import Any

from ..types import ConstraintSpec


def plain(value: Any) -> Any:
    """`value` with numpy arrays/scalars (and containers of them) turned into lists and Python
    numbers. numpy is never imported: anything with `tolist()` (arrays, numpy scalars) is converted."""
    if isinstance(value, (str, bytes, bool, int, float)) or value is None:
        return value
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return plain(tolist())
    return value


def constraints_from_label(label: Any) -> list[ConstraintSpec] | None:
    """IFEval-style constraints carried by a label, or None when the label is not constraints.

    Accepted: `{"instruction_id_list": [...], "kwargs": [...]}`, `{"constraints": [...]}`, a list
    of `{"id", "kwargs"}`, or any of these as JSON text.
    """
    label = plain(label)
    if isinstance(label, str):
        text = label.strip()
        if not text.startswith(("{", "[")):
            return None
        try:
            label = json.loads(text)
        except json.JSONDecodeError:
            return None
    if isinstance(label, dict) and "instruction_id_list" in label:
        ids = label["instruction_id_list"]
        kwargs = label.get("kwargs") or [{}] * len(ids)
        return [ConstraintSpec(id=i, kwargs={k: v for k, v in (kw or {}).items() if v is not None})
                for i, kw in zip(ids, kwargs)]
    if isinstance(label, dict) and isinstance(label.get("constraints"), list):
        return [ConstraintSpec.model_validate(c) for c in label["constraints"]]
    if isinstance(label, list) and label and all(isinstance(c, dict) and "id" in c for c in label):
        return [ConstraintSpec.model_validate(c) for c in label]
    return None


def reference_from_label(label: Any) -> str | None:
    """A reference answer from a label that is not constraints: a string or a number as text; a
    one-item list as its item; a longer list of answers as JSON text. None for an empty label."""
    label = plain(label)
    if isinstance(label, list) and len(label) == 1:
        label = label[0]
    if label is None or isinstance(label, bool):
        return None
    if isinstance(label, (int, float)):
        return str(label)
    if isinstance(label, str):
        return label if label.strip() else None
    if isinstance(label, list) and label:
        return json.dumps(label, ensure_ascii=False)
    if isinstance(label, dict) and label:
        return json.dumps(label, ensure_ascii=False, sort_keys=True)
    return None


def label_fields(label: Any) -> dict[str, Any]:
    """Request fields for a label: `{"constraints": [...]}`, `{"reference": "..."}` or `{}`."""
    constraints = constraints_from_label(label)
    if constraints is not None:
        return {"constraints": constraints}
    reference = reference_from_label(label)
    return {"reference": reference} if reference is not None else {}
