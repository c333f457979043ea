"""The import graph of `reward_agent` has no circle.

A circle between modules means neither can be understood (or imported) without the other; it is
the usual sign that something shared lives in the wrong module. The graph is built by grimp from
the source (nothing is imported), and the assertion names every circle it finds, module by module,
with the import lines that close it.

What counts as an import, decided once here:
- Imports inside functions COUNT. They run (later, but they run), so a circle closed by a
  function-level import is still a circle; moving an import into a function only hides it.
- Imports under `if TYPE_CHECKING:` do NOT count. They never execute: they exist for the type
  checker, so a module can name another's class in an annotation without depending on it at run
  time. They cannot hide a run-time circle, because a name imported that way does not exist at
  run time (using it would fail, and the tests would say so).
- Lazy registry targets ("package.module:object" strings) are not imports, by design: they are how
  a registry names its built-ins without importing them (see `reward_agent.registry`).
"""

from __future__ import annotations

import grimp
import pytest

PACKAGE = "reward_agent"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, exclude_type_checking_imports=True, cache_dir=None)


def _circles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """One shortest circle through each direct import that closes one, deduplicated by module set."""
    seen: set[frozenset[str]] = set()
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is None:
                continue
            circle = (importer, *back)  # importer -> imported -> ... -> importer
            key = frozenset(circle)
            if key not in seen:
                seen.add(key)
                found.append(circle)
    return found


def _describe(graph: grimp.ImportGraph, circle: tuple[str, ...]) -> str:
    lines = [" -> ".join(circle)]
    for a, b in zip(circle, circle[1:]):
        for detail in graph.get_import_details(importer=a, imported=b):
            lines.append(f"    {a}:{detail['line_number']}: {detail['line_contents']}")
    return "\n".join(lines)


def test_the_graph_covers_the_package(graph: grimp.ImportGraph) -> None:
    # A broken build (wrong package, nothing parsed) would make the next test pass vacuously.
    assert {"reward_agent.cli", "reward_agent.llm", "reward_agent.rm.auto", "reward_agent.context"} <= graph.modules
    assert graph.direct_import_exists(importer="reward_agent.structured", imported="reward_agent.llm")


def test_no_import_circles(graph: grimp.ImportGraph) -> None:
    circles = _circles(graph)
    assert not circles, f"{len(circles)} import circle(s):\n" + "\n".join(_describe(graph, c) for c in circles)


def test_the_circle_finder_finds_a_circle() -> None:
    # The finder itself, on a graph with a known circle (a -> b -> c -> a) and a tail (d -> a).
    g = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c", "p.d"):
        g.add_module(m)
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.d", "p.a")):
        g.add_import(importer=a, imported=b)
    circles = _circles(g)
    assert len(circles) == 1
    assert set(circles[0]) == {"p.a", "p.b", "p.c"} and circles[0][0] == circles[0][-1]
