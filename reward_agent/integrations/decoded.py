"""Text decoded by a trainer's tokenizer, back into a chat and a response.

RL trainers that talk to a remote reward model (OpenRLHF's `--remote_rm_url`) send what
`tokenizer.decode(..., skip_special_tokens=False)` gives: the prompt *after* the chat template,
followed by the generated tokens, special tokens included. A Qwen response therefore arrives as
`"...Stay hydrated!<|im_end|>"`, maybe padded with `<|endoftext|>`, after a prompt framed as
`<|im_start|>user\\n...<|im_end|>\\n<|im_start|>assistant\\n`. Scored as it is, `end_checker`,
`json_format` and the capital-letters checker fail answers that follow their constraint.

This module undoes that framing, and says what it removed:

* `SpecialTokens`: the tokens to remove (a default list covering the common chat templates, or
  a configured list, or a tokenizer's own special tokens read from its `tokenizer_config.json`
  / `tokenizer.json`);
* `CHAT_FORMATS`: a registry of chat-template parsers (ChatML, Llama 3, Gemma, Phi-3, Mistral /
  Llama 2 `[INST]`, DeepSeek), each turning templated text into turns;
* `decode_prompt` and `decode_query`: a templated prompt into messages; a query (prompt +
  response) into messages and the response, with a `Stripped` record of what was removed.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..registry import Registry
from ..types import Message

SPECIAL_TOKENS_ENV = "REWARD_AGENT_SPECIAL_TOKENS"

# Special tokens of the common chat templates. Stripped wherever they occur in a response: a
# generation stops at its end-of-turn token, so after it there is only padding.
DEFAULT_SPECIAL_TOKENS: tuple[str, ...] = (
    # ChatML (Qwen, SmolLM, Yi, OpenHermes...)
    "<|im_start|>", "<|im_end|>", "<|endoftext|>",
    # Llama 3
    "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>",
    "<|finetune_right_pad_id|>",
    # Llama 2 / Mistral / SentencePiece
    "<s>", "</s>", "<pad>", "<unk>",
    # Gemma
    "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>",
    # Phi-3
    "<|system|>", "<|user|>", "<|assistant|>", "<|end|>",
    # DeepSeek (full-width bars, U+FF5C, and U+2581 for spaces)
    "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cend\u2581of\u2581sentence\uff5c>",
    "<\uff5cUser\uff5c>", "<\uff5cAssistant\uff5c>", "<\uff5cpad\uff5c>",
    # generic
    "<|pad|>", "<|padding|>", "[PAD]",
)


@dataclass(frozen=True)
class SpecialTokens:
    """The special tokens to strip, matched longest first so `<|im_end|>` never half-matches."""

    tokens: tuple[str, ...] = DEFAULT_SPECIAL_TOKENS
    source: str = "default"

    def __post_init__(self) -> None:
        if not self.tokens or not all(isinstance(t, str) and t for t in self.tokens):
            raise ConfigError(f"special tokens ({self.source}) must be a non-empty list of non-empty strings")

    @property
    def pattern(self) -> re.Pattern[str]:
        return _alternation(self.tokens)

    def strip(self, text: str, counts: Counter[str] | None = None) -> str:
        """`text` without any of the tokens; each removal is counted in `counts`."""

        def drop(match: re.Match[str]) -> str:
            if counts is not None:
                counts[match.group(0)] += 1
            return ""

        return self.pattern.sub(drop, text)


@lru_cache(maxsize=32)
def _alternation(tokens: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(t) for t in sorted(set(tokens), key=len, reverse=True)))


def tokens_from_tokenizer_files(path: str | Path) -> tuple[str, ...]:
    """A tokenizer's special tokens, read from its files (no transformers import, no download).

    `path` is a tokenizer directory, or its `tokenizer_config.json` or `tokenizer.json`. Tokens
    marked `"special": true` are taken, plus the named ones (`bos_token`, `eos_token`, ...).
    """
    path = Path(path).expanduser()
    files = [path / "tokenizer_config.json", path / "tokenizer.json"] if path.is_dir() else [path]
    found: list[str] = []
    for file in files:
        if not file.is_file():
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"tokenizer file {str(file)!r} is not readable JSON: {exc}") from None
        for entry in (data.get("added_tokens_decoder") or {}).values():  # tokenizer_config.json
            if isinstance(entry, dict) and entry.get("special") and entry.get("content"):
                found.append(entry["content"])
        for entry in data.get("added_tokens") or ():  # tokenizer.json
            if isinstance(entry, dict) and entry.get("special") and entry.get("content"):
                found.append(entry["content"])
        for key in ("bos_token", "eos_token", "pad_token", "unk_token", "additional_special_tokens"):
            for value in _as_list(data.get(key)):
                token = value.get("content") if isinstance(value, dict) else value
                if isinstance(token, str) and token:
                    found.append(token)
    if not found:
        raise ConfigError(f"no special tokens found at {str(path)!r} (expected tokenizer_config.json or tokenizer.json)")
    return tuple(dict.fromkeys(found))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def special_tokens_from_setting(value: str | None) -> SpecialTokens:
    """`$REWARD_AGENT_SPECIAL_TOKENS`: unset = the defaults; a JSON list of tokens; `default+` a
    JSON list (the defaults plus those); or a path to a tokenizer (its special tokens)."""
    if value is None or not value.strip():
        return SpecialTokens()
    text = value.strip()
    extend = text.startswith("default+")
    if extend:
        text = text[len("default+"):].strip()
    if text.startswith("["):
        try:
            tokens = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"${SPECIAL_TOKENS_ENV} is not a JSON list: {exc}") from None
        if not isinstance(tokens, list):
            raise ConfigError(f"${SPECIAL_TOKENS_ENV} must be a JSON list of strings")
        listed = tuple(tokens)
        source = "configured list"
    else:
        listed = tokens_from_tokenizer_files(text)
        source = f"tokenizer {text}"
    if extend:
        return SpecialTokens(tuple(dict.fromkeys(DEFAULT_SPECIAL_TOKENS + listed)), f"default + {source}")
    return SpecialTokens(listed, source)


@lru_cache(maxsize=8)
def _special_tokens_cached(value: str | None) -> SpecialTokens:
    return special_tokens_from_setting(value)


def special_tokens_from_env() -> SpecialTokens:
    """The special tokens this process strips (read from the environment, parsed once per value)."""
    return _special_tokens_cached(os.environ.get(SPECIAL_TOKENS_ENV))


# -- chat templates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One turn of templated text. `closed` is False for the last turn when its end marker is
    missing: the assistant slot a prompt opens, or a generation that was cut off."""

    role: str
    content: str
    closed: bool
    start: int  # offset of the content in the parsed text


