"""TRL's message shapes as the reward function receives them: tool calls, content blocks, tool turns."""

from __future__ import annotations

import pytest

from reward_agent.integrations.trl import _prompt_fields, _text, build_requests, content_text

TOOL_CALL = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}


def test_tool_call_only_completion_is_empty_text_not_none() -> None:
    assert _text([{"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}]) == ""
    assert _text([{"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]}]) == ""


def test_multi_turn_tool_completion_keeps_only_the_assistant_words() -> None:
    completion = [
        {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
        {"role": "tool", "name": "get_weather", "content": "22 C, sunny"},
        {"role": "assistant", "content": "It is sunny in Paris."},
    ]
    assert _text(completion) == "It is sunny in Paris."


def test_content_blocks_become_their_text() -> None:
    blocks = [{"type": "text", "text": "First part."}, {"type": "image", "image": None}, {"type": "text", "text": "Second."}]
    assert content_text(blocks) == "First part.\nSecond."
    assert _text([{"role": "assistant", "content": blocks}]) == "First part.\nSecond."
    fields = _prompt_fields([{"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
                             {"role": "user", "content": [{"type": "text", "text": "Say hi."}]}])
    assert [(m.role, m.content) for m in fields["messages"]] == [("system", "Be brief."), ("user", "Say hi.")]
    with pytest.raises(TypeError, match="content"):
        content_text(5)


def test_tool_turns_in_a_prompt_stay_visible() -> None:
    fields = _prompt_fields([{"role": "user", "content": "Weather?"},
                             {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
                             {"role": "tool", "content": "22 C"}, {"role": "user", "content": "In one word?"}])
    assert [m.role for m in fields["messages"]] == ["user", "assistant", "user", "user"]
    assert fields["messages"][2].content == "[tool] 22 C" and fields["messages"][1].content == ""


def test_reference_column_and_grouping() -> None:
    requests, indices = build_requests(["q1", "q1", "q2"], ["a", "b", "c"], {"answer": ["72", "72", "5"], "trainer_state": None})
    assert indices == [[0, 1], [2]] and [r.reference for r in requests] == ["72", "5"]
    requests, _ = build_requests(["q1"], ["a"], {"answer": ["72"]}, reference_columns=())
    assert requests[0].reference is None
