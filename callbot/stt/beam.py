"""CTC prefix beam search with shallow fusion of the jamo n-gram LM (issue 22).

A prefix's score is ``log P_ctc(prefix) + alpha * log P_lm(prefix) + beta * len(prefix)``: the CTC
part sums over every alignment of the prefix (blank-ending and symbol-ending probabilities kept
apart, as in Hannun et al. 2014), the LM part is added once per symbol, and the end-of-sentence
probability closes each hypothesis. It runs in plain Python over numpy rows, kept cheap by two
prunings: a frame whose blank posterior is at least ``blank_skip`` only turns every prefix into a
blank-ending one (nothing can be emitted there worth a beam slot), and only the ``top_k`` likeliest
symbols of a frame are tried. With ``alpha = 0`` and ``beta = 0`` it is pure CTC prefix search,
which on a peaky model gives greedy decoding's text.

The emissions it returns carry the frame each symbol was first emitted at and, as greedy decoding's
do, that symbol's peak posterior from there to the next symbol's emission, so word confidences stay
on the scale the bot's handover was calibrated on.
"""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.atomic import write_json

if TYPE_CHECKING:
    from pathlib import Path

    from callbot.stt.lm import JamoLM

NEG = -math.inf
DECODING_FILE = "decoding.json"


@dataclass(frozen=True)
class Emission:
    """One decoded symbol: its label, first output frame and peak posterior."""

    label: int
    frame: int
    prob: float


@dataclass(frozen=True)
class BeamSettings:
    """Shallow-fusion weights and the search's prunings (``stt.ctc`` decode keys)."""

    alpha: float = 0.0  # LM weight
    beta: float = 0.0  # bonus per emitted symbol (offsets the LM's pull towards short outputs)
    beam: int = 8
    top_k: int = 6
    blank_skip: float = 0.999
    min_prob: float = 0.0  # a frame's symbols below this posterior are not tried


@dataclass
class _Prefix:
    blank: float  # log P of the prefix over alignments that end in a blank
    label: float  # ... that end in its last symbol
    lm: float  # log P_lm of the prefix's symbols
    frames: tuple[int, ...]  # frame of each symbol's likeliest emission (on the path it was best grown by)
    best: float = NEG  # log P of that emission of the last symbol
    _row: list[float] | None = None  # log P_lm(next | prefix), fetched once per prefix

    def lm_row(self, prefix: tuple[int, ...], lm: JamoLM) -> list[float]:
        if self._row is None:
            self._row = lm.log_distribution(prefix).tolist()
        return self._row


def _lae(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) of two Python floats (faster than numpy for scalars)."""
    if a == NEG:
        return b
    if b == NEG:
        return a
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def _score(prefix: tuple[int, ...], state: _Prefix, s: BeamSettings) -> float:
    return _lae(state.blank, state.label) + s.alpha * state.lm + s.beta * len(prefix)


def _candidates(log_probs: np.ndarray, s: BeamSettings) -> list[list[tuple[int, float]]]:
    """Per frame, its ``top_k`` likeliest symbols at or above ``min_prob`` (none on a skipped frame)."""
    symbols = log_probs[:, 1:]
    k = min(s.top_k, symbols.shape[1])
    top = np.argpartition(-symbols, k - 1, axis=1)[:, :k] if k < symbols.shape[1] else None
    floor = math.log(s.min_prob) if s.min_prob > 0 else NEG
    skip = math.log(s.blank_skip) if s.blank_skip < 1.0 else math.inf
    out: list[list[tuple[int, float]]] = []
    for t, row in enumerate(symbols):
        if log_probs[t, 0] >= skip:
            out.append([])
            continue
        picked = top[t] if top is not None else range(symbols.shape[1])
        out.append([(int(c) + 1, float(row[c])) for c in picked if row[c] >= floor])
    return out


def _step(
    beams: dict[tuple[int, ...], _Prefix],
    cands: list[tuple[int, float]],
    blank: float,
    t: int,
    lm: JamoLM | None,
) -> dict[tuple[int, ...], _Prefix]:
    """One frame: every prefix stays (blank or repeat) or grows by one of the frame's candidates."""
    nxt: dict[tuple[int, ...], _Prefix] = {}
    for prefix, st in beams.items():
        total = _lae(st.blank, st.label)
        here = nxt.get(prefix)
        if here is None:
            here = nxt[prefix] = _Prefix(NEG, NEG, st.lm, st.frames, st.best, st._row)
        here.blank = _lae(here.blank, total + blank)
        last = prefix[-1] if prefix else -1
        for c, p in cands:
            if c == last:
                here.label = _lae(here.label, st.label + p)
                via = st.blank + p
            else:
                via = total + p
            ext = (*prefix, c)
            grown = nxt.get(ext)
            if grown is None:
                kept = beams.get(ext)
                if kept is not None:
                    grown = nxt[ext] = _Prefix(NEG, NEG, kept.lm, kept.frames, kept.best, kept._row)
                else:
                    step_lm = st.lm_row(prefix, lm)[c] if lm is not None else 0.0
                    grown = nxt[ext] = _Prefix(NEG, NEG, st.lm + step_lm, st.frames)
            grown.label = _lae(grown.label, via)
            if via > grown.best:  # the likeliest emission so far of this symbol: its frame, as greedy's
                grown.best, grown.frames = via, (*st.frames, t)
    return nxt


