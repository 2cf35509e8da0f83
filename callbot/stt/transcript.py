"""What every transcriber shares: the transcript types, the audio checks and the windowing plan.

The Whisper transcribers (:mod:`callbot.stt.infer`) and the jamo CTC one (:mod:`callbot.stt.ctc_infer`)
both build on this module, so neither imports the other's loader.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from callbot.stt.vad import FRAME_S, silence_mask, speech_bounds

if TYPE_CHECKING:
    from collections.abc import Sequence

    from callbot.stt.grammar import ConfirmScores
    from callbot.stt.joint import CTCHead

SAMPLE_RATE = 16_000
HOP = 160
SILENCE_DB = 25.0  # a frame this far below the recording's loud level counts as a pause
EDGE_PAD_S = 0.1  # kept around trimmed speech, as in training segments
WINDOWING = "windowing.json"  # train-stt writes its pause settings here, beside the model
MIN_PAUSE_S = 0.1  # a silence this long is a pause between phrases, not a stop consonant
TOKENS_PER_SECOND = 25  # generous cap on decoded tokens per second of audio (stops repetition loops)


@dataclass(frozen=True)
class Segment:
    """One decoded window: seconds from the start of the input audio, and its text."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Word:
    """One word of a transcript (space-separated) and how sure the model was of it, in [0, 1].

    The responder hands over when the words that decide the intent were heard with low confidence
    (issue 22); ``start``/``end`` are seconds from the start of the input audio, when known.
    """

    text: str
    confidence: float
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class TranscriptResult:
    text: str
    segments: list[Segment] = field(default_factory=list)
    duration_s: float = 0.0
    words: list[Word] = field(default_factory=list)  # empty when the backend gives no confidence


@dataclass(frozen=True)
class Window:
    """A span of the input in samples; ``overlaps_next`` when the next window re-hears its tail."""

    start: int
    end: int
    overlaps_next: bool = False


class TranscriberError(ValueError):
    """The model path or the audio cannot be used."""


