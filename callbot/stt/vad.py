"""Energy voice-activity detection: where the pauses are in a waveform.

Interview answers (about 85 s) are longer than Whisper's window and their labels carry no
timestamps. Pauses are where a cut loses nothing: training segments are cut there (and the text
split at sentence ends to match), and long audio at inference is windowed there. A frame energy
threshold relative to the loud part of the recording is enough for read or studio speech; no model
is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_S = 0.02


@dataclass(frozen=True)
class Pause:
    """A silent stretch, in samples; ``start`` is the first silent sample, ``end`` one past the last."""

    start: int
    end: int

    @property
    def middle(self) -> int:
        return (self.start + self.end) // 2

    def length(self) -> int:
        return self.end - self.start


def frame_db(audio: np.ndarray, sample_rate: int, frame_s: float = FRAME_S) -> np.ndarray:
    """RMS level of each ``frame_s`` frame in dB full scale (silence floors at -100 dB)."""
    hop = max(1, round(frame_s * sample_rate))
    n = len(audio) // hop
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    frames = audio[: n * hop].astype(np.float64).reshape(n, hop)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    return 20.0 * np.log10(np.maximum(rms, 1e-5))


def silence_mask(
    audio: np.ndarray, sample_rate: int, threshold_db: float, frame_s: float = FRAME_S
) -> np.ndarray:
    """Per frame: True where the level is ``threshold_db`` below the recording's loud level.

    The loud level is the 95th percentile of frame levels, so a single click does not set it and
    quiet recordings are judged against themselves.
    """
    levels = frame_db(audio, sample_rate, frame_s)
    if levels.size == 0:
        return np.zeros(0, dtype=bool)
    loud = float(np.percentile(levels, 95))
    return levels < loud - abs(threshold_db)


def find_pauses(
    audio: np.ndarray, sample_rate: int, *, min_pause_s: float, threshold_db: float, frame_s: float = FRAME_S
) -> list[Pause]:
    """Silent stretches of at least ``min_pause_s``, including any at the very start or end."""
    mask = silence_mask(audio, sample_rate, threshold_db, frame_s)
    hop = max(1, round(frame_s * sample_rate))
    pauses: list[Pause] = []
    run_start: int | None = None
    for i, silent in enumerate([*mask.tolist(), False]):
        if silent and run_start is None:
            run_start = i
        elif not silent and run_start is not None:
            if (i - run_start) * frame_s >= min_pause_s - 1e-9:
                end = len(audio) if i == len(mask) else i * hop
                pauses.append(Pause(run_start * hop, end))
            run_start = None
    return pauses


def speech_bounds(audio: np.ndarray, sample_rate: int, threshold_db: float) -> tuple[int, int]:
    """First and one-past-last sample of speech (the whole clip if nothing is loud)."""
    mask = silence_mask(audio, sample_rate, threshold_db)
    hop = max(1, round(FRAME_S * sample_rate))
    voiced = np.flatnonzero(~mask)
    if voiced.size == 0:
        return 0, len(audio)
    return int(voiced[0] * hop), int(min(len(audio), (voiced[-1] + 1) * hop))
