"""The protocol and the backends that need no model: custom callables, the loader, ensembles,
the cache wrapper and step (PRM) scoring. Failures must surface as RMError, never as scores."""

import asyncio

import pytest

from reward_agent.cache import Cache
from reward_agent.errors import ConfigError, UnknownIdError
from reward_agent.rm import AutoRM, CachedRM, EnsembleRM, Normalisation, RMError, StepRM
from reward_agent.rm.auto import BACKENDS, register_backend
from reward_agent.rm.base import RawScores, RewardModel, as_items
from reward_agent.rm.prm import score_steps


def length_rm(prompts, completions, **kwargs):
    """TRL-style reward function: longer is better (a deliberately hackable toy)."""
    assert len(kwargs["chats"]) == len(prompts)
    return [float(len(c)) for c in completions]


class CountingRM(RewardModel):
    """Counts the pairs it scores; score = number of words."""

    backend = "counting"

    def __init__(self):
        self.seen = []

    def _score_raw(self, items):
        self.seen.extend(items)
        return RawScores(raw=[float(len(it.response.split())) for it in items], model_calls=1)


def test_one_prompt_is_shared_by_all_responses_and_chats_are_kept():
    items = as_items("Q?", ["a", "b"])
    assert [it.chat for it in items] == [(("user", "Q?"),)] * 2
    chat = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Q?"}]
    items = as_items(chat, ["a"])
    assert items[0].prompt == "Q?" and items[0].messages()[-1] == {"role": "assistant", "content": "a"}
    with pytest.raises(RMError, match="2 prompts for 3 responses"):
        as_items(["p1", "p2"], ["a", "b", "c"])


def test_custom_callable_with_the_trl_signature():
    rm = AutoRM.load(length_rm)
    out = rm.score_batch("Q?", ["ab", "abcd"])
    assert out.raw == [2.0, 4.0]
    assert out.normalisation["method"] == "sigmoid"
    assert 0 < out.scores[0] < out.scores[1] < 1
    assert rm.score("Q?", "abc") == pytest.approx(1 / (1 + pow(2.718281828459045, -3)))


def test_custom_by_import_string_and_subclass():
    by_name = AutoRM.load("test_rm_core:length_rm", backend="custom")
    assert by_name.score_batch("Q", ["abc"]).raw == [3.0]
    rm = AutoRM.load(CountingRM, backend="custom")
    assert rm.score_batch("Q", ["one two", "one"]).raw == [2.0, 1.0]


def test_a_raising_or_lying_custom_model_is_an_rm_error():
    def boom(prompts, completions, **kw):
        raise ValueError("scorer exploded")

    with pytest.raises(RMError, match="scorer exploded"):
        AutoRM.load(boom).score_batch("Q", ["a"])
    with pytest.raises(RMError, match="returned 1 scores for 2 pairs"):
        AutoRM.load(lambda p, c, **k: [1.0]).score_batch("Q", ["a", "b"])
    with pytest.raises(RMError, match="non-finite"):
        AutoRM.load(lambda p, c, **k: [float("nan")]).score_batch("Q", ["a"])


def test_loader_errors_name_the_problem():
    with pytest.raises(UnknownIdError, match="Did you mean 'transformers'"):
        AutoRM.load("x", backend="transformer")
    with pytest.raises(ConfigError, match="did you mean 'batch_size'"):
        AutoRM.load("http://127.0.0.1:1/get_reward", backend="http", batchsize=4)


def test_registered_backend_and_rank_normalisation_per_prompt():
    register_backend("counting", CountingRM)
    try:
        rm = AutoRM.load(backend="counting")
        out = rm.score_batch(["p1", "p1", "p1", "p2"], ["a b c", "a", "a b", "x"], normalisation=Normalisation(method="rank"))
        assert out.scores[:3] == [1.0, 0.0, 0.5]
        assert out.scores[3] == pytest.approx(0.7310585786)  # alone for its prompt: sigmoid(1)
        assert out.fallbacks
    finally:
        BACKENDS.unregister("counting")


def test_ensemble_mean_and_conservative_min():
    words = CountingRM()
    chars = AutoRM.load(length_rm)
    mean = EnsembleRM([(words, 1.0), (chars, 3.0)], mode="mean")
    low = EnsembleRM([words, chars], mode="min")
    out_mean = mean.score_batch("Q", ["a b", "abcdefgh"])
    out_min = low.score_batch("Q", ["a b", "abcdefgh"])
    s_words = [1 / (1 + pow(2.718281828459045, -x)) for x in (2, 1)]
    s_chars = [1 / (1 + pow(2.718281828459045, -x)) for x in (3, 8)]
    assert out_mean.raw == pytest.approx([(w + 3 * c) / 4 for w, c in zip(s_words, s_chars)])
    assert out_min.raw == pytest.approx([min(w, c) for w, c in zip(s_words, s_chars)])
    assert out_mean.normalisation["method"] == "identity" and out_mean.scores == out_mean.raw
    assert set(out_mean.objectives) == {"member_0", "member_1"}


