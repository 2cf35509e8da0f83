"""The ``bases`` stage: materialise each pinned package base named in ``bases.names``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from callbot.basenames import BUILDERS, bases_root
from callbot.bases.package import BuiltBase
from callbot.bases.params import BasesParams


@dataclass(frozen=True)
class BasesResult:
    root: str
    built: list[BuiltBase] = field(default_factory=list)


def run_bases(params: BasesParams, out: Path | None = None) -> BasesResult:
    """Write ``<out>/<name>`` (default ``models/bases``) for every name in ``params.names``.

    Each directory is built beside its target and renamed into place, so a failure (a missing
    package, a hash mismatch, a full disk) leaves the previous copy or nothing, never half of one.
    """
    from importlib import import_module

    import torch

    from callbot.bases import e5, gemma, whisper  # noqa: F401  the modules BUILDERS names (static: dvc code deps)

    if params.threads > 0:
        torch.set_num_threads(params.threads)
    root = Path(out) if out is not None else bases_root()
    built = []
    for name in params.names:
        module, builder = BUILDERS[name].split(":")
        built.append(getattr(import_module(module), builder)(root / name))
    return BasesResult(root=str(root), built=built)
