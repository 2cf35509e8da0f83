"""Cut long utterances into training segments that fit Whisper's window, with the text to match.

Interview answers run far past the window and their labels carry no timestamps, so text and audio
are aligned at pauses: the raw label text is split into phrases at punctuation (sentence ends and
commas, where speakers pause), the phrases are mapped onto the words of the normalised reference,
and a dynamic programme picks, among the pauses the energy VAD found, the one cut per phrase
boundary whose phrase durations best match the phrase lengths (speaking rate is roughly constant
within an utterance). Phrases are then packed into segments of at most the window.

An utterance whose best alignment still disagrees with the speaking rate (a phrase lasting far more
or less than its share), or that has fewer pauses than phrase boundaries, is quarantined with the
reason: training on a mislabelled segment teaches the model to hallucinate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from callbot.stt.vad import Pause, find_pauses, speech_bounds

EDGE_PAD_S = 0.1  # the same margin the transcriber keeps around speech
_PHRASE_END = re.compile(r"(?<=[.?!,;:。])\s+")
_COUNTED = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class SegmentRules:
    """How utterances are cut (from params.yaml ``stt``)."""

    sample_rate: int
    window_s: float
    min_pause_s: float
    silence_db: float
    duration_tolerance: float  # a phrase may last this factor more or less than its share


@dataclass(frozen=True)
class TrainingSegment:
    """A span of an utterance's audio (samples) and the reference words spoken in it."""

    utterance_id: str
    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Quarantined:
    """An utterance (or a part of one) left out of training, and why."""

    utterance_id: str
    reason: str  # short code
    message: str


def split_phrases(text_raw: str) -> list[str]:
    """Phrases of the raw label text: cut after sentence-final and clause punctuation."""
    return [p for p in (s.strip() for s in _PHRASE_END.split(text_raw.strip())) if p]


def phrase_word_bounds(phrases: list[str], words: list[str]) -> list[int]:
    """For each phrase, the index in ``words`` where it ends (monotone, last == len(words)).

    Normalisation may change a phrase's length (numbers read out, fillers dropped), so boundaries
    are placed by the share of letters and digits before them, snapped to the nearest word end.
    """
    raw_counts = [len(_COUNTED.findall(p)) for p in phrases]
    total_raw = sum(raw_counts) or 1
    word_ends = np.cumsum([len(w) for w in words]) if words else np.zeros(0)
    total_norm = float(word_ends[-1]) if len(words) else 0.0
    bounds: list[int] = []
    seen = 0
    for count in raw_counts[:-1]:
        seen += count
        target = total_norm * seen / total_raw
        index = int(np.argmin(np.abs(word_ends - target))) + 1 if len(words) else 0
        bounds.append(max(index, bounds[-1] if bounds else 0))
    bounds.append(len(words))
    return bounds


def _choose_cuts(
    pauses: list[Pause], expected: list[float], start: int, end: int, sample_rate: int
) -> tuple[list[Pause], float] | None:
    """The pauses (one per boundary, in order) minimising the worst-case |log(actual/expected)|.

    Returns the chosen pauses and the largest log ratio, or None when there are too few pauses.
    """
    need = len(expected) - 1
    if need == 0:
        return [], abs(math.log(max(end - start, 1) / sample_rate / expected[0]))
    if len(pauses) < need:
        return None
    # cost[k][j]: best worst-ratio for phrases 0..k with phrase k ending at pause j
    inf = float("inf")
    n = len(pauses)

    def ratio(a: int, b: int, k: int) -> float:
        actual = max(b - a, 1) / sample_rate
        return abs(math.log(actual / expected[k]))

    cost = [[inf] * n for _ in range(need)]
    back = [[-1] * n for _ in range(need)]
    for j in range(n):
        cost[0][j] = ratio(start, pauses[j].start, 0)
    for k in range(1, need):
        for j in range(k, n):
            for i in range(k - 1, j):
                c = max(cost[k - 1][i], ratio(pauses[i].end, pauses[j].start, k))
                if c < cost[k][j]:
                    cost[k][j], back[k][j] = c, i
    best, last = inf, -1
    for j in range(need - 1, n):
        c = max(cost[need - 1][j], ratio(pauses[j].end, end, need))
        if c < best:
            best, last = c, j
    chosen = [last]
    for k in range(need - 1, 0, -1):
        chosen.append(back[k][chosen[-1]])
    return [pauses[j] for j in reversed(chosen)], best


