"""Versioned prompt files and strict rendering."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from reward_agent.errors import ConfigError, UnknownIdError  # noqa: E402
from reward_agent.prompting import list_prompts, load_prompt, prompt_dirs  # noqa: E402


@pytest.fixture
def prompt_dir(tmp_path: Path) -> Path:
    (tmp_path / "greet.v1.txt").write_text("Hello $name.\n")
    (tmp_path / "greet.v2.txt").write_text("Hi $name, from ${place}.\n")
    (tmp_path / "greet.v10.txt").write_text('Reply {"greeting": "$name"} and pay $$5.\n')
    (tmp_path / "notes.txt").write_text("not a prompt: no version\n")
    return tmp_path


def test_latest_version_is_numeric_not_lexicographic(prompt_dir: Path) -> None:
    template = load_prompt("greet", directory=prompt_dir)
    assert template.number == 10
    assert template.version == "greet.v10"
    assert template.name == "greet"
    assert list_prompts(prompt_dir) == {"greet": [1, 2, 10]}


@pytest.mark.parametrize("version", [2, "2", "v2", "greet.v2"])
def test_explicit_versions(prompt_dir: Path, version: int | str) -> None:
    template = load_prompt("greet", version, directory=prompt_dir)
    assert template.version == "greet.v2"
    assert template.render(name="Ada", place="Paris") == "Hi Ada, from Paris.\n"


def test_json_braces_and_escaped_dollars_are_literal(prompt_dir: Path) -> None:
    text = load_prompt("greet", directory=prompt_dir).render(name="Ada")
    assert text == 'Reply {"greeting": "Ada"} and pay $5.\n'


def test_missing_variable_is_named(prompt_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing variable\(s\) place"):
        load_prompt("greet", 2, directory=prompt_dir).render(name="Ada")


def test_unused_variable_is_named(prompt_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"unused variable\(s\) extra"):
        load_prompt("greet", 1, directory=prompt_dir).render(name="Ada", extra="x")


def test_none_values_are_refused(prompt_dir: Path) -> None:
    with pytest.raises(ConfigError, match="name are None"):
        load_prompt("greet", 1, directory=prompt_dir).render(name=None)


def test_values_are_rendered_with_str(prompt_dir: Path) -> None:
    assert load_prompt("greet", 1, directory=prompt_dir).render(name=3) == "Hello 3.\n"


def test_unknown_name_suggests(prompt_dir: Path) -> None:
    with pytest.raises(UnknownIdError, match="Did you mean 'greet'"):
        load_prompt("gret", directory=prompt_dir)


def test_unknown_version_lists_available(prompt_dir: Path) -> None:
    with pytest.raises(ConfigError, match="available: v1, v2, v10"):
        load_prompt("greet", 3, directory=prompt_dir)
    with pytest.raises(ConfigError, match="not understood"):
        load_prompt("greet", "other.v1", directory=prompt_dir)


def test_malformed_placeholder_is_refused_at_load(tmp_path: Path) -> None:
    (tmp_path / "price.v1.txt").write_text("It costs $5 for $item.\n")
    with pytest.raises(ConfigError, match=r"malformed placeholder.*\$\$"):
        load_prompt("price", directory=tmp_path)


def test_variables_lists_placeholders(prompt_dir: Path) -> None:
    assert load_prompt("greet", 2, directory=prompt_dir).variables == {"name", "place"}


def test_packaged_prompts_are_found() -> None:
    assert prompt_dirs(), "neither the reward_agent.prompts package nor the repo's prompts/ folder was found"
    names = list_prompts()
    assert "structured_output" in names and "structured_repair" in names
    template = load_prompt("structured_output")
    assert template.version.startswith("structured_output.v")
    assert template.variables == {"kind", "shape"}


def test_every_shipped_prompt_is_well_formed() -> None:
    for name, versions in list_prompts().items():
        for number in versions:
            template = load_prompt(name, number)  # raises on a malformed placeholder
            assert template.text.strip(), f"{template.version} is empty"
