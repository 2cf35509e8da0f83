"""The line's audio: G.711 as it travels (mu-law / A-law bytes), 8 kHz int16 PCM, 20 ms frames.

The wire codec is exact ITU-T G.711 (segmented, bit-inverted), not the continuous companding of
:mod:`callbot.tts.channel` that only simulates a line: a carrier's bytes must decode bit-exactly.
"""

from __future__ import annotations

import io

import numpy as np

RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz: one Twilio `media` message, one RTP packet
FRAME_MS = 20
_BIAS = 0x84


def _ulaw_table() -> np.ndarray:
    """mu-law byte -> int16 sample, for all 256 bytes."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent, mantissa = (u >> 4) & 0x07, u & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def _ulaw_encode_table() -> np.ndarray:
    """int16 sample (offset by 32768) -> mu-law byte, for all 65,536 samples (the CCITT reference)."""
    x = np.arange(-32768, 32768, dtype=np.int32) >> 2  # 14-bit, floored as the reference does
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), 8158) + 33  # 8191 at most: the top code
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 5, 0, 7)
    mantissa = (magnitude >> (exponent + 1)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


ULAW_DECODE = _ulaw_table()
ULAW_ENCODE = _ulaw_encode_table()


def ulaw_to_pcm(data: bytes) -> np.ndarray:
    """mu-law bytes -> int16 samples."""
    return ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def pcm_to_ulaw(samples: np.ndarray) -> bytes:
    """int16 samples -> mu-law bytes."""
    return ULAW_ENCODE[np.asarray(samples, dtype=np.int16).astype(np.int32) + 32768].tobytes()


def to_line(samples: np.ndarray, rate: int) -> np.ndarray:
    """Any-rate audio (int16 or float) -> int16 at 8 kHz, anti-aliased."""
    from callbot.tts.channel import to_rate

    return np.round(to_rate(samples, rate, RATE) * 32767.0).astype(np.int16)


def wav_to_line(wav: bytes) -> np.ndarray:
    """A WAV file's bytes (the TTS answer) -> int16 at 8 kHz (the first channel of a stereo file)."""
    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(wav), dtype="int16", always_2d=True)
    return to_line(samples[:, 0], rate)


def line_to_wav(samples: np.ndarray, rate: int = RATE) -> bytes:
    """int16 samples -> a 16-bit PCM WAV (what /transcribe takes)."""
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.asarray(samples, dtype=np.int16), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def frames(samples: np.ndarray) -> list[np.ndarray]:
    """int16 samples -> 20 ms frames, the last one padded with silence."""
    samples = np.asarray(samples, dtype=np.int16)
    padded = np.zeros(-(-samples.size // FRAME_SAMPLES) * FRAME_SAMPLES, dtype=np.int16)
    padded[: samples.size] = samples
    return [padded[i : i + FRAME_SAMPLES] for i in range(0, padded.size, FRAME_SAMPLES)]