@dataclass(frozen=True)
class ChatFormat:
    """A chat template's framing: whether text uses it, and how to cut it into turns."""

    name: str
    detect: Callable[[str], bool]
    parse: Callable[[str], list[Turn]]


CHAT_FORMATS: Registry[ChatFormat] = Registry("chat format")

_ROLES = {"system": "system", "user": "user", "human": "user", "assistant": "assistant", "model": "assistant",
          "gpt": "assistant", "bot": "assistant"}


def _turns(pattern: re.Pattern[str], text: str, end_group: int = 3) -> list[Turn]:
    return [Turn(m.group(1).strip().lower(), m.group(2), bool(m.group(end_group)), m.start(2)) for m in pattern.finditer(text)]


_CHATML = re.compile(r"<\|im_start\|>([^\n<]*)\n?(.*?)(<\|im_end\|>|(?=<\|im_start\|>)|$)", re.S)
_LLAMA3 = re.compile(r"<\|start_header_id\|>([^<]*)<\|end_header_id\|>\n{0,2}(.*?)(<\|eot_id\|>|<\|eom_id\|>|(?=<\|start_header_id\|>)|$)", re.S)
_GEMMA = re.compile(r"<start_of_turn>([^\n<]*)\n?(.*?)(<end_of_turn>|(?=<start_of_turn>)|$)", re.S)
_PHI3 = re.compile(r"<\|(system|user|assistant)\|>\n?(.*?)(<\|end\|>|(?=<\|(?:system|user|assistant)\|>)|$)", re.S)


