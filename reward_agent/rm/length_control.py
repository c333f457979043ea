"""Length and style control for a reward model's raw scores: a linear correction fitted once.

A reward model that pays for length and markdown can be corrected after the fact: regress its raw
score on style features of the response over the answers it was trained on, then subtract the
fitted style part (centred on the training mean, so an average-length plain answer keeps its
score):

    controlled = raw - sum_k coef_k * (feature_k - mean_k)

Features: `log_chars` (log of 1 + characters) and `markdown` (log of 1 + markdown marks: headings,
list items, bold, code fences, table rows). Only the style part that predicts the score across
*all* training answers is removed, so a long answer that is better still wins on the rest.

The coefficients are a small JSON file next to the head they were fitted for
(`weights/embedded_rm.length_control.json`, written by `benchmarks/bench_length_bias.py --export`),
which also records the calibration of the controlled score and the head it belongs to.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["FEATURES", "LengthControl", "style_features", "fit_length_control", "load_length_control"]

FEATURES = ("log_chars", "markdown")
_MARKDOWN = re.compile(r"(^\s{0,3}#{1,6}\s|^\s*(?:[-*+]|\d+[.)])\s+|\*\*[^*\n]+\*\*|^```|^\s*\|.*\|\s*$)", re.MULTILINE)


def style_features(text: str) -> list[float]:
    """The style features of a response, in the order of `FEATURES`."""
    return [math.log1p(len(text)), math.log1p(len(_MARKDOWN.findall(text)))]


@dataclass(frozen=True)
class LengthControl:
    """A fitted correction: `coef` and `mean` per feature, the controlled score's calibration."""

    coef: list[float]
    mean: list[float]
    shift: float
    scale: float
    head: str = ""

    def adjust(self, raw: float, text: str) -> float:
        f = style_features(text)
        return raw - sum(c * (x - m) for c, x, m in zip(self.coef, f, self.mean))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURES), "coef": self.coef, "mean": self.mean,
                "calibration": {"shift": self.shift, "scale": self.scale}, "head": self.head}


def fit_length_control(raw: list[float], texts: list[str], head: str = "") -> LengthControl:
    """Least squares of raw score on the style features (with an intercept) over `texts`."""
    import numpy as np

    if len(raw) < 10:
        raise ConfigError(f"fitting a length control needs at least 10 scored answers, got {len(raw)}")
    x = np.asarray([style_features(t) for t in texts], dtype=np.float64)
    y = np.asarray(raw, dtype=np.float64)
    mean = x.mean(axis=0)
    design = np.concatenate([x - mean, np.ones((len(y), 1))], axis=1)
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    coef = solution[: x.shape[1]]
    controlled = y - (x - mean) @ coef
    return LengthControl(coef=[round(float(c), 6) for c in coef], mean=[round(float(m), 6) for m in mean],
                         shift=round(float(controlled.mean()), 6), scale=round(float(controlled.std() or 1.0), 6),
                         head=head)


def load_length_control(path: str | Path) -> LengthControl:
    """Read a correction written by `LengthControl.to_dict` (a clear error when absent or malformed)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"length-control coefficients {str(file)!r} not found; fit them with "
                          "benchmarks/bench_length_bias.py --export")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"features {data['features']} are not {list(FEATURES)}")
        return LengthControl(coef=[float(c) for c in data["coef"]], mean=[float(m) for m in data["mean"]],
                             shift=float(data["calibration"]["shift"]), scale=float(data["calibration"]["scale"]),
                             head=str(data.get("head", "")))
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(f"length-control coefficients {str(file)!r} are malformed: {exc}") from None
