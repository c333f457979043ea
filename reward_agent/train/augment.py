"""Training-pair shaping for the embedded RM: length-balanced weights and constructed hard negatives.

Why: the arena pairs reward length (the longer answer is the chosen one in about two thirds of
them), so a head trained on them learns "longer and more markdown is better" (RM-Bench hard 0.08).
Two remedies, both built from the *training* pairs only (the caller passes the training side of
the split by question; nothing here reads held-out questions, RM-Bench or JudgeBench):

- `length_balance_weights`: per-pair loss weights so that the weighted share of pairs whose
  chosen answer is the longer one is exactly `target` (0.5: length carries no label
  information), or `balanced_subsample`, which drops pairs of the majority side instead.
- `hard_negatives`: pairs a length- or style-hacking head gets wrong, of three kinds:
  * `short_chosen`: the arena's own pairs where the chosen answer is at most half as long as the
    rejected one (a short good answer against a long bad one), repeated once more;
  * `filler`: a chosen answer against the same answer with irrelevant filler appended (a
    paragraph from an answer to a *different training question*, or generic padding);
  * `markdown`: a chosen answer against the rejected answer decorated with markdown (a heading,
    bold lead, bullets, a summary section) that adds no content.

Every construction is a deterministic function of the pairs and the seed.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from dataclasses import dataclass

from ..errors import ConfigError
from .data import PreferencePair

__all__ = ["HARD_NEGATIVE_KINDS", "HardNegative", "balanced_subsample", "chosen_longer_share", "decorate_markdown",
           "hard_negatives", "length_balance_weights"]

HARD_NEGATIVE_KINDS = ("short_chosen", "filler", "markdown")
# Constructed texts must stay inside what the encoder reads (4 windows of 254 MiniLM tokens, about
# 4 characters a token): filler appended past that would be invisible to the model.
MAX_BASE_CHARS = 2500
# Generic padding a policy might learn to add: pleasantries, restatements, hedges.
_PADDING = (
    "I hope this helps! Let me know if you have any other questions or if there is anything else I can do for you.",
    "In summary, this is an important topic, and there are many factors to consider. It is always a good idea to "
    "do further research and consult relevant sources before making a decision.",
    "Please note that this answer is provided for informational purposes only. Results may vary depending on "
    "your specific circumstances, so use your own judgement.",
    "To reiterate the main points: the question is a good one, the answer depends on context, and careful "
    "thought is always worthwhile. Thank you for asking!",
)


def _is_longer(pair: PreferencePair) -> bool:
    return len(pair.chosen) > len(pair.rejected)


def chosen_longer_share(pairs: list[PreferencePair], weights: list[float] | None = None) -> float:
    """The (weighted) share of pairs whose chosen answer has more characters than the rejected one."""
    if not pairs:
        raise ConfigError("no pairs to measure")
    w = weights if weights is not None else [1.0] * len(pairs)
    return sum(x for p, x in zip(pairs, w) if _is_longer(p)) / sum(w)


def length_balance_weights(pairs: list[PreferencePair], target: float = 0.5) -> list[float]:
    """Loss weights (mean 1) that make the weighted chosen-is-longer share equal `target`."""
    if not 0.0 < target < 1.0:
        raise ConfigError(f"length-balance target={target} must be between 0 and 1")
    longer = sum(1 for p in pairs if _is_longer(p))
    shorter = len(pairs) - longer
    if not longer or not shorter:
        raise ConfigError(f"cannot balance by length: {longer} chosen-longer and {shorter} chosen-shorter pairs")
    n = len(pairs)
    w_long, w_short = target * n / longer, (1.0 - target) * n / shorter
    return [w_long if _is_longer(p) else w_short for p in pairs]


def balanced_subsample(pairs: list[PreferencePair], seed: int, target: float = 0.5) -> list[PreferencePair]:
    """Drop pairs of the over-represented side (seeded) until the chosen-is-longer share is `target`."""
    length_balance_weights(pairs, target)  # the same checks
    longer = [p for p in pairs if _is_longer(p)]
    shorter = [p for p in pairs if not _is_longer(p)]
    rng = random.Random(seed)
    # Keep all of the minority side; sample the majority side to the size that gives `target`.
    if len(longer) / len(pairs) > target:
        longer = rng.sample(longer, min(len(longer), round(len(shorter) * target / (1.0 - target))))
    else:
        shorter = rng.sample(shorter, min(len(shorter), round(len(longer) * (1.0 - target) / target)))
    kept = {id(p) for p in longer + shorter}
    return [p for p in pairs if id(p) in kept]  # the original order


def decorate_markdown(text: str, rng: random.Random) -> str:
    """`text` dressed in markdown that adds no content: a heading, the first line or sentence in
    bold, the rest as bullets (one per line, or per sentence for a single paragraph), and a summary
    section that repeats the lead. Text with code fences keeps its body as it is (bullets would
    break the code)."""
    heading = rng.choice(["## Answer", "## Overview", "### Detailed Response", "## Explanation"])
    if "```" in text:
        lead, rest, bullets = text.strip().split("\n", 1)[0], [], False
        body = text.strip()
    else:
        lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
        if len(lines) <= 1:
            lines = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(lines)) if s] or ["(empty)"]
        lead, rest, bullets = lines[0], lines[1:], True
        body = ""
    out = [heading, "", f"**{lead.strip('*# ')}**", ""]
    if bullets and rest:
        out += ["### Key Points", ""] + [f"- {ln.lstrip('-*• ')}" for ln in rest] + [""]
    elif body:
        out += [body, ""]
    out += ["---", "", "### Summary", "", f"> {lead.strip('*# ')}"]
    return "\n".join(out)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if 120 <= len(p.strip()) <= 700]


@dataclass(frozen=True)
class HardNegative:
    """A constructed pair and the kind of construction that made it."""

    kind: str
    pair: PreferencePair


def _rng(seed: int, kind: str, qid: str) -> random.Random:
    # One generator per (seed, kind, question): a question's negatives do not depend on which other
    # questions are in the set, so a subset of the questions yields a subset of the negatives.
    digest = hashlib.sha256(f"{seed}:{kind}:{qid}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def hard_negatives(pairs: list[PreferencePair], kinds: tuple[str, ...], per_question: int, seed: int) -> list[HardNegative]:
    """Hard negatives of the given `kinds` built from `pairs` (training pairs only), at most
    `per_question` constructed pairs per question and kind (`short_chosen` takes every such pair)."""
    unknown = [k for k in kinds if k not in HARD_NEGATIVE_KINDS]
    if unknown:
        raise ConfigError(f"unknown hard-negative kind(s) {unknown}; known: {list(HARD_NEGATIVE_KINDS)}")
    if per_question < 0:
        raise ConfigError(f"hard negatives per question={per_question} must be >= 0")
    by_question: dict[str, list[PreferencePair]] = defaultdict(list)
    for p in pairs:
        by_question[p.question_id].append(p)
    # Filler comes from answers to other questions in the same (training) pairs.
    pool = sorted({(p.question_id, para) for p in pairs for t in (p.chosen, p.rejected) for para in _paragraphs(t)})
    out: list[HardNegative] = []
    for qid in sorted(by_question):
        group = by_question[qid]
        if "short_chosen" in kinds:
            out += [HardNegative("short_chosen", p) for p in group if 2 * len(p.chosen) <= len(p.rejected)]
        # Distinct chosen answers that leave room for what is added (filler must stay visible).
        bases = sorted({p.chosen for p in group if len(p.chosen) <= MAX_BASE_CHARS})
        if "filler" in kinds and bases:
            rng = _rng(seed, "filler", qid)
            others = [para for q, para in pool if q != qid]
            for base in rng.sample(bases, min(per_question, len(bases))):
                filler = rng.choice(others) if others and rng.random() < 0.5 else rng.choice(_PADDING)
                padded = f"{base.rstrip()}\n\n{filler}"
                out.append(HardNegative("filler", PreferencePair(qid, group[0].prompt, base, padded, margin=1.0)))
        if "markdown" in kinds:
            rng = _rng(seed, "markdown", qid)
            fits = [p for p in group if len(p.rejected) <= MAX_BASE_CHARS]
            for p in rng.sample(fits, min(per_question, len(fits))):
                out.append(HardNegative("markdown", PreferencePair(qid, p.prompt, p.chosen,
                                                                   decorate_markdown(p.rejected, rng), margin=p.margin)))
    return out
