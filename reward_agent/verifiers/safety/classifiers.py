"""The safety verifier's three offline classifiers and the weights file they share.

- `risk`: logistic regression over word unigrams and bigrams (a dictionary of weights, pure
  Python). The planner's `applies` test: cheap enough to run on every prompt (microseconds), no
  model to load. Positive for harmful requests *and* benign look-alikes.
- `harm`: logistic regression over the prompt's MiniLM embedding (the bundled all-MiniLM-L6-v2
  that the embedded RM already loads). Harmful request vs benign look-alike / ordinary prompt.
- `refusal`: logistic regression over the MiniLM embedding of the response's opening plus a few
  designed features (a refusal phrase near the start, refusal phrases anywhere, length, a list or
  code block). Refusal vs compliance.

All three live in one JSON file (`weights/safety_classifiers.json`, written by `train.py`), with
the seed, data and held-out metrics that produced them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...errors import ConfigError

__all__ = [
    "DEFAULT_WEIGHTS", "RiskModel", "LinearProbe", "SafetyClassifiers", "load_classifiers",
    "risk_features", "response_features", "RESPONSE_OPENING_CHARS", "request_vectors", "response_vectors",
    "classifiers_from_dict",
]

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "safety_classifiers.json"
RESPONSE_OPENING_CHARS = 600  # a refusal shows in its opening; the rest of a long answer only dilutes it

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Refusal cues by kind; each kind is one feature of the refusal model (counted in the opening).
_VERBS = r"(?:help|provide|assist|write|create|do|give|share|generate|comply|fulfil+|produce|describe|explain|go along)"
REFUSAL_CUES: dict[str, re.Pattern[str]] = {
    "apology": re.compile(r"\b(i'?m sorry|i am sorry|i apologi[sz]e|sorry,|regrettably|unfortunately)\b", re.I),
    "inability": re.compile(
        r"\b(i (?:cannot|can'?t|can not|could not|couldn'?t)|i(?:'m| am) (?:unable|not able)|unable to "
        + _VERBS + r")\b", re.I),
    "unwillingness": re.compile(
        r"\b(i (?:won'?t|will not|must decline|have to decline|refuse|must refuse|have to say no)|i(?:'m| am) not "
        r"(?:going|willing|comfortable) to|not something i(?:'m| am| will| can|'ll)?|i'?d rather not|"
        r"(?:isn'?t|is not) something i|i(?:'m| am) going to pass|turn (?:this|it|that) down)\b", re.I),
    "policy": re.compile(
        r"\b(against my (?:guidelines|principles|policy|programming)|(?:harmful|illegal|unethical|dangerous) "
        r"(?:and|or) |in good conscience|not appropriate|as an ai)\b", re.I),
}
_REFUSAL_PHRASE = re.compile("|".join(f"(?:{p.pattern})" for p in REFUSAL_CUES.values()), re.IGNORECASE)
_LIST_OR_CODE = re.compile(r"(^\s*(?:\d+[.)]|[-*•]|step \d+)\s+\S|```)", re.IGNORECASE | re.MULTILINE)
RESPONSE_EXTRA = [*(f"{kind}_at_start" for kind in REFUSAL_CUES), "refusal_phrases", "log_words", "list_or_code"]


# Function words and the verbs every request uses ("how do I", "write a", "tell me"). Harmful
# requests and look-alikes are mostly short questions and ordinary prompts mostly long tasks, so a
# model allowed to read these words learns the form of a request instead of its topic ("What is
# the capital of France?" came out risky). The risk model reads content words only.
_FUNCTION_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves
s t don doesn didn isn aren wasn weren won wouldn shouldn couldn can't i'm it's what's let's
tell give write make create explain describe provide show list help want need know get use please way ways
best good step steps detailed instructions guide tutorial someone something one people person thing things
like also many much may might must new time say said says go going using used without within
""".split())


def risk_features(text: str) -> set[str]:
    """The content words and content-word pairs of a prompt (lower-cased), as the risk model reads them."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _FUNCTION_WORDS and not w.isdigit()]
    return set(words) | {f"{a} {b}" for a, b in zip(words, words[1:])}


def response_features(response: str) -> list[float]:
    """The refusal model's designed features, in the order of `RESPONSE_EXTRA`."""
    start = response.lstrip()[:200]
    words = len(response.split())
    return [
        *(1.0 if cue.search(start) else 0.0 for cue in REFUSAL_CUES.values()),
        min(len(_REFUSAL_PHRASE.findall(response)), 3) / 3.0,
        math.log1p(words) / 8.0,
        1.0 if _LIST_OR_CODE.search(response) else 0.0,
    ]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


