"""The static gate on ordinary checker code (accepted) and on each rule it enforces (rejected)."""

from __future__ import annotations

import pytest

from reward_agent.sandbox.gate import escape_attribute_names, inspect_source

ACCEPTED = [
    "def check(response):\n    return response.count('?') == 3\n",
    "import re\ndef check(response):\n    return len(re.findall(r'\\bthe\\b', response, re.I)) >= 2\n",
    "from collections import Counter\nimport string\n\ndef check(response):\n"
    "    letters = Counter(c for c in response.lower() if c in string.ascii_lowercase)\n"
    "    return all(v < 10 for v in letters.values())\n",
    "import json\ndef check(response):\n    try:\n        json.loads(response)\n    except ValueError:\n"
    "        return False\n    return True\n",
    "import collections.abc, itertools, functools, operator, math, unicodedata\n"
    "def check(response, *rest):\n    return math.isfinite(functools.reduce(operator.add, [1, 2]))\n",
    "def check(response):\n    return True\n\nif __name__ == '__main__':\n    print(check('x'))\n",
    "def check(response):\n    words = [w for w in response.split() if getattr(w, 'isupper')()]\n    return len(words) > 1\n",
    "class Tally:\n    total = 0\n\ndef check(response):\n    Tally.total += 1\n    return True\n",
]

REJECTED = [
    ("import os\ndef check(r):\n    return True\n", "import of 'os'"),
    ("from subprocess import run\ndef check(r):\n    return True\n", "import from 'subprocess'"),
    ("from re import *\ndef check(r):\n    return True\n", "import *"),
    ("from . import x\ndef check(r):\n    return True\n", "relative imports"),
    ("def check(r):\n    return open(r).read() == ''\n", "'open'"),
    ("def check(r):\n    return eval(r)\n", "'eval'"),
    ("def check(r):\n    exec(r)\n    return True\n", "'exec'"),
    ("def check(r):\n    return compile(r, 'x', 'exec') is None\n", "'compile'"),
    ("def check(r):\n    return __import__('os') is None\n", "__import__"),
    ("def check(r):\n    return globals() is None\n", "'globals'"),
    ("def check(r):\n    return type(r) is str\n", "'type'"),
    ("def check(r):\n    return r.__class__ is str\n", "'__class__'"),
    ("def check(r):\n    return __builtins__ is None\n", "'__builtins__'"),
    ("def check(r):\n    return r._private is None\n", "'_private'"),
    ("def check(r):\n    return getattr(r, '__len__')() > 0\n", "getattr() of '__len__'"),
    ("def check(r):\n    name = 'upper'\n    return getattr(r, name)() == r\n", "computed attribute name"),
    ("def check(r):\n    g = (x for x in r)\n    return g.gi_frame is None\n", "'gi_frame'"),
    ("import re\ndef check(r):\n    return re.enum is None\n", "'enum'"),
    ("from operator import attrgetter\ndef check(r):\n    return True\n", "'attrgetter'"),
    ("def check(r):\n    return '{0.__class__}'.format(r) == ''\n", "format field"),
    ("def check(r):\n    try:\n        return True\n    except:\n        return False\n", "bare `except:`"),
    ("def check(r):\n    try:\n        return True\n    except BaseException:\n        return False\n", "BaseException"),
    ("def __init__(r):\n    return True\ndef check(r):\n    return True\n", "dunder definition"),
    ("class A(metaclass=X):\n    pass\ndef check(r):\n    return True\n", "class keyword"),
    ("async def check(r):\n    return True\n", "async"),
    ("def check(r):\n    __name__ = 'x'\n    return True\n", "assigning '__name__'"),
    ("def helper(r):\n    return True\n", "does not define a top-level function `check"),
    ("def check(a, b):\n    return True\n", "does not define"),
    ("def check(r)\n    return True\n", "SyntaxError"),
    ("", "empty"),
]


@pytest.mark.parametrize("code", ACCEPTED)
def test_ordinary_checkers_pass(code: str) -> None:
    verdict = inspect_source(code)
    assert verdict.ok, verdict.reason


@pytest.mark.parametrize(("code", "reason"), REJECTED)
def test_rejections_say_why(code: str, reason: str) -> None:
    verdict = inspect_source(code)
    assert not verdict.ok
    assert reason in (verdict.reason or ""), verdict.reason


def test_escape_attributes_are_found_by_walking_the_allowed_modules() -> None:
    names = escape_attribute_names()
    assert {"enum", "copyreg", "sys", "os"} <= names
    assert "abc" not in names and "decoder" not in names  # allowed submodules stay usable


def test_huge_source_is_refused_without_parsing() -> None:
    assert not inspect_source("def check(r):\n    return True\n" + "#" * 60_000).ok