def segment_utterance(
    utterance_id: str,
    audio: np.ndarray,
    text: str,
    text_raw: str,
    rules: SegmentRules,
    *,
    pack: bool = True,
) -> tuple[list[TrainingSegment], list[Quarantined]]:
    """Training segments of one utterance (each at most ``rules.window_s``) and what was left out.

    ``pack`` joins consecutive phrases into segments as long as the window allows; without it each
    aligned phrase is its own segment (training then recombines phrases, :mod:`callbot.stt.augment`).
    An utterance that fits the window whole is one segment either way.
    """
    sr = rules.sample_rate
    words = text.split()
    if not words:
        return [], [Quarantined(utterance_id, "empty_text", "the normalised reference is empty")]
    lo, hi = speech_bounds(audio, sr, rules.silence_db)
    pad = round(EDGE_PAD_S * sr)
    lo, hi = max(0, lo - pad), min(len(audio), hi + pad)
    if hi - lo <= round(rules.window_s * sr):
        return [TrainingSegment(utterance_id, 0, lo, hi, " ".join(words))], []
    phrase_words = _phrase_words(text, text_raw, words)
    spans = _align_phrases(utterance_id, audio, phrase_words, lo, hi, rules)
    if isinstance(spans, Quarantined):
        return [], [spans]
    return _window_segments(utterance_id, phrase_words, *spans, rules, pack=pack)


def _phrase_words(text: str, text_raw: str, words: list[str]) -> list[list[str]]:
    """The normalised words of each punctuated phrase of the raw text."""
    phrases = split_phrases(text_raw) or [text]
    bounds = phrase_word_bounds(phrases, words)
    keep = [i for i in range(len(bounds)) if bounds[i] > (bounds[i - 1] if i else 0)]
    bounds = [bounds[i] for i in keep]  # phrases that normalised to nothing merge into the next
    return [words[(bounds[i - 1] if i else 0) : bounds[i]] for i in range(len(bounds))]


def _align_phrases(
    utterance_id: str,
    audio: np.ndarray,
    phrase_words: list[list[str]],
    lo: int,
    hi: int,
    rules: SegmentRules,
) -> tuple[list[int], list[int]] | Quarantined:
    """Each phrase's (start, end) samples: phrase boundaries placed at pauses, matching each phrase's
    share of the speech by its characters; or why the text cannot be placed."""
    sr = rules.sample_rate
    chars = [sum(len(w) for w in pw) for pw in phrase_words]
    pauses = [
        p
        for p in find_pauses(audio, sr, min_pause_s=rules.min_pause_s, threshold_db=rules.silence_db)
        if lo < p.start and p.end < hi
    ]
    # the pauses themselves take time: share the speech, not the span, among the phrases
    seconds_per_char = ((hi - lo) / sr - sum(p.length() for p in pauses) / sr) / max(sum(chars), 1)
    expected = [max(c * seconds_per_char, 0.05) for c in chars]
    choice = _choose_cuts(pauses, expected, lo, hi, sr)
    if choice is None:
        return Quarantined(
            utterance_id,
            "too_few_pauses",
            f"{len(pauses)} pauses for {len(phrase_words) - 1} phrase boundaries; cannot place the text",
        )
    cuts, worst = choice
    if worst > math.log(rules.duration_tolerance):
        return Quarantined(
            utterance_id,
            "rate_mismatch",
            f"best alignment has a phrase {math.exp(worst):.2f}x off its share of the speech "
            f"(tolerance {rules.duration_tolerance}x)",
        )
    # phrase k spans [starts[k], ends[k]); cut points sit mid-pause with a margin on each side
    pad = round(EDGE_PAD_S * sr)
    starts = [lo] + [max(p.start, p.end - pad) for p in cuts]
    ends = [min(p.end, p.start + pad) for p in cuts] + [hi]
    return starts, ends


def _window_segments(
    utterance_id: str,
    phrase_words: list[list[str]],
    starts: list[int],
    ends: list[int],
    rules: SegmentRules,
    *,
    pack: bool,
) -> tuple[list[TrainingSegment], list[Quarantined]]:
    """Aligned phrases as segments of at most a window (joined while they fit, with ``pack``); a
    phrase longer than the window is quarantined."""
    sr, window = rules.sample_rate, round(rules.window_s * rules.sample_rate)
    segments: list[TrainingSegment] = []
    quarantined: list[Quarantined] = []
    k = 0
    while k < len(phrase_words):
        if ends[k] - starts[k] > window:
            quarantined.append(
                Quarantined(
                    utterance_id,
                    "phrase_longer_than_window",
                    f"phrase {k} lasts {(ends[k] - starts[k]) / sr:.1f} s > window {rules.window_s} s",
                )
            )
            k += 1
            continue
        last = k
        while pack and last + 1 < len(phrase_words) and ends[last + 1] - starts[k] <= window:
            last += 1
        text_words = [w for pw in phrase_words[k : last + 1] for w in pw]
        segments.append(
            TrainingSegment(utterance_id, len(segments), starts[k], ends[last], " ".join(text_words))
        )
        k = last + 1
    return segments, quarantined
