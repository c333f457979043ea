"""The length/markdown control of raw RM scores: the fit, the correction, the file, the option."""

import json
import math

import pytest

from reward_agent.errors import ConfigError
from reward_agent.rm.length_control import (
    FEATURES,
    LengthControl,
    fit_length_control,
    load_length_control,
    style_features,
)


def test_style_features_count_length_and_markdown():
    plain = style_features("a plain answer")
    marked = style_features("# Title\n\n- one\n- two\n\n**bold** text\n```\ncode\n```")
    assert plain == [pytest.approx(math.log1p(14)), 0.0]
    assert marked[1] == pytest.approx(math.log1p(6))  # heading, two items, bold, two fences


def test_fit_removes_a_pure_length_effect_and_keeps_the_rest():
    texts = ["x" * n for n in range(20, 2000, 37)]
    quality = [(-1.0) ** k for k in range(len(texts))]  # what length does not explain
    raw = [0.8 * style_features(t)[0] + q for t, q in zip(texts, quality)]
    control = fit_length_control(raw, texts, head="h")
    assert control.coef[0] == pytest.approx(0.8, abs=0.1)
    controlled = [control.adjust(r, t) for r, t in zip(raw, texts)]
    # After the correction the scores follow the quality term, not the length.
    assert all((c > control.shift) == (q > 0) for c, q in zip(controlled, quality))


def test_too_few_answers_is_a_config_error():
    with pytest.raises(ConfigError, match="at least 10"):
        fit_length_control([1.0, 2.0], ["a", "bb"])


def test_round_trip_and_malformed_files(tmp_path):
    control = LengthControl(coef=[0.5, 0.1], mean=[6.0, 1.0], shift=0.2, scale=0.9, head="h")
    path = tmp_path / "lc.json"
    path.write_text(json.dumps(control.to_dict()))
    assert load_length_control(path) == control
    path.write_text(json.dumps({**control.to_dict(), "features": ["chars"]}))
    with pytest.raises(ConfigError, match="malformed"):
        load_length_control(path)
    with pytest.raises(ConfigError, match="not found"):
        load_length_control(tmp_path / "missing.json")
    assert list(FEATURES) == control.to_dict()["features"]


@pytest.mark.integration
def test_embedded_rm_option_subtracts_the_fitted_part(tmp_path):
    from reward_agent.rm.embedded import EmbeddedRM

    path = tmp_path / "lc.json"
    path.write_text(json.dumps(LengthControl(coef=[1.0, 0.0], mean=[5.0, 0.0], shift=0.0, scale=1.0).to_dict()))
    texts = ["Tea is a drink.", "Tea is a drink made by steeping leaves in hot water. " * 8]
    plain = EmbeddedRM().score_batch("What is tea?", texts).raw
    controlled = EmbeddedRM(length_control=str(path))
    out = controlled.score_batch("What is tea?", texts)
    for p, c, t in zip(plain, out.raw, texts):
        assert c == pytest.approx(p - (math.log1p(len(t)) - 5.0), abs=1e-4)
    assert "length_control" in out.details and controlled.identity()["length_control"]["coef"] == [1.0, 0.0]
    # The shipped coefficients belong to the shipped head.
    assert EmbeddedRM(length_control=True).length_control.head == EmbeddedRM().head.meta["id"]
