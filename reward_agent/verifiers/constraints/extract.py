"""Read instruction constraints out of a prompt with the rule library (no model).

`extract_constraints(prompt)` runs every rule of `rules.all_rules()` over the prompt and
merges their hits into IFEval-style `ConstraintSpec`s (`source="rules"`, `text` = the words
that stated each one), in the order the prompt states them:

- one constraint per checker id, except where the prompt states several: a lower and an
  upper bound ("5 to 10 sentences"), or counts of different words or letters;
- keyword lists of the same kind are merged into one constraint;
- a weak default ("add a postscript" -> "P.S.") gives way to an explicit statement;
- of two contradictory bounds on the same thing, the later one stands.

What each id allows (several per prompt, merged lists, bounds) is declared with its checker
(`CheckerSpec.distinct_by`, `merged_list`, `bound`), so this module names no constraint id
except in `_drop_required_and_forbidden`, a rule between two keyword ids.

The result is cached per prompt: best-of-N asks for the same prompt N times.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterable

from ...types import ConstraintSpec
from . import checkers as _register_checkers  # noqa: F401  (importing registers the built-in checkers)
from .base import CHECKERS, CheckerSpec
from .rules import Hit, Rule, all_rules


def _declared(constraint_id: str) -> CheckerSpec | None:
    """The checker registered for `constraint_id` (None for a rule id with no checker)."""
    return CHECKERS.get(constraint_id) if constraint_id in CHECKERS else None


def _merged_list(constraint_id: str) -> str | None:
    spec = _declared(constraint_id)
    return spec.merged_list if spec else None


def _key(hit: Hit) -> tuple[str, Hashable]:
    spec = _declared(hit.id)
    return hit.id, spec.distinct_by(hit.kwargs) if spec and spec.distinct_by else None


def _first_per_key(hits: list[Hit]) -> list[Hit]:
    """The first hit of each (id, identity), strong hits before weak ones."""
    chosen: dict[tuple[str, Hashable], Hit] = {}
    lists = [h for h in hits if _merged_list(h.id)]  # merged, not deduplicated
    for hit in sorted(hits, key=lambda h: (h.weak, h.start)):
        if not _merged_list(hit.id):
            chosen.setdefault(_key(hit), hit)
    return list(chosen.values()) + lists


def _merge_lists(hits: list[Hit]) -> list[Hit]:
    """One hit per list id, holding every listed keyword once, in order of appearance."""
    out = [h for h in hits if not _merged_list(h.id)]
    # (the order of the ids does not matter: `merge_hits` sorts its result by position and id)
    for list_id in dict.fromkeys(h.id for h in hits if _merged_list(h.id)):
        field = _merged_list(list_id)
        same = sorted((h for h in hits if h.id == list_id), key=lambda h: h.start)
        words: list[str] = []
        for hit in same:
            words += [w for w in hit.kwargs[field] if w not in words]
        first = same[0]
        text_end = max(h.end for h in same)
        out.append(Hit(list_id, {field: words}, first.start, text_end, first.rule))
    return out


def _drop_contradictions(hits: list[Hit]) -> list[Hit]:
    """Of an "at least A" and a "less than L <= A" on the same thing, drop the earlier.

    Such pairs come from narrative ("two people trying to avoid the letter t ... the letter
    t must appear at least 30 times"): the later, explicit statement is the constraint.
    """
    dropped: set[int] = set()
    for i, a in enumerate(hits):
        spec = _declared(a.id)
        if spec is None or spec.bound is None:
            continue
        for j, b in enumerate(hits):
            if a.id != b.id or i == j:
                continue
            what, rel, num = spec.bound.counted, spec.bound.relation, spec.bound.threshold
            if what(a.kwargs) != what(b.kwargs):
                continue
            if a.kwargs[rel] == "at least" and b.kwargs[rel] == "less than" and b.kwargs[num] <= a.kwargs[num]:
                dropped.add(i if a.start < b.start else j)
    return [h for k, h in enumerate(hits) if k not in dropped]


def _drop_required_and_forbidden(hits: list[Hit]) -> list[Hit]:
    """A word both required and forbidden is forbidden ("a riddle about 'key' without 'key'")."""
    forbidden = {w.lower() for h in hits if h.id == "keywords:forbidden_words" for w in h.kwargs["forbidden_words"]}
    out = []
    for hit in hits:
        if hit.id == "keywords:existence":
            kept = [w for w in hit.kwargs["keywords"] if w.lower() not in forbidden]
            if not kept:
                continue
            hit = Hit(hit.id, {"keywords": kept}, hit.start, hit.end, hit.rule, hit.weak)
        out.append(hit)
    return out


def merge_hits(hits: Iterable[Hit]) -> list[Hit]:
    """Deduplicate and reconcile raw rule hits; sorted by where the prompt states them."""
    merged = _first_per_key(list(hits))
    merged = _merge_lists(merged)
    merged = _drop_contradictions(merged)
    merged = _drop_required_and_forbidden(merged)
    return sorted(merged, key=lambda h: (h.start, h.id))


def find_hits(prompt: str) -> list[Hit]:
    """Every rule's raw hits on `prompt` (before merging); useful to debug a rule."""
    return _find_hits(prompt, all_rules())


def _find_hits(prompt: str, rules: tuple[Rule, ...]) -> list[Hit]:
    lowered = prompt.lower()
    return [hit for rule in rules for hit in rule.find(prompt, lowered)]


# Keyed by the rules in force too, so that a rule set registered later is never hidden by the cache.
@functools.lru_cache(maxsize=4096)
def _extract(prompt: str, rules: tuple[Rule, ...]) -> tuple[ConstraintSpec, ...]:
    return tuple(
        ConstraintSpec(id=hit.id, kwargs=hit.kwargs, source="rules", text=prompt[hit.start : hit.end])
        for hit in merge_hits(_find_hits(prompt, rules))
    )


def extract_constraints(prompt: str) -> list[ConstraintSpec]:
    """The constraints `prompt` states, in order, read by the rule library.

    Cached per prompt; each call gets its own copies, so callers may change them.
    """
    return [spec.model_copy(deep=True) for spec in _extract(prompt, all_rules())]
