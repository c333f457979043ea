"""Preference data for reward-model training: loading, pairs from ratings, a split by question.

Two JSONL shapes are read:

- pairs: `{"prompt", "chosen", "rejected"}` (plus an optional `id`/`question_id` used for the split);
- rated answers: `{"question_id", "prompt", "response", <rating field>}` (e.g. arena-bench's
  `gpt4_rating`), turned into pairs of answers to the same question whose ratings differ by at
  least `min_gap` (the higher-rated one is chosen).

The split is by question: every pair of a question lands on one side, so no question is seen in
training and in the test. It is a deterministic function of the seed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["PreferencePair", "RatedAnswer", "load_preference_file", "pairs_from_ratings", "split_by_question"]


@dataclass(frozen=True)
class PreferencePair:
    """One comparison: `chosen` is preferred over `rejected` as an answer to `prompt`."""

    question_id: str
    prompt: str
    chosen: str
    rejected: str
    margin: float = 1.0  # rating gap when built from ratings; 1.0 for given pairs


@dataclass(frozen=True)
class RatedAnswer:
    """An answer with its rating."""

    question_id: str
    prompt: str
    response: str
    rating: float
    source: str = ""


def _question_id(row: dict[str, Any], prompt: str) -> str:
    for key in ("question_id", "id"):
        if row.get(key) is not None:
            return str(row[key])
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


def load_preference_file(
    path: str | Path, *, rating_field: str = "gpt4_rating"
) -> tuple[list[PreferencePair], list[RatedAnswer]]:
    """Read a JSONL file of pairs or of rated answers. Returns (pairs, rated answers); one is empty."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"preference data {str(path)!r} is not a file")
    pairs: list[PreferencePair] = []
    rated: list[RatedAnswer] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{number}: not JSON ({exc})") from None
            prompt = row.get("prompt")
            if not isinstance(prompt, str) or not prompt:
                raise ConfigError(f"{path}:{number}: needs a non-empty string 'prompt'")
            qid = _question_id(row, prompt)
            if "chosen" in row and "rejected" in row:
                pairs.append(PreferencePair(qid, prompt, str(row["chosen"]), str(row["rejected"])))
            elif "response" in row and rating_field in row:
                if row[rating_field] is None:
                    continue  # an unrated answer cannot take part in a pair
                rated.append(RatedAnswer(qid, prompt, str(row["response"]), float(row[rating_field]),
                                         str(row.get("model", ""))))
            else:
                raise ConfigError(
                    f"{path}:{number}: expected 'chosen'+'rejected' (pairs) or 'response'+{rating_field!r} "
                    f"(rated answers); got keys {sorted(row)}"
                )
    if pairs and rated:
        raise ConfigError(f"{path} mixes pairs and rated answers; use one shape per file")
    if not pairs and not rated:
        raise ConfigError(f"{path} holds no usable rows")
    return pairs, rated


def pairs_from_ratings(rated: list[RatedAnswer], *, min_gap: float = 1.0) -> list[PreferencePair]:
    """Every two answers to one question whose ratings differ by at least `min_gap`."""
    if min_gap <= 0:
        raise ConfigError(f"min_gap={min_gap} must be positive (equal ratings say nothing about preference)")
    by_question: dict[str, list[RatedAnswer]] = defaultdict(list)
    for answer in rated:
        by_question[answer.question_id].append(answer)
    pairs = []
    for qid in sorted(by_question):
        for a, b in itertools.combinations(by_question[qid], 2):
            gap = a.rating - b.rating
            if abs(gap) < min_gap:
                continue
            hi, lo = (a, b) if gap > 0 else (b, a)
            pairs.append(PreferencePair(qid, a.prompt, hi.response, lo.response, margin=abs(gap)))
    return pairs


def split_by_question(question_ids: list[str], test_fraction: float, seed: int) -> tuple[set[str], set[str]]:
    """(train ids, test ids): the distinct ids shuffled with `seed`, the last `test_fraction` held out."""
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction={test_fraction} must be between 0 and 1")
    ids = sorted(set(question_ids))
    if len(ids) < 2:
        raise ConfigError("a split by question needs at least two distinct questions")
    random.Random(seed).shuffle(ids)
    n_test = min(len(ids) - 1, max(1, round(len(ids) * test_fraction)))
    return set(ids[: len(ids) - n_test]), set(ids[len(ids) - n_test :])
