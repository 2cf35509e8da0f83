"""Caller audio for the phone-line tests: espeak-ng Korean through the 8 kHz telephone channel."""

from __future__ import annotations

import numpy as np

from callbot.phone.audio import RATE, frames, pcm_to_ulaw, ulaw_to_pcm


def caller(text: str) -> np.ndarray:
    """``text`` spoken by espeak-ng and passed through a G.711 phone line: 8 kHz int16."""
    from callbot.tts.channel import phone_channel
    from callbot.tts.espeak import synthesize

    samples, rate = synthesize(text)
    line, _ = phone_channel(samples, rate)
    return np.round(line * 32767.0).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def caller_frames(*parts: np.ndarray) -> list[np.ndarray]:
    return frames(np.concatenate(parts))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two recordings' log spectrograms (32 ms windows), over their common length."""
    from scipy.signal import stft

    n = min(a.size, b.size)
    if n < 512:
        return 0.0  # shorter than two windows: nothing to compare
    spectra = [np.log1p(np.abs(stft(x[:n].astype(float), 8000, nperseg=256)[2])).ravel() for x in (a, b)]
    return float(np.corrcoef(*spectra)[0, 1])


def as_sent(samples: np.ndarray) -> np.ndarray:
    """What a bridge decodes of ``samples`` sent by the line (20 ms frames, G.711 mu-law)."""
    return ulaw_to_pcm(b"".join(pcm_to_ulaw(f) for f in frames(samples)))
