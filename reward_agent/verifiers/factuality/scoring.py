"""The per-response factuality score: a documented function of its claims' verdicts.

For a response with S supported, U unverified ("not enough evidence") and R refuted claims:

    score = (S + 0.5 * U) / (S + U + 2 * R)

- every supported claim counts 1, an unverified one 0.5 (no evidence either way: a coin's worth),
  and a refuted claim counts 0 *twice* in the denominator, so one refuted claim weighs as much as
  two unverified ones: a response is punished more for stating something false than for stating
  something nobody could check;
- all supported -> 1.0; all refuted -> 0.0; all unverified -> 0.5; 1 supported + 1 refuted -> 1/3;
  1 supported + 1 unverified -> 0.75; 1 unverified + 1 refuted -> 1/6;
- a response with no checkable claim gets None (the verifier has no evidence about it), never 0 or 1,
  so the judger leaves this signal out for that response.

A claim shared by several responses counts once in each of them (with the same verdict).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

UNVERIFIED_CREDIT = 0.5
REFUTED_WEIGHT = 2.0


def factuality_score(labels: Iterable[str]) -> float | None:
    """(S + 0.5 U) / (S + U + 2 R) over the verdict labels of one response; None when there are none."""
    counts = Counter(labels)
    unknown = set(counts) - {"supported", "refuted", "not_enough_evidence"}
    if unknown:
        raise ValueError(f"unknown verdict label(s) {sorted(unknown)}")
    s, u, r = counts["supported"], counts["not_enough_evidence"], counts["refuted"]
    if s + u + r == 0:
        return None
    return (s + UNVERIFIED_CREDIT * u) / (s + u + REFUTED_WEIGHT * r)