def _parse_inst(text: str) -> list[Turn]:
    """Mistral / Llama 2: `<s>[INST] user [/INST] answer</s>[INST] ...`, system in `<<SYS>>`."""
    turns: list[Turn] = []
    for m in re.finditer(r"\[INST\](.*?)\[/INST\](.*?)(?=\[INST\]|$)", text, re.S):
        user = m.group(1)
        system = re.search(r"<<SYS>>\n?(.*?)\n?<</SYS>>\s*", user, re.S)
        if system:
            turns.append(Turn("system", system.group(1), True, m.start(1) + system.start(1)))
            user = user[: system.start()] + user[system.end():]
        turns.append(Turn("user", user.strip(), True, m.start(1)))
        answer = m.group(2)
        closed = "</s>" in answer
        turns.append(Turn("assistant", answer.split("</s>")[0].lstrip(" "), closed, m.start(2)))
    return turns


_DS_USER, _DS_ASSISTANT = "<\uff5cUser\uff5c>", "<\uff5cAssistant\uff5c>"
_DS_BOS, _DS_EOS = "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cend\u2581of\u2581sentence\uff5c>"


def _parse_deepseek(text: str) -> list[Turn]:
    """DeepSeek: `<bos>{system}<User>{user}<Assistant>{answer}<eos><User>...`."""
    turns: list[Turn] = []
    first = text.find(_DS_USER)
    head_start = text.rfind(_DS_BOS, 0, first) + len(_DS_BOS) if _DS_BOS in text[:first] else 0
    if text[head_start:first].strip():
        turns.append(Turn("system", text[head_start:first], True, head_start))
    pattern = re.compile(re.escape(_DS_USER) + "(.*?)(?:" + re.escape(_DS_ASSISTANT) + "(.*?))?(?=" + re.escape(_DS_USER) + "|$)", re.S)
    for m in pattern.finditer(text):
        turns.append(Turn("user", m.group(1), True, m.start(1)))
        if m.group(2) is not None:
            answer = m.group(2)
            turns.append(Turn("assistant", answer.split(_DS_EOS)[0], _DS_EOS in answer, m.start(2)))
    return turns


CHAT_FORMATS.register("chatml", ChatFormat("chatml", lambda t: "<|im_start|>" in t, lambda t: _turns(_CHATML, t)))
CHAT_FORMATS.register("llama3", ChatFormat("llama3", lambda t: "<|start_header_id|>" in t, lambda t: _turns(_LLAMA3, t)))
CHAT_FORMATS.register("gemma", ChatFormat("gemma", lambda t: "<start_of_turn>" in t, lambda t: _turns(_GEMMA, t)))
CHAT_FORMATS.register("phi3", ChatFormat("phi3", lambda t: "<|user|>" in t, lambda t: _turns(_PHI3, t)))
CHAT_FORMATS.register("inst", ChatFormat("inst", lambda t: "[INST]" in t and "[/INST]" in t, _parse_inst))
CHAT_FORMATS.register("deepseek", ChatFormat("deepseek", lambda t: _DS_USER in t, _parse_deepseek))


def detect_format(text: str) -> ChatFormat | None:
    """The first registered chat format whose framing `text` carries, or None (plain text)."""
    for name in CHAT_FORMATS:
        fmt = CHAT_FORMATS.get(name)
        if fmt.detect(text):
            return fmt
    return None


# -- decoding --------------------------------------------------------------------------------------


@dataclass
class Stripped:
    """What was removed from one query before scoring (reported back to the caller).

    `format` is the chat template recognised in the prompt ("plain" for none); `split` says how
    the response was cut off the query; `response_tokens` counts the special tokens removed from
    the response (what is scored), `prompt_tokens` those removed with the prompt's framing.
    """

    format: str = "plain"
    split: str = "none"
    response_tokens: Counter[str] = field(default_factory=Counter)
    prompt_tokens: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "split": self.split, "response_tokens": dict(self.response_tokens),
                "prompt_tokens": dict(self.prompt_tokens)}


@dataclass
class DecodedPrompt:
    """A prompt as a RewardRequest takes it: a bare `prompt`, or `messages` ending in a user turn."""

    prompt: str | None = None
    messages: list[Message] | None = None

    def fields(self) -> dict[str, Any]:
        if self.messages is not None:
            return {"messages": [m.model_dump() for m in self.messages]}
        return {"prompt": self.prompt}

    def key(self) -> str:
        return json.dumps(self.fields(), sort_keys=True)


