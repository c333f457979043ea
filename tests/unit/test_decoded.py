"""Decoded trainer text back into chat and response: special tokens, chat-template framing, labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reward_agent.errors import ConfigError
from reward_agent.integrations.decoded import (
    CHAT_FORMATS,
    DEFAULT_SPECIAL_TOKENS,
    SpecialTokens,
    decode_prompt,
    decode_query,
    special_tokens_from_setting,
    tokens_from_tokenizer_files,
)
from reward_agent.integrations.labels import constraints_from_label, label_fields, plain, reference_from_label
from reward_agent.serve.openrlhf import GetRewardRequest, group_queries, take_url_token
from reward_agent.serve.limits import LimitExceeded

TOKENS = SpecialTokens()
USER = 'Describe tea. End with "Stay hydrated!"'
ANSWER = "Tea is calm. Stay hydrated!"

# The same question framed by each chat template as `apply_chat_template(add_generation_prompt=True)`
# writes it, and the end-of-generation tokens its model emits.
FRAMED = {
    "chatml": ("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n" + USER + "<|im_end|>\n<|im_start|>assistant\n",
               "<|im_end|><|endoftext|><|endoftext|>"),
    "llama3": ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\n" + USER + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
               "<|eot_id|>"),
    "gemma": ("<bos><start_of_turn>user\n" + USER + "<end_of_turn>\n<start_of_turn>model\n", "<end_of_turn>\n<eos>"),
    "phi3": ("<|system|>\nYou are helpful.<|end|>\n<|user|>\n" + USER + "<|end|>\n<|assistant|>\n", "<|end|><|endoftext|>"),
    "inst": ("<s>[INST] " + USER + " [/INST]", "</s>"),
    "deepseek": ("<\uff5cbegin\u2581of\u2581sentence\uff5c>You are helpful.<\uff5cUser\uff5c>" + USER + "<\uff5cAssistant\uff5c>",
                 "<\uff5cend\u2581of\u2581sentence\uff5c>"),
}


@pytest.mark.parametrize("name", sorted(FRAMED))
def test_each_template_gives_back_the_user_turn_and_the_bare_answer(name: str) -> None:
    prompt, end = FRAMED[name]
    answer = ANSWER if name != "inst" else " " + ANSWER
    for given_prompt in (prompt, None):  # with OpenRLHF's `prompts`, and from the query's own framing
        out = decode_query(prompt + answer + end, given_prompt, TOKENS)
        assert not isinstance(out, str), out
        decoded, response, stripped = out
        assert response == ANSWER
        assert decoded.messages is not None and decoded.messages[-1].role == "user" and decoded.messages[-1].content == USER
        assert stripped.format == name
        assert sum(stripped.response_tokens.values()) >= 1 and all(t in DEFAULT_SPECIAL_TOKENS for t in stripped.response_tokens)
    assert name in CHAT_FORMATS


def test_system_turn_kept_and_padding_before_the_prompt() -> None:
    prompt, _ = FRAMED["chatml"]
    decoded, response, stripped = decode_query("<|endoftext|>" * 3 + prompt + ANSWER + "<|im_end|>", prompt, TOKENS)
    assert [m.role for m in decoded.messages] == ["system", "user"] and response == ANSWER
    assert stripped.split == "prompt found in query" and stripped.prompt_tokens["<|endoftext|>"] == 3


def test_tokenizer_round_trip_that_moved_spaces_still_splits() -> None:
    # SentencePiece decoding can add a space after a special token: the prompt is no longer a
    # substring, but it is once special tokens are gone from both.
    prompt = "<s>[INST] Say hi [/INST]"
    decoded, response, stripped = decode_query("<s> [INST] Say hi [/INST] HI</s>", prompt, TOKENS)
    assert response == "HI" and stripped.split == "prompt found without special tokens"
    assert stripped.response_tokens == {"</s>": 1}


def test_plain_prompts_and_unsplittable_queries() -> None:
    decoded, response, stripped = decode_query("Q: hi A: yes</s>", "Q: hi A:", TOKENS)
    assert decoded.prompt == "Q: hi A:" and response == "yes" and stripped.format == "plain"
    assert decode_query("other text", "Q:", TOKENS) == "the prompt is not part of the query"
    assert "no chat-template framing" in decode_query("zzz", None, TOKENS)
    assert decode_prompt("<|im_end|>", TOKENS) == (None, "plain")


def test_response_without_special_tokens_is_left_as_it_is() -> None:
    prompt, _ = FRAMED["chatml"]
    _, response, stripped = decode_query(prompt + "  spaced  ", prompt, TOKENS)
    assert response == "  spaced  " and not stripped.response_tokens


def test_special_token_settings(tmp_path) -> None:
    assert special_tokens_from_setting(None).source == "default"
    custom = special_tokens_from_setting('["<eot>"]')
    assert custom.strip("a<eot><|im_end|>") == "a<|im_end|>"
    both = special_tokens_from_setting('default+["<eot>"]')
    assert both.strip("a<eot><|im_end|>") == "a"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({
        "added_tokens_decoder": {"0": {"content": "<|x_end|>", "special": True}, "1": {"content": "word", "special": False}},
        "eos_token": "<|x_end|>", "pad_token": {"content": "<|x_pad|>"}}))
    from_files = tokens_from_tokenizer_files(tmp_path)
    assert set(from_files) == {"<|x_end|>", "<|x_pad|>"}
    assert special_tokens_from_setting(str(tmp_path)).strip("ok<|x_end|><|x_pad|>") == "ok"
    with pytest.raises(ConfigError, match="JSON list"):
        special_tokens_from_setting("[nope")
    with pytest.raises(ConfigError, match="no special tokens"):
        special_tokens_from_setting(str(tmp_path / "missing"))


def test_labels_numpy_and_references() -> None:
    ids = {"instruction_id_list": np.array(["punctuation:no_comma"]), "kwargs": np.array([{"x": None}], dtype=object)}
    assert plain(ids) == {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{"x": None}]}
    assert constraints_from_label(ids)[0].id == "punctuation:no_comma"
    assert constraints_from_label(json.dumps([{"id": "punctuation:no_comma"}]))[0].kwargs == {}
    assert constraints_from_label("Paris") is None
    assert reference_from_label(np.int64(72)) == "72" and reference_from_label(np.float32(0.5)) == "0.5"
    assert reference_from_label(np.array(["72"])) == "72"
    assert reference_from_label(np.array(["72", "seventy-two"])) == '["72", "seventy-two"]'
    assert reference_from_label("") is None and reference_from_label(None) is None
    assert label_fields("72") == {"reference": "72"} and label_fields("") == {}


def test_grouping_by_decoded_prompt_and_the_limit() -> None:
    prompt, end = FRAMED["chatml"]
    body = GetRewardRequest(query=[prompt + f"answer {i}" + end for i in range(4)] + ["zzz"],
                            prompts=[prompt] * 4 + ["nope"], labels=["72", "72", "", "", ""])
    grouped = group_queries(body, TOKENS)
    assert [g.indices for g in grouped.groups] == [[0, 1], [2, 3]]
    assert grouped.groups[0].request.reference == "72" and grouped.groups[1].request.reference is None
    assert grouped.groups[0].request.responses == ["answer 0", "answer 1"]
    assert set(grouped.unsplit) == {4}
    with pytest.raises(LimitExceeded, match="the limit is 1"):
        group_queries(body, TOKENS, max_responses=1)


@pytest.mark.parametrize(
    ("path", "query", "token", "new_path", "new_query"),
    [
        ("/get_reward/s3cret", b"", "s3cret", "/get_reward", b""),
        ("/get_reward", b"token=s3cret&x=1", "s3cret", "/get_reward", b"x=1"),
        ("/get_reward", b"", None, "/get_reward", b""),
        ("/v1/score", b"token=s3cret", None, "/v1/score", b"token=s3cret"),  # only /get_reward takes it
        ("/get_reward/a/b", b"", None, "/get_reward/a/b", b""),
    ],
)
def test_url_token_is_taken_out_of_the_scope(path: str, query: bytes, token: str | None, new_path: str, new_query: bytes) -> None:
    scope = {"path": path, "raw_path": path.encode(), "query_string": query}
    assert take_url_token(scope) == token
    assert scope["path"] == new_path and scope["query_string"] == new_query
