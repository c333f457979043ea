"""Final-answer extraction: which part of a response (or of a reference) is the answer.

Every rule has a name, and the name of the rule that decided is recorded in the evidence, so a
reward can always be traced back to the words it read. Rules, tried in this order:

- `boxed`: the last `\\boxed{...}` (or `\\fbox{...}`), braces balanced;
- `hashes`: the last `#### X` line (GSM8K's own answer format);
- `answer_line`: the last line that starts with `A:`, `Answer:` or `Final answer:`;
- `answer_is`: the last "the (final) answer is X" phrase;
- `whole_response`: the whole text, when it is one short line (a bare "72", or "Paris");
- `last_number`: the last number in the text. A fallback, and an explicit one: it reads
  unfinished or unformatted solutions the way most GSM8K graders do, and the evidence says
  when it was used (callers who do not want it pass `allow_last_number=False`).

GSM8K's calculator annotations (`<<16-3=13>>`) are removed first: their numbers are
intermediate results, never the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

ExtractionRule = Literal["boxed", "hashes", "answer_line", "answer_is", "whole_response", "last_number"]

# A reference or response longer than this (after extraction) is not a short answer: it is free
# text, and comparing it by value or by normalised string would be meaningless.
MAX_SHORT_ANSWER_CHARS = 200

_CALCULATOR = re.compile(r"<<[^<>]*>>")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_HASHES = re.compile(r"^\s*####\s*(.+?)\s*$", re.MULTILINE)
_ANSWER_LINE = re.compile(r"^\s*(?:\*\*)?(?:final\s+answer|answer|a)(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*(.+?)\s*$",
                          re.IGNORECASE | re.MULTILINE)
_ANSWER_IS = re.compile(r"\bthe\s+(?:final\s+)?answer\s+is\s*[:：]?\s*(.+?)(?:\.\s|\.?$|\n)",
                        re.IGNORECASE | re.MULTILINE)
# Thousands separators only in groups of three ("1,000" is 1000; "3,4" is two numbers).
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])|(?<![\w.])-?\.\d+(?![\w])")
_NUMERIC_ONLY = re.compile(r"^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?$|^[-+]?\.\d+$")


@dataclass(frozen=True)
class Extraction:
    """The answer read from a text, and the rule that read it."""

    answer: str
    rule: ExtractionRule


def strip_calculator_annotations(text: str) -> str:
    """Remove GSM8K's `<<expression=result>>` annotations."""
    return _CALCULATOR.sub("", text)


def _last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...}, braces balanced; None if there is none or it is unclosed."""
    found = None
    for match in _BOXED.finditer(text):
        depth, start = 1, match.end()
        for pos in range(start, len(text)):
            if text[pos] == "{":
                depth += 1
            elif text[pos] == "}":
                depth -= 1
                if depth == 0:
                    found = text[start:pos]
                    break
    return found.strip() if found is not None else None


def _last(pattern: re.Pattern[str], text: str) -> str | None:
    matches = [m.group(1).strip() for m in pattern.finditer(text)]
    matches = [m for m in matches if m]
    return matches[-1] if matches else None


def _clean(answer: str) -> str:
    """Strip the wrappers around a marked answer: markdown bold, a trailing full stop."""
    answer = answer.strip().strip("*").strip()
    if answer.endswith(".") and not _NUMERIC_ONLY.match(answer):
        answer = answer[:-1].rstrip()
    return answer


def extract_answer(text: str, *, allow_last_number: bool = True) -> Extraction | None:
    """The final answer of `text` by the first rule that finds one; None when none does."""
    text = strip_calculator_annotations(text)
    for rule, finder in (
        ("boxed", _last_boxed),
        ("hashes", lambda t: _last(_HASHES, t)),
        ("answer_line", lambda t: _last(_ANSWER_LINE, t)),
        ("answer_is", lambda t: _last(_ANSWER_IS, t)),
    ):
        found = finder(text)
        if found:
            cleaned = _clean(found)
            if cleaned:
                return Extraction(cleaned, rule)  # type: ignore[arg-type]
    stripped = text.strip()
    if stripped and "\n" not in stripped and len(stripped) <= MAX_SHORT_ANSWER_CHARS:
        if _NUMERIC_ONLY.match(normalise_number_text(stripped)) or not allow_last_number or not _NUMBER.search(stripped):
            return Extraction(_clean(stripped), "whole_response")
    if allow_last_number:
        numbers = _NUMBER.findall(text)
        if numbers:
            return Extraction(numbers[-1], "last_number")
    return None


def extract_reference(reference: str) -> Extraction:
    """The gold answer of a reference: its marked answer (a worked GSM8K solution ends in
    `A: 18` or `#### 18`), else the whole reference. Never the last-number fallback: a
    reference is trusted as written."""
    marked = extract_answer(reference, allow_last_number=False)
    if marked is not None and marked.rule != "whole_response":
        return marked
    return Extraction(reference.strip(), "whole_response")


def normalise_number_text(text: str) -> str:
    """A number as written, without currency signs, thousands separators or LaTeX dollars."""
    text = text.strip().replace("\\$", "").replace("$", "").replace("\\,", "").replace("\\!", "")
    text = text.strip().rstrip(".").strip()
    if text.startswith("\\text{") and text.endswith("}"):
        text = text[len("\\text{"):-1]
    return text.replace(",", "") if _NUMERIC_ONLY.match(text) else text


def as_number(text: str) -> Fraction | None:
    """The exact value of a plain number ("1,000", "$72", "72.0", "-0.5"); None for anything else."""
    cleaned = normalise_number_text(text)
    if not _NUMERIC_ONLY.match(cleaned):
        return None
    try:
        return Fraction(cleaned.replace(",", "").rstrip("."))
    except (ValueError, ZeroDivisionError):
        return None


_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_PUNCT = re.compile(r"[^\w\s]")


def normalise_text(text: str) -> str:
    """Short-answer normal form: lower case, no LaTeX text wrappers, punctuation, articles or extra spaces."""
    text = re.sub(r"\\text\{([^{}]*)\}", r"\1", text).lower()
    text = _PUNCT.sub(" ", text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


_MATH_HINT = re.compile(r"[\d\\^_{}=+*/√π∞]|\b(?:sqrt|frac|pi|inf)\b")


def looks_mathematical(text: str) -> bool:
    """Whether a gold answer is worth comparing by value (digits, LaTeX, operators), not as words."""
    return bool(_MATH_HINT.search(text))


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class CodeExtraction:
    """The program read from a response, and how it was found."""

    code: str
    rule: Literal["last_python_block", "whole_response"]


def extract_code(text: str) -> CodeExtraction | None:
    """The response's program: its last ```python (or unlabelled) fenced block, else the whole
    response when it has no fences at all; None when the response holds no code."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    python = [body for lang, body in blocks if lang in ("python", "py", "python3", "")]
    if python:
        return CodeExtraction(python[-1].strip("\n"), "last_python_block")
    if blocks or not text.strip():
        return None
    return CodeExtraction(text.strip("\n"), "whole_response")
