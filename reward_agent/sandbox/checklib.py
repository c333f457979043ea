"""`checklib`: vetted text helpers that generated checkers may import inside the sandbox.

Why: a 1.5B coder model gets the *logic* of most instructions right and the *text plumbing* wrong
(how to split sentences, what a word is, counting a keyword as a whole word, detecting a language).
With these helpers the function it writes is often one line (`return count_words(response) < 300`),
so there is less to get wrong and the same plumbing is used by every checker.

How it reaches the sandbox: the runner starts as `python -I -S` (standard library only), so this
file is not imported there by name. `sandbox.helpers` sends its *source* in the runner request when
a checker imports `checklib`; the supervisor turns it into a module before it confines itself (this
is trusted code, run with the real builtins), and the checker then gets the usual public-names-only
proxy of it through the restricted importer. On the host, the static gate walks this module like any
other allowed one to learn its public attribute names.

Rules for this file (it runs in the supervisor of every sandbox that imports it):
- standard library only, imported under private names (`import re as _re`), so that no public
  attribute of the module is a module a checker could walk (the gate would refuse it anyway);
- every public name is a plain function with a docstring whose first line is what the coder model
  is shown (`catalogue()`), so the prompt and the code cannot drift apart;
- deterministic: the language detector is seeded.

Language detection uses `langdetect` (the detector IFEval's own evaluation uses; its Rust port
`langdetect-rs` when installed) when the host sends its location; without it, `detect_language` raises, which is an `error` outcome (no verdict), never a
guess.
"""

import json as _json
import re as _re
import unicodedata as _unicodedata

_detect = None
# Inside the sandbox this module is named "checklib"; on the host it is only walked for its public
# names (the gate), so the detector (0.7 s, 75 MB) is loaded only where it is used.
if __name__ == "checklib":
    try:  # present when the host put the detector's directory on the path for this run
        try:  # langdetect-rs: langdetect's algorithm and profiles in Rust, the same codes, faster
            from langdetect_rs import DetectorFactory as _DetectorFactory
            from langdetect_rs import detect as _detect
        except ImportError:
            from langdetect import DetectorFactory as _DetectorFactory
            from langdetect import detect as _detect
        _DetectorFactory.seed = 0  # langdetect samples; a fixed seed makes a verdict reproducible
        _detect("This sentence warms the detector up, so its profiles load before the sandbox closes.")
    except Exception:  # not installed, or profiles unreadable: detect_language says so when called
        _detect = None

