"""Normalisation of raw RM scores to [0, 1]: each method, groups, the N = 1 fallback, bad input."""

import math

import pytest

from reward_agent.errors import ConfigError
from reward_agent.rm.normalise import Normalisation, normalise


def test_sigmoid_with_scale_and_shift():
    out = normalise([0.0, 2.0, -2.0], Normalisation(method="sigmoid", scale=2.0, shift=0.0))
    assert out.scores == pytest.approx([0.5, 1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))])
    assert out.normalisation == {"method": "sigmoid", "scale": 2.0, "shift": 0.0}
    # Extreme logits do not overflow.
    assert normalise([1e6, -1e6]).scores == [1.0, 0.0]


def test_rank_is_per_group_with_ties_averaged():
    out = normalise([3.0, 1.0, 2.0, 10.0, 10.0], Normalisation(method="rank"), groups=["a", "a", "a", "b", "b"])
    assert out.scores == [1.0, 0.0, 0.5, 0.5, 0.5]
    assert out.fallbacks == []


def test_zscore_maps_through_the_normal_cdf():
    out = normalise([1.0, 2.0, 3.0], Normalisation(method="zscore"))
    assert out.scores[1] == pytest.approx(0.5)
    assert out.scores[0] < 0.5 < out.scores[2]
    assert out.scores[0] == pytest.approx(1 - out.scores[2])
    assert normalise([4.0, 4.0], Normalisation(method="zscore")).scores == [0.5, 0.5]


@pytest.mark.parametrize("method", ["rank", "zscore"])
def test_a_group_of_one_falls_back_to_sigmoid_and_says_so(method):
    out = normalise([0.0, 5.0, 1.0], Normalisation(method=method), groups=["a", "b", "b"])
    assert out.scores[0] == 0.5
    assert len(out.fallbacks) == 1 and "one response" in out.fallbacks[0]


def test_linear_and_identity():
    assert normalise([1, 10, 5.5, 12], Normalisation(method="linear", low=1, high=10)).scores == [0.0, 1.0, 0.5, 1.0]
    assert normalise([0.2, 0.9], Normalisation(method="identity")).scores == [0.2, 0.9]
    with pytest.raises(ValueError, match="identity"):
        normalise([1.5], Normalisation(method="identity"))
    with pytest.raises(ConfigError, match="low < high"):
        Normalisation(method="linear", low=3, high=1)


def test_non_finite_raw_scores_are_refused():
    with pytest.raises(ValueError, match="not finite"):
        normalise([0.1, float("nan")])
