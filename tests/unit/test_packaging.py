"""The wheel ships every package and the prompts (a missing entry only shows after install)."""

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_package_directory_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "reward_agent").rglob("__init__.py")
        if "__pycache__" not in init.parts
    } | {"reward_agent.prompts"}
    assert found == listed


def test_prompts_are_a_package_with_templates():
    assert (REPO / "prompts" / "__init__.py").is_file()
    assert sorted(p.name for p in (REPO / "prompts").glob("*.v*.txt"))
