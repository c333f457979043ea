"""Build the factuality benchmark at run time from real data sets that ship on PyPI (offline once installed).

Sources (the `bench` extra: `pip install -e ".[bench]"`), read as data files, never copied into the repo:

- `mendeleev`: its SQLite `elements.db` holds prose per chemical element (description, uses,
  sources, name origin) and fields (discoverers, discovery year, atomic number). Read with
  sqlite3 straight from the installed package, without importing mendeleev (pandas, SQLAlchemy).
- `countryinfo`: one JSON file per country (capital, region, subregion, population, borders).

The corpus has one document per element (our sentence over its fields, then its own prose) and
one per country (our sentences over its fields). Questions have known answers; each has a correct
response and corrupted ones where the answer is swapped for another of the same kind (another
country's capital, a shifted year, another element's discoverers, a scaled population). A
corrupted value never appears in the item's own document, so "refuted" is the right verdict for it.
A share of the items is held out of the corpus: every response to their questions should be
"not enough evidence" (there is nothing to check them against).
"""

from __future__ import annotations

import importlib.util
import json
import random
import re
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HELD_OUT_SHARE = 0.15

# Several wordings per question kind, so the verifier is not measured on one sentence shape. One
# wording is drawn per question and used for all its responses: only the answer differs.
TEMPLATES = {
    "element_discovery": ["{name} was discovered by {who} in {year}.", "{who} discovered {lower} in {year}.",
                          "The element {lower} was first identified in {year} by {who}."],
    "element_number": ["The atomic number of {name} is {n}.", "{name} has the atomic number {n}.",
                       "{name} is element number {n} of the periodic table."],
    "country_capital": ["The capital of {country} is {capital}.", "{capital} is the capital of {country}.",
                        "{country}'s capital city is {capital}."],
    "country_population": ["{country} has a population of about {m} million people.",
                           "About {m} million people live in {country}.",
                           "The population of {country} is roughly {m} million."],
    "country_region": ["{country} is a country in {region}.", "{country} is located in {region}."],
}


@dataclass
class Item:
    """One benchmark question with its responses and the gold label of each response's claim."""

    qid: str
    kind: str
    question: str
    doc_id: str
    held_out: bool
    responses: list[str]
    gold: list[str]  # supported / refuted / not_enough_evidence, per response
    corruption: list[str] = field(default_factory=list)  # how each response was made ("correct", "year", ...)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # locates the package without executing it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"the benchmark needs the {name!r} package: pip install -e '.[bench]'")
    return Path(list(spec.submodule_search_locations)[0])


def load_elements() -> list[dict[str, Any]]:
    db = _package_dir("mendeleev") / "elements.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "select atomic_number, name, symbol, discoverers, discovery_year, discovery_location, "
            "name_origin, description, uses, sources from elements order by atomic_number"
        ).fetchall()
    return [dict(r) for r in rows]


def load_countries() -> list[dict[str, Any]]:
    data = _package_dir("countryinfo") / "data"
    out = []
    for path in sorted(data.glob("*.json")):
        row = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(row.get("name"), str) and isinstance(row.get("capital"), str) and row["capital"] and row.get("subregion"):
            out.append(row)
    return out


def _discoverers(text: str) -> str:
    people = [p.strip() for p in re.split(r",| and ", text) if p.strip()]
    return people[0] if len(people) == 1 else ", ".join(people[:-1]) + " and " + people[-1]


def _known_discovery(e: dict[str, Any]) -> bool:
    d = (e.get("discoverers") or "").strip()
    return bool(d) and bool(e.get("discovery_year")) and "ancient" not in d.lower() and "known" not in d.lower()


def element_doc(e: dict[str, Any]) -> dict[str, str]:
    facts = f"{e['name']} is the chemical element with symbol {e['symbol']} and atomic number {e['atomic_number']}."
    if _known_discovery(e):
        where = f" in {e['discovery_location']}" if e.get("discovery_location") else ""
        facts += f" {e['name']} was discovered by {_discoverers(e['discoverers'])} in {e['discovery_year']}{where}."
    prose = [e.get(k) or "" for k in ("description", "uses", "sources")]
    origin = f"Name origin: {e['name_origin']}" if e.get("name_origin") else ""
    text = " ".join(p.strip() for p in [facts, *prose, origin] if p and p.strip())
    return {"id": f"element-{e['atomic_number']}", "title": e["name"], "text": text}


def country_doc(c: dict[str, Any], names_by_code: dict[str, str]) -> dict[str, str]:
    name = c["name"]
    parts = [f"{name} is a country in {c['subregion']}, in the region of {c.get('region') or c['subregion']}.",
             f"The capital of {name} is {c['capital']}."]
    if c.get("population"):
        parts.append(f"{name} has a population of {int(c['population']):,} people.")
    if c.get("area"):
        parts.append(f"Its area is {int(c['area']):,} square kilometres.")
    borders = [names_by_code[b] for b in c.get("borders") or [] if b in names_by_code]
    if borders:
        parts.append(f"{name} borders {', '.join(borders[:-1]) + ' and ' + borders[-1] if len(borders) > 1 else borders[0]}.")
    if c.get("demonym"):
        parts.append(f"Its people are called {c['demonym']}.")
    if c.get("currencies"):
        parts.append(f"Its currency code is {', '.join(c['currencies'])}.")
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return {"id": f"country-{slug}", "title": name, "text": " ".join(parts)}


def _shift_year(year: int, rng: random.Random, doc_text: str) -> int:
    for _ in range(50):
        shifted = year + rng.choice([-1, 1]) * rng.randint(5, 40)
        if shifted <= 2024 and str(shifted) not in doc_text:
            return shifted
    raise ValueError(f"no shifted year for {year}")


