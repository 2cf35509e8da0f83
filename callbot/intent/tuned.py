"""The fine-tuned e5 as served: its LoRA factors (``e5ft.npz``) merged into the torch e5.

:class:`Adapter` holds the factors :mod:`callbot.intent.finetune` trained; :class:`Tuned` merges them
into the torch e5 converted from the pinned, hash-checked package weights (callbot.bases.e5_torch),
so serving needs no network, no peft and no training code.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from callbot.atomic import write_bytes
from callbot.intent.encoders import EncoderError

ADAPTER_FILE = "e5ft.npz"


@dataclass
class Adapter:
    """LoRA factors per adapted linear layer (``BertModel`` module path -> A, B) and their scale."""

    factors: dict[str, tuple[np.ndarray, np.ndarray]]
    scale: float
    losses: list[float] = field(default_factory=list)  # per step, for the report and the smoke test

    def merge(self, model: Any) -> None:
        """W += scale * B @ A on each adapted layer (in place)."""
        import torch

        with torch.no_grad():
            for path, (a, b) in self.factors.items():
                weight = model.get_submodule(path).weight
                weight += self.scale * torch.from_numpy(b) @ torch.from_numpy(a)

    def save(self, path: Path) -> None:
        arrays = {f"{k}|A": a for k, (a, _) in self.factors.items()}
        arrays |= {f"{k}|B": b for k, (_, b) in self.factors.items()}
        buffer = io.BytesIO()
        np.savez(buffer, scale=np.float32(self.scale), **arrays)
        write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> Adapter:
        try:
            with np.load(path) as saved:
                keys = sorted({k.split("|")[0] for k in saved.files if "|" in k})
                factors = {
                    k: (saved[f"{k}|A"].astype(np.float32), saved[f"{k}|B"].astype(np.float32)) for k in keys
                }
                return cls(factors, float(saved["scale"]))
        except (OSError, KeyError, ValueError) as exc:
            raise EncoderError(
                f"{path}: not an e5-ft adapter ({exc}); rerun `callbot train-intent`"
            ) from None


def base_e5(threads: int) -> Any:
    """The torch e5 converted from the hash-checked package weights (a fresh copy each call)."""
    from callbot.bases.e5 import e5_weights
    from callbot.bases.e5_torch import E5Torch, read_e5
    from callbot.bases.package import BaseBuildError

    try:
        return E5Torch(read_e5(e5_weights()), threads)
    except BaseBuildError as exc:
        raise EncoderError(str(exc)) from None


class Tuned:
    """The LoRA-merged torch e5: texts -> L2-normalised rows (``query:`` prefix, mean pooling)."""

    def __init__(self, adapter: Adapter, threads: int = 1) -> None:
        self.adapter, self.threads = adapter, max(1, threads)
        self.e5: Any = None  # built on first use: training only needs the adapter saved

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.e5 is None:
            self.e5 = base_e5(self.threads)
            self.adapter.merge(self.e5.model)
        return self.e5.encode(list(texts))
