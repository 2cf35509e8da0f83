"""Streaming voice activity detection with silero-vad, on the line's 8 kHz 20 ms frames.

The weights ship inside the ``silero-vad`` wheel (MIT; ``silero_vad/data/silero_vad.jit``), so
nothing is downloaded. The model keeps a recurrent state, so every call gets its own copy
(copying the loaded template takes about 15 ms; loading it, about 50 ms after torch is imported).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import numpy as np

WINDOW = 256  # samples silero-vad takes per step at 8 kHz (32 ms)
_TEMPLATE: dict[str, Any] = {}
_LOCK = threading.Lock()


def _template() -> Any:
    with _LOCK:
        if "model" not in _TEMPLATE:
            from silero_vad import load_silero_vad

            _TEMPLATE["model"] = load_silero_vad(onnx=False)  # the packaged TorchScript weights
        return _TEMPLATE["model"]


class StreamingVad:
    """Speech probability of the caller's latest 32 ms; ``push`` takes 20 ms frames of int16."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.model = copy.deepcopy(_template())
        self.model.reset_states()
        self.pending = np.zeros(0, dtype=np.float32)
        self.probability = 0.0

    def push(self, frame: np.ndarray) -> bool:
        """Feed one frame; whether the caller is speaking now (the latest window over the threshold)."""
        import torch

        samples = np.asarray(frame, dtype=np.float32) / 32768.0
        self.pending = np.concatenate([self.pending, samples])
        with torch.inference_mode():
            while self.pending.size >= WINDOW:
                window, self.pending = self.pending[:WINDOW], self.pending[WINDOW:]
                self.probability = float(self.model(torch.from_numpy(window.copy()), 8000))
        return self.probability >= self.threshold
