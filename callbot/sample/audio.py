"""The sample tree's audio: 16 kHz mono 16-bit PCM WAV, spoken by espeak-ng or a short stub.

Speech is synthesised at espeak-ng's 22,050 Hz and resampled to the dataset's 16 kHz with a
polyphase filter, each utterance from a pristine synthesiser (see
:func:`callbot.tts.espeak.synthesize_fresh`) so the bytes depend only on the text and speaker.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
BITS = 16
CHANNELS = 1
STUB_MS = (60, 200)  # stub WAVs are short: scale runs need valid files, not speech


@dataclass(frozen=True)
class Voice:
    """How one speaker sounds: an espeak-ng voice variant, words per minute and pitch."""

    name: str  # e.g. ko+f1
    rate: int
    pitch: int
    gain: float  # recording level: espeak-ng peaks near full scale, real microphones do not


def voice_for(gender: str, draws: list[float]) -> Voice:
    """A speaker's voice from four uniform draws: female speakers get the f variants.

    Only variants without breath noise: espeak-ng seeds that noise from the clock, which would
    make the tree differ from run to run.
    """
    variant_draw, rate_draw, pitch_draw, gain_draw = draws
    variants = ("f1", "f4") if gender == "Female" else ("m1", "m2", "m3", "m4")
    variant = variants[int(variant_draw * len(variants))]
    rate = 175 + int(rate_draw * 50)  # 175..224 wpm: spoken interviews are brisk
    base = 55 if gender == "Female" else 30
    gain = round(0.3 + 0.3 * gain_draw, 3)  # peaks at about -10 to -4 dBFS
    return Voice(name=f"ko+{variant}", rate=rate, pitch=base + int(pitch_draw * 20), gain=gain)


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """A canonical 44-byte-header PCM WAV: no extra chunks, so fileSize is predictable."""
    pcm = np.asarray(samples, dtype="<i2").tobytes()
    block = CHANNELS * BITS // 8
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, CHANNELS, rate, rate * block, block, BITS)
    header += b"data" + struct.pack("<I", len(pcm))
    return header + pcm


def duration_ms(samples: int) -> int:
    """Label ``duration``: whole milliseconds, as the page's example (17300, 85510)."""
    return round(samples * 1000 / SAMPLE_RATE)


def stub_samples(rng_values: tuple[float, float]) -> np.ndarray:
    """A short, quiet, valid tone: fast to write and still decodable by every reader."""
    length_draw, pitch_draw = rng_values
    ms = STUB_MS[0] + int(length_draw * (STUB_MS[1] - STUB_MS[0]))
    t = np.arange(ms * SAMPLE_RATE // 1000) / SAMPLE_RATE
    tone = 1000.0 * np.sin(2 * np.pi * (150 + 150 * pitch_draw) * t)
    return np.rint(tone).astype(np.int16)


def speech_samples(texts: list[str], voices: list[Voice]) -> list[np.ndarray]:
    """Speak each text with its voice and resample to 16 kHz (call in a worker process)."""
    from callbot.tts.espeak import Utterance, resample, synthesize_fresh

    utterances = [Utterance(t, v.rate, v.pitch, v.name) for t, v in zip(texts, voices, strict=True)]
    spoken = synthesize_fresh(utterances)
    return [
        resample(audio, rate, SAMPLE_RATE, v.gain) for (audio, rate), v in zip(spoken, voices, strict=True)
    ]
