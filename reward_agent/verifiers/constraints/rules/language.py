"""`language:*` rules: the language the whole response must be written in."""

from __future__ import annotations

import re

from .common import FLAGS, RuleSet, is_narrative

RULES = RuleSet()

# Language names to the ISO 639-1 codes langdetect reports (the checker compares with those).
LANGUAGE_CODES = {
    "afrikaans": "af", "albanian": "sq", "arabic": "ar", "bengali": "bn", "bangla": "bn", "bulgarian": "bg",
    # Plain "Chinese" is "zh", which the checker accepts in either script.
    "catalan": "ca", "chinese": "zh", "mandarin": "zh", "cantonese": "zh", "simplified chinese": "zh-cn",
    "traditional chinese": "zh-tw", "croatian": "hr", "czech": "cs", "danish": "da", "dutch": "nl",
    "english": "en", "estonian": "et", "farsi": "fa", "persian": "fa", "filipino": "tl", "tagalog": "tl",
    "finnish": "fi", "french": "fr", "german": "de", "greek": "el", "gujarati": "gu", "hebrew": "he",
    "hindi": "hi", "hungarian": "hu", "indonesian": "id", "italian": "it", "japanese": "ja", "kannada": "kn",
    "korean": "ko", "latvian": "lv", "lithuanian": "lt", "macedonian": "mk", "malayalam": "ml", "marathi": "mr",
    "nepali": "ne", "norwegian": "no", "polish": "pl", "portuguese": "pt", "punjabi": "pa", "panjabi": "pa",
    "romanian": "ro", "russian": "ru", "slovak": "sk", "slovenian": "sl", "slovene": "sl", "somali": "so",
    "spanish": "es", "swahili": "sw", "swedish": "sv", "tamil": "ta", "telugu": "te", "thai": "th",
    "turkish": "tr", "ukrainian": "uk", "urdu": "ur", "vietnamese": "vi", "welsh": "cy",
}
_NAMES = sorted(LANGUAGE_CODES, key=len, reverse=True)  # longest first: "traditional chinese" before "chinese"
_LANG = "(?P<lang>" + "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in _NAMES) + r")\b"
_LANG_RE = re.compile(_LANG, FLAGS)

# A variety or register may come first: "Brazilian Portuguese", "formal German".
_VARIETY = (
    r"(?:(?:brazilian|european|latin\s+american|mexican|castilian|modern|standard|canadian|swiss|formal|informal"
    r"|simple|plain|colloquial)\s+)?"
)
_ONLY_IN = (
    r"\b(?:only|entirely|completely|fully|exclusively|solely|wholly|purely|100%)\s+(?:in\s+|using\s+)?(?:the\s+)?"
    rf"{_VARIETY}{_LANG}"
)
_IN_LANG = (
    r"\b(?P<lead>(?:in|into|using|use)\s+(?:only\s+|just\s+|pure\s+|proper\s+|fluent\s+|the\s+)*)"
    rf"{_VARIETY}{_LANG}(?P<tail>\s+language)?"
)
_LANG_ONLY = rf"{_LANG}(?:\s+language)?\s+only\b"
_NO_OTHER = r"\bno\s+other\s+languages?\b|\bother\s+than\s+(?P<lang>\w+)\b"

# "How do you say cat in Spanish?", "words in French": a question about a language.
_LOOKUP = re.compile(
    r"\b(?:how\s+(?:do|would|to|can)\s+(?:you|i|we)?\s*(?:say|write|spell|pronounce)|what\s+(?:is|are|'s)|what's"
    r"|(?:words?|terms?|phrases?|names?|expressions?|idioms?)(?:\s+\w+)?\s*$|called|means?|meaning|pronounce|spell\w*"
    r"|translat\w*|learn\w*|stud\w*|teach\w*|grammar)\b",
    FLAGS,
)
# "French cuisine", "Italian food": the name as an adjective.
_NOUN_AFTER = re.compile(
    r"\s+(?:cuisine|food|culture|history|people|literature|revolution|style|class(?:es)?|restaurants?|movies?"
    r"|films?|music|art|wine|army|government|king|cit(?:y|ies)|accent|names?|words?|dish(?:es)?|politics"
    r"|translation|version|speakers?|grammar|alphabet|characters?|script|dialects?|speaking|-speaking|lessons?"
    r"|teachers?|students?|novels?|poets?|poetry)\b",
    FLAGS,
)


def _code(name: str) -> str:
    return LANGUAGE_CODES[re.sub(r"\s+", " ", name.lower())]


def _clause_before(prompt: str, start: int) -> str:
    return re.split(r"[.!?;\n]", prompt[max(0, start - 80) : start])[-1]


@RULES.rule("language:response_language", _ONLY_IN, _LANG_ONLY)
def language_only(match: re.Match[str], prompt: str) -> dict | None:
    """ "entirely in Swahili", "Korean only": the response language, stated strongly."""
    if is_narrative(prompt, match.start()) or _NOUN_AFTER.match(prompt, match.end("lang")):
        return None
    return {"language": _code(match["lang"])}


@RULES.rule("language:response_language", _IN_LANG)
def language_in(match: re.Match[str], prompt: str) -> dict | None:
    """ "Answer in Spanish", "write a haiku in Italian".

    Not English from this weak form ("your response should be in English and in all
    capitals" is about the case), nor lookups ("how do you say X in Japanese"), nor
    adjectives ("in the Croatian nations", "French cuisine").
    """
    code = _code(match["lang"])
    if code == "en" and not re.search(r"no\s+other\s+language", prompt, FLAGS):
        return None
    if re.search(r"\bthe\s+$", match["lead"], FLAGS) and not match["tail"]:
        return None
    if is_narrative(prompt, match.start()) or _NOUN_AFTER.match(prompt, match.end("lang")):
        return None
    if _LOOKUP.search(_clause_before(prompt, match.start())):
        return None
    return {"language": code}


@RULES.rule("language:response_language", _NO_OTHER)
def no_other_language(match: re.Match[str], prompt: str) -> dict | None:
    """ "..., no other language is allowed": the language named nearest to it."""
    if match["lang"]:
        name = match["lang"].lower()
        return {"language": LANGUAGE_CODES[name]} if name in LANGUAGE_CODES else None
    offset = max(0, match.start() - 250)
    names = list(_LANG_RE.finditer(prompt[offset : match.end() + 120]))
    if not names:
        return None
    nearest = min(names, key=lambda m: abs(m.start() + offset - match.start()))
    return {"language": _code(nearest["lang"])}
