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
    # Ordinary code that leans on the attribute allow-list: str, re.Match, Counter, deque, OrderedDict,
    # namedtuple fields and attributes a checker's own class defines.
    'import re\nfrom collections import Counter, defaultdict, namedtuple\nimport string, unicodedata, json, math, itertools\n\nWord = namedtuple(\'Word\', \'text start\')\n\nclass Stats:\n    def reset(self):\n        self.words = 0\n        self.lines = []\n\n    def feed(self, line):\n        self.words += len(line.split())\n        self.lines.append(line)\n\n\ndef check(response):\n    stats = Stats()\n    stats.reset()\n    for line in response.splitlines():\n        stats.feed(line.strip())\n    words = [Word(m.group(0), m.start()) for m in re.finditer(r"\\w+", response)]\n    counts = Counter(w.text.casefold() for w in words)\n    top = counts.most_common(1)\n    groups = defaultdict(list)\n    for key, grp in itertools.groupby(sorted(w.text for w in words), key=lambda t: t[:1].lower()):\n        groups[key].extend(grp)\n    cats = {unicodedata.category(c) for c in response}\n    no_punct = response.translate(str.maketrans(\'\', \'\', string.punctuation))\n    head, sep, tail = response.partition(\':\')\n    try:\n        data = json.loads(response)\n    except json.JSONDecodeError as exc:\n        data = exc.msg\n    ok = math.isclose(len(words) / max(1, stats.words), 1.0) or bool(top)\n    pat = re.compile(r"^(\\d+)\\.", re.M)\n    nums = [int(m.group(1)) for m in pat.finditer(response)]\n    spans = [m.span() for m in pat.finditer(response)]\n    return ok and len(no_punct) >= 0 and isinstance(cats, set) and nums == sorted(nums) and stats.words >= 0 and not tail.isdigit() and len(spans) >= 0 and head.endswith(\'x\') in (True, False) and response.upper().startswith(response[:1].upper()) and len(groups) >= 0\n',
    "def check(response):\n    sentences = [s for s in response.replace('!', '.').replace('?', '.').split('.') if s.strip()]\n    title = response.splitlines()[0] if response else ''\n    bullets = [l for l in response.splitlines() if l.lstrip().startswith(('*', '-'))]\n    return len(sentences) <= 5 and title.istitle() == title.istitle() and len(bullets) >= 0 and response.count('\\n\\n') >= 0 and response.rstrip().endswith(('.', '!', '?', ''))\n",
    'import re\ndef check(response):\n    m = re.search(r"<<(.+?)>>", response)\n    if m is None:\n        return False\n    placeholders = re.findall(r"\\[[^\\]]+\\]", response)\n    return m.group(1).strip() != \'\' and len(placeholders) >= 0 and m.end() > m.start()\n',
    "import json\ndef check(response):\n    text = response.strip()\n    if text.startswith('```'):\n        text = text.strip('`').removeprefix('json').strip()\n    try:\n        value = json.loads(text)\n    except ValueError:\n        return False\n    return isinstance(value, (dict, list)) and all(isinstance(k, str) for k in (value.keys() if isinstance(value, dict) else []))\n",
    "from collections import OrderedDict, deque\nimport functools, operator\ndef check(response):\n    d = OrderedDict()\n    for w in response.split():\n        d.setdefault(w.lower(), 0)\n        d[w.lower()] += 1\n    d.move_to_end(next(iter(d)), last=True) if d else None\n    q = deque(maxlen=3)\n    q.extend(response.split())\n    total = functools.reduce(operator.add, d.values(), 0)\n    return total == len(response.split()) and q.maxlen == 3 and len(d.keys()) >= 0 and ''.join(sorted(d)).isprintable() in (True, False)\n",
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
    # The attribute allow-list and getattr used only directly (issue 12)
    ("GA = getattr\ndef check(r):\n    return GA(r, 'upper')() == r\n", "not aliased"),
    ("def check(r):\n    return list(map(getattr, [r], ['upper'])) != []\n", "not aliased or passed"),
    ("def check(r):\n    args = (r, 'upper')\n    return getattr(*args)() == r\n", "constant attribute name"),
    ("def check(r):\n    return getattr(r, 'gi_frame') is None\n", "'gi_frame'"),
    ("def check(r):\n    try:\n        1 / 0\n    except ZeroDivisionError as e:\n        return e.__traceback__ is None\n", "'__traceback__'"),
    ("def check(r, tb=None):\n    return tb.tb_frame is None\n", "'tb_frame'"),
    ("def check(r, c=None):\n    return c.cell_contents is None\n", "'cell_contents'"),
    ("def check(r, co=None):\n    return co.cr_frame is None\n", "'cr_frame'"),
    ("class H:\n    pass\ndef check(r):\n    h = H()\n    h.f_back = 1\n    return h.f_back == 1\n", "'f_back'"),
    ("def check(r):\n    return r.frobnicate() is None\n", "not on the attribute allow-list"),
    ("def check(r):\n    return '{0.gi_frame.f_back}'.format(r) == ''\n", "format field"),
    ("from functools import update_wrapper\ndef check(r):\n    return True\n", "'update_wrapper'"),
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


def test_program_defined_attributes_join_the_allow_list_but_never_the_floor() -> None:
    from reward_agent.sandbox.gate import allowed_attribute, known_attribute_names, runtime_attribute_names

    code = "class Box:\n    pass\ndef check(r):\n    b = Box()\n    b.payload = r\n    return b.payload == r\n"
    assert inspect_source(code).ok
    assert "payload" in runtime_attribute_names(code) and "payload" not in known_attribute_names()
    assert not allowed_attribute("gi_frame", frozenset({"gi_frame"}))
    assert {"upper", "group", "most_common", "send"} <= known_attribute_names()
    assert not {"gi_frame", "f_back", "tb_frame", "cr_frame", "co_code", "mro", "cell_contents"} & known_attribute_names()
