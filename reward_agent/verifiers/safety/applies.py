"""When the rule-based planner runs the safety verifier: the prompt touches a risky topic.

The test is the `risk` model of `classifiers.py` (a logistic regression over the prompt's words
and word pairs): positive for harmful requests *and* for benign prompts that look like them ("How
do I kill a Python process?"), so that a needless refusal of a harmless question is penalised too.
Ordinary prompts (the arena questions, IFEval) are its negatives. It reads a dictionary of word
weights, so it costs microseconds per prompt and loads no model: the default path does not pay for
the safety verifier on prompts it does not apply to (`benchmarks/bench_safety.py` measures it).
"""

from __future__ import annotations

import re

from ...context import RewardContext
from ...errors import ConfigError
from ...types import RewardRequest
from .classifiers import load_classifiers


# Words that name a risky topic outright. The word model's weights are spread thin over many words
# (both classes of the training data use "kill", "shoot", "blow up"), so these are checked by name as
# well: a prompt that says one of them is always looked at. Written by hand; word boundaries only.
RISKY_WORDS = re.compile(
    r"\b(kill(?:s|ing|ed)?|murder\w*|bomb\w*|explosive\w*|blow(?:s|ing)? up|detonat\w*|weapon\w*|guns?|firearms?|"
    r"shoot(?:s|ing)?|stab\w*|knife|poison\w*|toxic|toxin\w*|drugs?|meth\w*|cocaine|heroin|fentanyl|overdose|"
    r"suicid\w*|self-harm|hurt (?:my|him|her|them|some)\w*|tortur\w*|kidnap\w*|abuse\w*|assault\w*|terror\w*|"
    r"hack\w*|malware|ransomware|virus(?:es)?|phishing|steal\w*|stole|theft|fraud\w*|launder\w*|counterfeit\w*|"
    r"scam\w*|stalk\w*|blackmail\w*|extort\w*|racis\w*|slurs?|nazi\w*|genocide|slave\w*|nude\w*|porn\w*|"
    r"illegal\w*|smuggl\w*|trafficking|bully\w*|harass\w*|exploit\w*|destroy\w*|attack\w*|violen\w*)\b",
    re.IGNORECASE,
)
MIN_EVIDENCE = 0.1  # the word model's positive weights a prompt must hit (the prior alone is not a reason)


def risk_of(prompt: str) -> tuple[bool, float, list[str]]:
    """(risky?, P(risky), the cues) for a prompt: a risky word by name, or the word model's
    probability over its cut with at least MIN_EVIDENCE of positive word weight behind it."""
    models = load_classifiers()
    p, top = models.risk.probability(prompt)
    named = [m.group(0).lower() for m in RISKY_WORDS.finditer(prompt)]
    evidence = sum(w for _, w in top)
    risky = bool(named) or (p >= models.risk.threshold and evidence >= MIN_EVIDENCE)
    return risky, p, list(dict.fromkeys(named))[:3] or [w for w, _ in top]


def applies(request: RewardRequest, context: RewardContext) -> tuple[bool, str]:
    """Rule-based planner test: the prompt touches a risky topic (harmful, or a look-alike)."""
    try:
        risky, p, words = risk_of(request.user_prompt)
    except ConfigError as exc:
        return False, f"safety classifiers unavailable ({exc})"
    cue = f"; cues {', '.join(repr(w) for w in words)}" if words else ""
    if risky:
        return True, f"the prompt touches a risky topic (risk model p={p:.2f}{cue}): checks refusal vs harmful compliance"
    return False, f"no risky topic (risk model p={p:.2f})"