def check_audio(audio: np.ndarray) -> np.ndarray:
    """Float32 mono 16 kHz as a 1-D array, or a clear error."""
    array = np.asarray(audio)
    if array.ndim != 1:
        raise TranscriberError(
            f"audio must be mono (1-D), got shape {array.shape}; average the channels first"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise TranscriberError(
            f"audio must be float samples in [-1, 1], got {array.dtype}; divide int16 by 32768"
        )
    if not np.all(np.isfinite(array)):
        raise TranscriberError("audio holds NaN or infinite samples")
    return array.astype(np.float32, copy=False)


def _silent_runs(silent: np.ndarray, lo: int, hi: int) -> list[tuple[int, int]]:
    """``(first, end)`` frame ranges of consecutive silent frames within ``[lo, hi)``."""
    runs: list[tuple[int, int]] = []
    first: int | None = None
    for f in range(lo, hi + 1):
        quiet = f < hi and f < len(silent) and bool(silent[f])
        if quiet and first is None:
            first = f
        elif not quiet and first is not None:
            runs.append((first, f))
            first = None
    return runs


def plan_windows(
    audio: np.ndarray,
    window_s: float,
    overlap_s: float,
    silence_db: float = SILENCE_DB,
    min_pause_s: float = MIN_PAUSE_S,
) -> list[Window]:
    """Cover the speech in ``audio`` with windows of at most ``window_s`` seconds.

    Each window ends in the middle of its last pause of at least ``min_pause_s`` (so windows are
    as long as they can be without cutting a word); failing that, in the longest shorter silence of
    its second half; with no silence at all it ends at full length and the next window starts
    ``overlap_s`` earlier (the seam is then merged by words).
    """
    if len(audio) == 0:
        return []
    start, stop = speech_bounds(audio, SAMPLE_RATE, silence_db)
    pad = round(EDGE_PAD_S * SAMPLE_RATE)
    start, stop = max(0, start - pad), min(len(audio), stop + pad)
    size = round(window_s * SAMPLE_RATE)
    overlap = min(round(overlap_s * SAMPLE_RATE), size // 2)
    hop = round(FRAME_S * SAMPLE_RATE)
    min_frames = max(1, round(min_pause_s / FRAME_S))
    silent = silence_mask(audio, SAMPLE_RATE, silence_db)
    windows: list[Window] = []
    while stop - start > size:
        runs = _silent_runs(silent, start // hop + 1, (start + size) // hop)
        pauses = [r for r in runs if r[1] - r[0] >= min_frames]
        late = [r for r in runs if r[0] * hop >= start + size // 2]
        chosen = pauses[-1] if pauses else (max(late, key=lambda r: r[1] - r[0]) if late else None)
        if chosen is not None:
            cut = min(((chosen[0] + chosen[1]) // 2) * hop, start + size)
            windows.append(Window(start, cut))
            start = cut
        else:
            windows.append(Window(start, start + size, overlaps_next=True))
            start = start + size - overlap
    windows.append(Window(start, stop))
    return windows


def overlap_cut(previous: list[str], following: list[str], max_words: int = 12) -> tuple[int, int]:
    """Where to cut two windows' words that heard the same stretch of speech, keeping it once.

    The longest run of words the tail of ``previous`` shares with the head of ``following`` is the
    overlap; each side keeps its half of it (the half nearer its own centre, where it heard best).
    Returns ``(a, b)``: keep ``previous[:a] + following[b:]``. With no shared word, nothing is cut.
    """
    tail = previous[-max_words:]
    head = following[:max_words]
    match = difflib.SequenceMatcher(a=tail, b=head, autojunk=False).find_longest_match(
        0, len(tail), 0, len(head)
    )
    if match.size == 0:
        return len(previous), 0
    keep = (match.size + 1) // 2
    return len(previous) - len(tail) + match.a + keep, match.b + keep


def merge_overlap(previous: list[str], following: list[str], max_words: int = 12) -> list[str]:
    """``previous`` and ``following`` joined with their shared words kept once (:func:`overlap_cut`)."""
    a, b = overlap_cut(previous, following, max_words)
    return [*previous[:a], *following[b:]]


def trim(clip: np.ndarray, silence_db: float = SILENCE_DB) -> np.ndarray:
    """The clip's speech with ``EDGE_PAD_S`` of margin, as training segments are cut."""
    lo, hi = speech_bounds(clip, SAMPLE_RATE, silence_db)
    pad = round(EDGE_PAD_S * SAMPLE_RATE)
    return clip[max(0, lo - pad) : min(len(clip), hi + pad)]


def _is_silent(clip: np.ndarray) -> bool:
    return len(clip) == 0 or float(np.max(np.abs(clip))) < 1e-4


class Transcriber:
    """Windows the audio, decodes windows in batches (backend-specific), stitches the text."""

    backend = "base"
    ctc: CTCHead | None = None  # set by a backend whose model has a CTC head (joint decoding)

    def __init__(
        self,
        window_s: float,
        overlap_s: float | None = None,
        batch_size: int = 8,
        silence_db: float = SILENCE_DB,
        min_pause_s: float = MIN_PAUSE_S,
        use_ctc: bool = True,
    ) -> None:
        self.window_s = window_s
        self.use_ctc = use_ctc  # joint CTC/attention decoding where the model has a CTC head
        self.overlap_s = overlap_s if overlap_s is not None else min(window_s / 4, 5.0)
        self.batch_size = batch_size
        self.silence_db = silence_db
        self.min_pause_s = min_pause_s
        self.max_new_tokens = max(8, round(window_s * TOKENS_PER_SECOND))

    def decode_windows(self, clips: Sequence[np.ndarray]) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def confirm_scores(
        self, audio: np.ndarray, yes: Sequence[str], no: Sequence[str]
    ) -> ConfirmScores | None:
        """Closed-set scores of a yes/no reply (:mod:`callbot.stt.grammar`); None where the backend has no
        CTC posteriors of its own (Whisper): the caller then parses the free transcript."""
        return None

    def hear_confirm(
        self, audio: np.ndarray, yes: Sequence[str], no: Sequence[str]
    ) -> tuple[TranscriptResult, ConfirmScores | None]:
        """A reply to the confirm question: its free transcript and its closed-set scores."""
        return self.transcribe(audio), self.confirm_scores(audio, yes, no)

    def transcribe(self, audio: np.ndarray) -> TranscriptResult:
        return self.transcribe_batch([audio])[0]

    def transcribe_batch(self, audios: Sequence[np.ndarray]) -> list[TranscriptResult]:
        checked = [check_audio(a) for a in audios]
        plans = [
            plan_windows(a, self.window_s, self.overlap_s, self.silence_db, self.min_pause_s) for a in checked
        ]
        jobs = [
            (i, w)
            for i, plan in enumerate(plans)
            for w in plan
            if not _is_silent(checked[i][w.start : w.end])
        ]
        texts: dict[tuple[int, int], str] = {}
        for lo in range(0, len(jobs), self.batch_size):
            chunk = jobs[lo : lo + self.batch_size]
            decoded = self.decode_windows(
                [trim(checked[i][w.start : w.end], self.silence_db) for i, w in chunk]
            )
            for (i, w), text in zip(chunk, decoded, strict=True):
                texts[(i, w.start)] = text.strip()
        return [self._stitch(plans[i], texts, i, len(checked[i])) for i in range(len(checked))]

    @staticmethod
    def _stitch(
        plan: list[Window], texts: dict[tuple[int, int], str], index: int, n: int
    ) -> TranscriptResult:
        words: list[str] = []
        segments: list[Segment] = []
        carried_overlap = False
        for window in plan:
            window_words = texts.get((index, window.start), "").split()
            if carried_overlap:
                a, b = overlap_cut(words, window_words)
                dropped, words, window_words = len(words) - a, words[:a], window_words[b:]
                while dropped and segments:  # earlier windows give up the words heard twice
                    last = segments.pop()
                    last_words = last.text.split()
                    keep = max(0, len(last_words) - dropped)
                    dropped -= len(last_words) - keep
                    if keep:
                        segments.append(Segment(last.start, last.end, " ".join(last_words[:keep])))
            words = [*words, *window_words]
            if window_words:
                start_s, end_s = round(window.start / SAMPLE_RATE, 3), round(window.end / SAMPLE_RATE, 3)
                segments.append(Segment(start_s, end_s, " ".join(window_words)))
            carried_overlap = window.overlaps_next
        return TranscriptResult(" ".join(words), segments, round(n / SAMPLE_RATE, 3))
