"""The transformers backend with a real (tiny) sequence-classification model: batching must not
change scores, chat templates are applied, multi-objective heads keep every objective."""

import pytest

from reward_agent.errors import ConfigError
from reward_agent.rm import AutoRM

# Every test here builds, saves and loads a real (tiny) transformers checkpoint.
pytestmark = pytest.mark.integration

PROMPTS = [
    "What is the boiling point of water at sea level?",
    "Write one sentence about the moon.",
    "Name a prime number larger than ten.",
]
RESPONSES = [
    "100 degrees Celsius.",
    "The moon is Earth's only natural satellite and it reflects sunlight; its phases follow a "
    "29.5-day cycle, and its gravity drives the ocean tides that shape coastlines around the world.",
    "Thirteen.",
    "I think it is 90 degrees, but I am not sure at all, it might be something else entirely.",
    "Moon.",
    "Eleven is prime, and so are 13, 17, 19 and 23; primes have no divisors but one and themselves.",
]


def pairs():
    return [PROMPTS[i % 3] for i in range(len(RESPONSES))], RESPONSES


def test_scores_do_not_depend_on_batch_size_or_padding(tiny_rm_dir):
    prompts, responses = pairs()
    reference = AutoRM.load(str(tiny_rm_dir), backend="transformers", batch_size=1).score_batch(prompts, responses).raw
    for batch_size in (2, 4, 16):
        rm = AutoRM.load(str(tiny_rm_dir), backend="transformers", batch_size=batch_size)
        out = rm.score_batch(prompts, responses)
        assert out.raw == pytest.approx(reference, abs=1e-5), batch_size
        assert out.details["batches"] == -(-len(responses) // batch_size)
    # One short pair alone vs. padded next to the longest one: same score.
    rm = AutoRM.load(str(tiny_rm_dir), backend="transformers", batch_size=8)
    alone = rm.score_batch(prompts[4], [responses[4]]).raw[0]
    padded = rm.score_batch([prompts[4], prompts[1]], [responses[4], responses[1]]).raw[0]
    assert alone == pytest.approx(padded, abs=1e-5)
    assert len(set(round(x, 4) for x in reference)) == len(reference)  # the head really discriminates


def test_batches_are_sorted_by_length_and_results_come_back_in_order(tiny_rm_dir):
    rm = AutoRM.load(str(tiny_rm_dir), backend="transformers", batch_size=2)
    prompts, responses = pairs()
    forward = rm.score_batch(prompts, responses).raw
    backward = rm.score_batch(prompts[::-1], responses[::-1]).raw
    assert backward[::-1] == pytest.approx(forward, abs=1e-5)


def test_text_pair_encoding_without_a_chat_template(tiny_rm_dir):
    rm = AutoRM.load(str(tiny_rm_dir), backend="transformers")
    (ids,) = rm.encode(rm_items("Q?", "A."))
    text = rm.tokenizer.decode(ids)
    assert text == "[CLS] q? [SEP] a. [SEP]"


def test_chat_template_is_applied(tiny_chat_rm_dir):
    rm = AutoRM.load(str(tiny_chat_rm_dir), backend="transformers")
    chat = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Q?"}]
    (ids,) = rm.encode(rm_items(chat, "A."))
    assert rm.tokenizer.decode(ids) == "[ system ] be brief [ user ] q? [ assistant ] a."
    out = rm.score_batch(chat, ["A.", "B, longer answer."])
    assert len(out.raw) == 2 and out.raw[0] != out.raw[1]


def test_multi_objective_heads_keep_each_objective(tiny_multi_rm_dir):
    rm = AutoRM.load(str(tiny_multi_rm_dir), backend="transformers", batch_size=3)
    prompts, responses = pairs()
    out = rm.score_batch(prompts, responses)
    assert set(out.objectives) == {"helpful", "correct", "safe"}
    assert out.raw == pytest.approx([sum(v) / 3 for v in zip(*out.objectives.values())])
    weighted = AutoRM.load(str(tiny_multi_rm_dir), backend="transformers", objective_weights=[1.0, 0.0, 0.0])
    assert weighted.score_batch(prompts, responses).raw == pytest.approx(out.objectives["helpful"], abs=1e-5)


def test_bad_settings_are_config_errors(tiny_rm_dir, tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):  # a path that is not there is named as such
        AutoRM.load(str(tmp_path / "missing"), backend="transformers")
    with pytest.raises(ConfigError, match="dtype"):
        AutoRM.load(str(tiny_rm_dir), backend="transformers", dtype="float8")
    with pytest.raises(ConfigError, match="CUDA"):
        import torch

        if torch.cuda.is_available():
            raise ConfigError("CUDA present; nothing to check")
        AutoRM.load(str(tiny_rm_dir), backend="transformers", device="cuda")


def rm_items(prompt, response):
    from reward_agent.rm.base import as_items

    return as_items(prompt, [response])
