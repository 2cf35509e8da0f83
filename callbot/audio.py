"""Audio at the rate the speech recogniser listens at: the one place that resamples to it.

The serving limits (a caller's upload), the bot evaluation (a clip through the phone line) and the
STT data reader (a prepared WAV) all bring audio to :data:`STT_RATE` through :func:`to_stt_rate`, so
a clip is resampled the same way in training, evaluation and serving.
"""

from __future__ import annotations

from math import gcd

import numpy as np

STT_RATE = 16_000  # what Whisper (and the CTC model) listen at


def to_stt_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 ``samples`` at ``rate`` Hz -> float32 at 16 kHz (polyphase, exact ratio)."""
    samples = np.asarray(samples, dtype=np.float32)
    if rate == STT_RATE:
        return samples
    from scipy.signal import resample_poly

    g = gcd(rate, STT_RATE)
    return resample_poly(samples, STT_RATE // g, rate // g).astype(np.float32)