def _prune(beams: dict[tuple[int, ...], _Prefix], s: BeamSettings) -> dict[tuple[int, ...], _Prefix]:
    if len(beams) <= s.beam:
        return beams
    return dict(heapq.nlargest(s.beam, beams.items(), key=lambda item: _score(item[0], item[1], s)))


def beam_emissions(log_probs: np.ndarray, lm: JamoLM | None, settings: BeamSettings) -> list[Emission]:
    """The best prefix of (frames, classes) log-probs (blank = 0) as emissions, LM fused."""
    if settings.beam < 1 or settings.top_k < 1:
        raise ValueError(f"beam ({settings.beam}) and top_k ({settings.top_k}) must be >= 1")
    fused = lm if settings.alpha else None
    beams: dict[tuple[int, ...], _Prefix] = {(): _Prefix(0.0, NEG, 0.0, ())}
    blanks = log_probs[:, 0].tolist()
    for t, cands in enumerate(_candidates(log_probs, settings)):
        if cands:
            beams = _prune(_step(beams, cands, blanks[t], t, fused), settings)
        else:  # a blank frame (or no symbol worth trying): every prefix now ends in a blank
            beams = {
                p: _Prefix(_lae(st.blank, st.label) + blanks[t], NEG, st.lm, st.frames, st.best, st._row)
                for p, st in beams.items()
            }

    def final(item: tuple[tuple[int, ...], _Prefix]) -> float:
        end = item[1].lm_row(item[0], fused)[0] if fused is not None else 0.0
        return _score(*item, settings) + settings.alpha * end

    prefix, state = max(beams.items(), key=final)
    return _emissions(log_probs, prefix, state.frames)


def _emissions(log_probs: np.ndarray, labels: tuple[int, ...], frames: tuple[int, ...]) -> list[Emission]:
    """Each symbol with its peak posterior between its emission frame and the next symbol's."""
    ends = [*frames[1:], len(log_probs)][: len(frames)]
    return [
        Emission(label, start, float(np.exp(log_probs[start : max(end, start + 1), label].max())))
        for label, start, end in zip(labels, frames, ends, strict=True)
    ]


class DecodingError(ValueError):
    """A decoding.json beside a CTC model is malformed."""


def save_decoding(directory: Path, settings: BeamSettings | None, lm_order: int) -> None:
    """What the model is served with: ``greedy``, or ``beam_lm`` with its settings (``lm.json`` beside)."""
    body: dict[str, Any] = {"decoder": "greedy"}
    if settings is not None:
        body = {"decoder": "beam_lm", "lm_order": lm_order, **asdict(settings)}
    write_json(directory / DECODING_FILE, body)


def load_decoding(directory: Path) -> tuple[BeamSettings | None, JamoLM | None]:
    """The served decoder of a model directory: (None, None) for greedy (also when no file: older models)."""
    from callbot.stt.lm import JamoLM

    path = directory / DECODING_FILE
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["decoder"] == "greedy":
            return None, None
        settings = BeamSettings(**{f: data[f] for f in BeamSettings.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DecodingError(
            f"{path}: unreadable decoding settings ({exc}); re-run `callbot train-stt`"
        ) from None
    return settings, JamoLM.load(directory)
