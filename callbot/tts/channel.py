"""A telephone line as a 1339 call arrives: 300-3,400 Hz, 8 kHz, G.711 mu-law.

Used by the sample generator (a share of the Training calls go through it) and by the end-to-end
evaluation (the 8 kHz versions of the held-out calls). Pure numpy/scipy: the same input gives the
same samples on any machine.
"""

from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np

__all__ = ["PHONE_BAND_HZ", "PHONE_RATE", "mulaw_decode", "mulaw_encode", "phone_channel", "to_rate"]

PHONE_RATE = 8000
PHONE_BAND_HZ = (300.0, 3400.0)  # the ITU-T voice channel
MU = 255.0
_FILTER_ORDER = 8  # a 4th-order Butterworth band-pass: steep enough, no ringing worth hearing


def _as_float(samples: np.ndarray) -> np.ndarray:
    """int16 PCM or float audio -> float64 in [-1, 1]."""
    array = np.asarray(samples)
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.float64) / 32768.0
    return array.astype(np.float64)


def to_rate(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample to ``target`` Hz with a polyphase anti-aliasing filter; float32 in [-1, 1] out."""
    if rate <= 0 or target <= 0:
        raise ValueError(f"sample rates must be positive, got {rate} -> {target}")
    y = _as_float(samples)
    if rate != target and y.size:
        from scipy.signal import resample_poly

        g = gcd(rate, target)
        y = resample_poly(y, target // g, rate // g)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def mulaw_encode(samples: np.ndarray) -> np.ndarray:
    """G.711 mu-law: float in [-1, 1] -> 8-bit codes 0..255 (continuous companding, 256 levels)."""
    x = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    compressed = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    return np.rint((compressed + 1.0) / 2.0 * MU).astype(np.uint8)


def mulaw_decode(codes: np.ndarray) -> np.ndarray:
    """8-bit mu-law codes -> float64 in [-1, 1]."""
    y = np.asarray(codes, dtype=np.float64) / MU * 2.0 - 1.0
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(MU)) / MU


@lru_cache(maxsize=1)
def _band_sos() -> np.ndarray:
    """The band-pass filter, designed once (a design costs more than filtering a short utterance)."""
    from scipy.signal import butter

    low, high = PHONE_BAND_HZ
    return butter(_FILTER_ORDER // 2, [low, high], btype="bandpass", fs=PHONE_RATE, output="sos")


def phone_channel(samples: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """Pass audio through a telephone line: (float32 samples at 8 kHz, 8000).

    Band-limits to 300-3,400 Hz (zero-phase Butterworth), resamples to 8 kHz and round-trips
    through 8-bit G.711 mu-law, so the result carries the band loss and the companding noise of
    a real call. ``samples`` may be int16 PCM or float in [-1, 1].
    """
    from scipy.signal import sosfiltfilt

    y = to_rate(samples, rate, PHONE_RATE).astype(np.float64)
    if y.size > 3 * _FILTER_ORDER:
        sos = _band_sos()
        y = sosfiltfilt(sos, y, padlen=min(y.size - 1, 3 * (2 * len(sos) + 1)))
    decoded = mulaw_decode(mulaw_encode(y))
    return decoded.astype(np.float32), PHONE_RATE