def _messages(turns: Iterable[Turn], tokens: SpecialTokens) -> list[Message]:
    out = []
    for turn in turns:
        role = _ROLES.get(turn.role)
        if role is None:  # tool / ipython turns: kept as user-visible context
            role, content = "user", f"[{turn.role}] {turn.content}"
        else:
            content = turn.content
        out.append(Message(role=role, content=tokens.strip(content).strip()))  # type: ignore[arg-type]
    return out


def _chat(turns: list[Turn], tokens: SpecialTokens) -> list[Message] | None:
    """The turns as messages ending in the last user turn (what the responses answer), or None
    when there is no user turn with text."""
    messages = _messages(turns, tokens)
    while messages and not (messages[-1].role == "user" and messages[-1].content):
        messages.pop()
    return messages or None


def decode_prompt(text: str, tokens: SpecialTokens) -> tuple[DecodedPrompt | None, str]:
    """A templated prompt as a chat, or its plain text; and the name of the format recognised.

    The prompt's trailing empty assistant slot (`<|im_start|>assistant\\n`) is dropped. None when
    nothing is left (a prompt of special tokens only)."""
    fmt = detect_format(text)
    if fmt is not None:
        messages = _chat(fmt.parse(text), tokens)
        if messages is not None:
            return DecodedPrompt(messages=messages), fmt.name
    plain = tokens.strip(text).strip()
    return (DecodedPrompt(prompt=plain) if plain else None), "plain"


def _strip_response(raw: str, tokens: SpecialTokens, counts: Counter[str]) -> str:
    """The response without special tokens; whitespace that only framed them goes too."""
    cleaned = tokens.strip(raw, counts)
    return cleaned.strip() if cleaned != raw else cleaned


def decode_query(query: str, prompt: str | None, tokens: SpecialTokens) -> tuple[DecodedPrompt, str, Stripped] | str:
    """Split a query (templated prompt + generated text) into prompt and response.

    Tries, in order: the prompt as a prefix of the query (the normal case); the prompt's last
    occurrence (a tokenizer may add a BOS or padding before it); the prompt found once special
    tokens are stripped from both; and, when no prompt is given or none of that works, the
    query's own chat-template framing (its last assistant turn is the response). Returns the
    reason as a string when none of these works.
    """
    stripped = Stripped()
    if prompt is not None and prompt.strip():
        decoded, stripped.format = decode_prompt(prompt, tokens)
        if decoded is None:
            return "the prompt is empty once special tokens are stripped"
        if query.startswith(prompt):
            stripped.split = "prompt prefix"
            tokens.strip(prompt, stripped.prompt_tokens)
            return decoded, _strip_response(query[len(prompt):], tokens, stripped.response_tokens), stripped
        if (at := query.rfind(prompt)) >= 0:
            stripped.split = "prompt found in query"
            tokens.strip(query[: at + len(prompt)], stripped.prompt_tokens)
            return decoded, _strip_response(query[at + len(prompt):], tokens, stripped.response_tokens), stripped
        bare_query, bare_prompt = tokens.strip(query), tokens.strip(prompt).strip()
        if bare_prompt and (at := bare_query.find(bare_prompt)) >= 0:
            # A tokenizer round trip changed the framing (spaces around special tokens): the
            # tokens are matched over the whole query, the prompt's share counted as framing.
            stripped.split = "prompt found without special tokens"
            tokens.strip(prompt, stripped.prompt_tokens)
            tokens.strip(query, stripped.response_tokens)
            stripped.response_tokens.subtract(stripped.prompt_tokens)
            stripped.response_tokens = +stripped.response_tokens
            return decoded, bare_query[at + len(bare_prompt):].strip(), stripped
    fmt = detect_format(query)
    if fmt is None:
        if prompt is None or not prompt.strip():
            return "no prompt given, and the query has no chat-template framing to split it by"
        return "the prompt is not part of the query"
    turns = fmt.parse(query)
    last = max((i for i, t in enumerate(turns) if _ROLES.get(t.role) == "assistant"), default=None)
    messages = _chat(turns[:last], tokens) if last is not None else None
    if last is None or messages is None:
        return f"the query's {fmt.name} framing has no user turn followed by an assistant turn"
    stripped.format, stripped.split = fmt.name, f"{fmt.name} framing of the query"
    start = turns[last].start
    tokens.strip(query[:start], stripped.prompt_tokens)
    response = _strip_response(query[start:], tokens, stripped.response_tokens)
    return DecodedPrompt(messages=messages), response, stripped