def _pick(rng: random.Random, pool: list[Any], bad_text: str, key: Any) -> Any:
    """A value from `pool` whose words do not appear in the item's document."""
    candidates = [v for v in pool if not any(w.lower() in bad_text.lower() for w in re.findall(r"\w{4,}", key(v)))]
    return rng.choice(candidates)


def build(out_dir: Path, seed: int = 0, limits: dict[str, int] | None = None) -> dict[str, Any]:
    """Write corpus.jsonl and items.jsonl into `out_dir`; return counts."""
    rng = random.Random(seed)
    limits = limits or {"element_discovery": 80, "element_number": 50, "country_capital": 100,
                        "country_population": 60, "country_region": 40}
    elements = load_elements()
    countries = load_countries()
    names_by_code = {c["ISO"]["alpha3"]: c["name"] for c in countries if isinstance(c.get("ISO"), dict) and c["ISO"].get("alpha3")}
    e_docs = {e["atomic_number"]: element_doc(e) for e in elements}
    c_docs = {c["name"]: country_doc(c, names_by_code) for c in countries}
    held = {d["id"] for d in [*e_docs.values(), *c_docs.values()] if rng.random() < HELD_OUT_SHARE}

    items: list[Item] = []

    def wording(kind: str) -> str:
        return rng.choice(TEMPLATES[kind])

    def add(kind: str, question: str, doc: dict[str, str], correct: str, corrupted: list[tuple[str, str]]) -> None:
        out = doc["id"] in held
        gold = ["not_enough_evidence"] * (1 + len(corrupted)) if out else ["supported"] + ["refuted"] * len(corrupted)
        items.append(Item(f"{kind}-{len(items)}", kind, question, doc["id"], out,
                          [correct, *(text for _, text in corrupted)], gold, ["correct", *(how for how, _ in corrupted)]))

    discovered = [e for e in elements if _known_discovery(e)]
    for e in rng.sample(discovered, min(limits["element_discovery"], len(discovered))):
        doc = e_docs[e["atomic_number"]]
        who, year = _discoverers(e["discoverers"]), int(e["discovery_year"])
        other = _pick(rng, [x for x in discovered if x is not e], doc["text"], lambda x: x["discoverers"])
        t = wording("element_discovery")
        say = lambda w, y: t.format(name=e["name"], lower=e["name"].lower(), who=w, year=y)  # noqa: E731
        add("element_discovery", f"Who discovered {e['name'].lower()} and when?", doc, say(who, year),
            [("year", say(who, _shift_year(year, rng, doc["text"]))),
             ("discoverer", say(_discoverers(other["discoverers"]), year))])
    for e in rng.sample(elements, min(limits["element_number"], len(elements))):
        doc = e_docs[e["atomic_number"]]
        n = e["atomic_number"]
        wrong = [m for m in range(max(1, n - 6), min(118, n + 6) + 1) if m != n and re.search(rf"\b{m}\b", doc["text"]) is None]
        t = wording("element_number")
        add("element_number", f"What is the atomic number of {e['name'].lower()}?", doc,
            t.format(name=e["name"], n=n), [("number", t.format(name=e["name"], n=rng.choice(wrong)))])
    for c in rng.sample(countries, min(limits["country_capital"], len(countries))):
        doc = c_docs[c["name"]]
        same_region = [x for x in countries if x is not c and x.get("region") == c.get("region") and x["capital"] != c["capital"]]
        first = _pick(rng, same_region, doc["text"], lambda x: x["capital"])
        second = _pick(rng, [x for x in countries if x is not c and x is not first], doc["text"], lambda x: x["capital"])
        t = wording("country_capital")
        add("country_capital", f"What is the capital of {c['name']}?", doc, t.format(country=c["name"], capital=c["capital"]),
            [("capital_same_region", t.format(country=c["name"], capital=first["capital"])),
             ("capital_any", t.format(country=c["name"], capital=second["capital"]))])
    populous = [c for c in countries if (c.get("population") or 0) >= 1_000_000]
    for c in rng.sample(populous, min(limits["country_population"], len(populous))):
        doc = c_docs[c["name"]]
        millions = c["population"] / 1e6
        fmt = (lambda v: f"{v:.1f}") if millions < 100 else (lambda v: f"{v:.0f}")
        up, down = millions * rng.uniform(1.4, 3.0), millions * rng.uniform(0.25, 0.7)
        t = wording("country_population")
        add("country_population", f"What is the population of {c['name']}?", doc, t.format(country=c["name"], m=fmt(millions)),
            [("population_up", t.format(country=c["name"], m=fmt(up))),
             ("population_down", t.format(country=c["name"], m=fmt(down)))])
    subregions = sorted({c["subregion"] for c in countries})
    for c in rng.sample(countries, min(limits["country_region"], len(countries))):
        doc = c_docs[c["name"]]
        other = _pick(rng, [s for s in subregions if s != c["subregion"]], doc["text"], lambda s: s)
        t = wording("country_region")
        add("country_region", f"Which part of the world is {c['name']} in?", doc,
            t.format(country=c["name"], region=c["subregion"]), [("subregion", t.format(country=c["name"], region=other))])

    out_dir.mkdir(parents=True, exist_ok=True)
    docs = [d for d in [*e_docs.values(), *c_docs.values()] if d["id"] not in held]
    with (out_dir / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with (out_dir / "items.jsonl").open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")
    return {"documents": len(docs), "held_out_documents": len(held), "items": len(items),
            "responses": sum(len(i.responses) for i in items)}


def read_items(out_dir: Path) -> list[Item]:
    return [Item(**json.loads(line)) for line in (out_dir / "items.jsonl").read_text(encoding="utf-8").splitlines()]