_WORD = _re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*")
_SENTENCE_END = _re.compile(r"(?<=[.!?\u3002\uff01\uff1f])[\"'\u201d\u2019)\]]*\s+")
_BLANK_LINE = _re.compile(r"\n[ \t]*\n")
_BULLET = _re.compile(r"^\s*(?:[*\-+\u2022])\s+\S")
_NUMBERED = _re.compile(r"^\s*\d+[.)]\s+\S")
_EMPHASIS = _re.compile(r"\*\*([^\n*]+)\*\*|(?<!\*)\*([^\n*]+)\*(?!\*)")
_FENCE = _re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n(.*?)\n?\s*```\s*$", _re.DOTALL)


def words(text):
    """words(text) -> list of the words in text (letters/digits; "don't" and "well-known" are one word)."""
    return _WORD.findall(text)


def count_words(text):
    """count_words(text) -> int, the number of words in text."""
    return len(words(text))


def sentences(text):
    """sentences(text) -> list of the sentences in text (split after . ! ? followed by a space or newline)."""
    parts = []
    for block in _re.split(r"\n\s*\n", text.strip()):
        parts += [s.strip() for s in _SENTENCE_END.split(block.strip()) if s.strip()]
    return parts


def count_sentences(text):
    """count_sentences(text) -> int, the number of sentences in text."""
    return len(sentences(text))


def paragraphs(text, separator=None):
    """paragraphs(text, separator=None) -> list of non-empty paragraphs: split on blank lines, or on separator (e.g. "***") when given."""
    pieces = text.split(separator) if separator else _BLANK_LINE.split(text)
    return [p.strip() for p in pieces if p.strip()]


def count_paragraphs(text, separator=None):
    """count_paragraphs(text, separator=None) -> int, the number of non-empty paragraphs (as paragraphs() splits them)."""
    return len(paragraphs(text, separator))


def lines(text):
    """lines(text) -> list of the non-empty lines of text, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def bullet_points(text):
    """bullet_points(text) -> list of markdown bullet lines (starting with "* ", "- ", "+ " or "\u2022 ")."""
    return [line.strip() for line in text.splitlines() if _BULLET.match(line)]


def numbered_items(text):
    """numbered_items(text) -> list of numbered list lines ("1. ...", "2) ...")."""
    return [line.strip() for line in text.splitlines() if _NUMBERED.match(line)]


def count_occurrences(text, phrase, case_sensitive=False, whole_word=True):
    """count_occurrences(text, phrase, case_sensitive=False, whole_word=True) -> int, how often phrase appears (as whole words by default)."""
    if not phrase:
        return 0
    pattern = _re.escape(phrase)
    if whole_word:
        pattern = r"(?<![^\W_])" + pattern + r"(?![^\W_])"
    return len(_re.findall(pattern, text, 0 if case_sensitive else _re.IGNORECASE))


def contains(text, phrase, case_sensitive=False):
    """contains(text, phrase, case_sensitive=False) -> bool, whether phrase appears as whole words."""
    return count_occurrences(text, phrase, case_sensitive=case_sensitive) > 0


def count_letter(text, letter, case_sensitive=False):
    """count_letter(text, letter, case_sensitive=False) -> int, how often the single character letter appears."""
    if case_sensitive:
        return text.count(letter)
    return text.lower().count(letter.lower())


def uppercase_words(text):
    """uppercase_words(text) -> list of the words written entirely in capital letters (e.g. "NASA", "VERY")."""
    return [w for w in words(text) if w.isupper()]


def emphasized(text):
    """emphasized(text) -> list of markdown-emphasised spans: the inside of *like this* and **like this**."""
    return [bold or italic for bold, italic in _EMPHASIS.findall(text) if (bold or italic).strip()]


def bracketed(text, opening="[", closing="]"):
    """bracketed(text, opening="[", closing="]") -> list of the texts between the brackets, e.g. placeholders [name]."""
    pattern = _re.escape(opening) + r"([^" + _re.escape(opening + closing) + r"\n]*)" + _re.escape(closing)
    return _re.findall(pattern, text)


def strip_code_fence(text):
    """strip_code_fence(text) -> text without one surrounding ``` code fence (```json ... ```), else text stripped."""
    match = _FENCE.match(text)
    return match.group(1).strip() if match else text.strip()


def is_json(text):
    """is_json(text) -> bool, whether the whole text (one surrounding ``` fence allowed) is valid JSON."""
    try:
        _json.loads(strip_code_fence(text))
    except ValueError:
        return False
    return True


def letters_only(text):
    """letters_only(text) -> str, the letters of text (no digits, spaces or punctuation)."""
    return "".join(ch for ch in text if _unicodedata.category(ch).startswith("L"))


def detect_language(text):
    """detect_language(text) -> ISO 639-1 code of the text's language ("en", "de", "hi", "ko", ...)."""
    if _detect is None:
        raise RuntimeError("language detection is unavailable in this sandbox (langdetect not installed or unreadable)")
    return _detect(text)


def public_names():
    """The helpers' names, sorted: what `from checklib import *` stands for."""
    return [name for name, value in sorted(globals().items())
            if not name.startswith("_") and name not in ("catalogue", "public_names") and callable(value)]


def catalogue():
    """The helpers as the coder model sees them: one line per function (its docstring's first line)."""
    return "\n".join("- " + (globals()[name].__doc__ or name).strip().splitlines()[0] for name in public_names())