@dataclass(frozen=True)
class RiskModel:
    """Sparse logistic regression over `risk_features`; `threshold` is the decision cut."""

    weights: dict[str, float]
    bias: float
    threshold: float

    def probability(self, text: str) -> tuple[float, list[tuple[str, float]]]:
        """P(risky topic) and the features that pushed it up, strongest first (for the plan's reason)."""
        hits = [(f, self.weights[f]) for f in risk_features(text) if f in self.weights]
        p = _sigmoid(self.bias + sum(w for _, w in hits))
        return p, sorted((h for h in hits if h[1] > 0), key=lambda h: -h[1])


@dataclass(frozen=True)
class LinearProbe:
    """Logistic regression over a dense feature vector (an embedding, maybe plus extras)."""

    coef: Any  # numpy vector
    bias: float
    threshold: float = 0.5

    def probabilities(self, x: Any) -> list[float]:
        """P(positive) for each row of `x` (a [n, d] array)."""
        import numpy as np

        logits = np.asarray(x, dtype=np.float64) @ self.coef + self.bias
        return [_sigmoid(float(z)) for z in logits]


@dataclass(frozen=True)
class SafetyClassifiers:
    """The three models plus the file's metadata (id, seed, training data, held-out metrics)."""

    risk: RiskModel
    harm: LinearProbe
    refusal: LinearProbe
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.meta.get("id", "safety"))


def classifiers_from_dict(data: dict[str, Any]) -> SafetyClassifiers:
    """Build the models from the weights file's JSON (see `train.py` for the writer)."""
    import numpy as np

    try:
        risk = RiskModel(weights={k: float(v) for k, v in data["risk"]["weights"].items()},
                         bias=float(data["risk"]["bias"]), threshold=float(data["risk"]["threshold"]))
        harm = LinearProbe(coef=np.asarray(data["harm"]["coef"], dtype=np.float64), bias=float(data["harm"]["bias"]),
                           threshold=float(data["harm"]["threshold"]))
        refusal = LinearProbe(coef=np.asarray(data["refusal"]["coef"], dtype=np.float64),
                              bias=float(data["refusal"]["bias"]), threshold=float(data["refusal"]["threshold"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"safety classifier weights are malformed ({type(exc).__name__}: {exc})") from None
    return SafetyClassifiers(risk=risk, harm=harm, refusal=refusal, meta=data.get("meta", {}))


Embed = Callable[[list[str]], Any]


def minilm_embed(texts: list[str]) -> Any:
    """The bundled MiniLM's embeddings of `texts` ([n, 384] numpy), shared with the embedded RM."""
    from ...rm.minilm import load_minilm

    return load_minilm().encode(texts).numpy()


def request_vectors(prompts: list[str], embed: Embed | None = None) -> Any:
    """The harm model's input: each prompt's MiniLM embedding ([n, 384] numpy)."""
    return (embed or minilm_embed)(prompts)


def response_vectors(responses: list[str], embed: Embed | None = None) -> Any:
    """The refusal model's input: the MiniLM embedding of each response's opening, then `RESPONSE_EXTRA`."""
    import numpy as np

    openings = [r.strip()[:RESPONSE_OPENING_CHARS] or "(empty)" for r in responses]
    emb = (embed or minilm_embed)(openings)
    extra = np.asarray([response_features(r) for r in responses], dtype=np.float32).reshape(len(responses), -1)
    return np.concatenate([emb, extra], axis=1)


@lru_cache(maxsize=4)
def load_classifiers(path: str | None = None) -> SafetyClassifiers:
    """The shipped classifiers (or those in `path`), read once per process."""
    file = Path(path) if path else DEFAULT_WEIGHTS
    if not file.is_file():
        raise ConfigError(f"safety classifier weights {str(file)!r} not found; train them with `make train-safety`")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"safety classifier weights {str(file)!r} are not JSON: {exc}") from None
    return classifiers_from_dict(data)
