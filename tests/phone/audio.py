"""Caller audio for the phone-line tests: espeak-ng Korean through the 8 kHz telephone channel."""

from __future__ import annotations

import numpy as np

from callbot.phone.audio import RATE, frames


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