def test_ensemble_fails_when_a_member_fails():
    def boom(p, c, **k):
        raise RuntimeError("down")

    ens = EnsembleRM([CountingRM(), AutoRM.load(boom)])
    with pytest.raises(RMError, match="member 1"):
        ens.score_batch("Q", ["a"])
    with pytest.raises(RMError, match="member 1"):
        asyncio.run(ens.ascore_batch("Q", ["a"]))


def test_cache_wrapper_scores_only_the_misses_in_one_batch():
    inner = CountingRM()
    rm = CachedRM(inner, Cache(":memory:"))
    first = rm.score_batch("Q", ["a b", "c"])
    second = rm.score_batch("Q", ["c", "d e f", "a b"])
    assert [it.response for it in inner.seen] == ["a b", "c", "d e f"]  # only the new pair was scored
    assert second.raw == [1.0, 3.0, 2.0] and first.raw == [2.0, 1.0]
    assert (rm.hits, rm.misses) == (2, 3)
    assert second.details["cache_hits"] == 2
    # A different prompt is a different pair.
    rm.score_batch("Other", ["c"])
    assert len(inner.seen) == 4


def test_the_caches_of_loaded_rms_are_counted_by_the_batch_accounting(monkeypatch):
    from reward_agent.batch.efficiency import cache_snapshot
    from reward_agent.rm import auto
    from reward_agent.rm.spec import RMSpec

    monkeypatch.setattr(auto, "_LOADED", {})  # this process's loaded models, for this test only
    assert auto.loaded_rm_caches() == []
    cache = Cache(":memory:")
    cached = CachedRM(CountingRM(), cache)
    auto.bind_rm(RMSpec(backend="custom", model="cached"), cached)
    auto.bind_rm(RMSpec(backend="custom", model="plain"), CountingRM())  # no cache: nothing to count
    assert auto.loaded_rm_caches() == [cache]
    before = cache_snapshot()
    cached.score_batch("Q", ["a", "b"])
    cached.score_batch("Q", ["a"])
    after = cache_snapshot()
    h0, m0 = before.get("rm.scores", (0, 0))
    assert after["rm.scores"] == (h0 + 1, m0 + 2)


def test_step_scoring_aggregates():
    class StepAware(RewardModel):
        """Scores a prefix by its last step: 'ok' steps are good, 'bad' ones are bad."""

        def _score_raw(self, items):
            return RawScores(raw=[2.0 if it.response.rsplit("\n", 1)[-1] == "ok" else -2.0 for it in items])

    answer = "ok\nbad\n\nok"
    good, bad = 1 / (1 + pow(2.718281828459045, -2.0)), 1 / (1 + pow(2.718281828459045, 2.0))
    for aggregate, expected in [("min", bad), ("product", good * bad * good), ("last", good),
                                ("mean", (2 * good + bad) / 3)]:
        out = StepRM(StepAware(), delimiter="\n", aggregate=aggregate).score_batch("Q", [answer, "ok"])
        assert out.raw[0] == pytest.approx(expected), aggregate
        assert out.details["steps"][0]["n_steps"] == 3 and out.details["steps"][1]["n_steps"] == 1
    assert score_steps(StepAware(), "Q", answer, delimiter="\n") == pytest.approx([good, bad, good])
    with pytest.raises(ConfigError, match="aggregate"):
        StepRM(StepAware(), aggregate="max")


def test_ensemble_and_prm_from_configuration():
    ens = AutoRM.load(backend="ensemble", mode="min", members=[
        {"backend": "custom", "model": "test_rm_core:length_rm", "weight": 2.0},
        {"backend": "custom", "model": "test_rm_core:length_rm", "normalisation": {"method": "linear", "low": 0, "high": 10}},
    ])
    out = ens.score_batch("Q", ["abcde"])
    assert out.raw == pytest.approx([min(1 / (1 + pow(2.718281828459045, -5)), 0.5)])
    prm = AutoRM.load(backend="prm", base={"backend": "custom", "model": "test_rm_core:length_rm"},
                      delimiter="\n", aggregate="last")
    out = prm.score_batch("Q", ["ab\ncd"])
    assert out.details["steps"][0]["n_steps"] == 2
    assert out.raw[0] == pytest.approx(1 / (1 + pow(2.718281828459045, -5)))  # the whole answer "ab\ncd"
