"""Character and word error rates with an explicit space policy.

Korean spacing (띄어쓰기) is inconsistent even between human transcribers, so Korean STT results are
usually reported as CER with spaces removed; jiwer counts a space as a character. The same pair
scores differently (0.333 vs 0.267 in a published example), so a number without its policy is
meaningless. Every CER here states it, and :func:`error_rates` reports both next to WER.

Inputs are expected to be normalised already (:func:`callbot.text.normalize.normalize_text`); this
module only collapses whitespace so that a double space is never counted as an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["cer", "error_rates", "wer"]

_SPACE = re.compile(r"\s+")


def _pairs(refs: Sequence[str] | str, hyps: Sequence[str] | str) -> tuple[list[str], list[str]]:
    if isinstance(refs, str):
        refs = [refs]
    if isinstance(hyps, str):
        hyps = [hyps]
    refs, hyps = list(refs), list(hyps)
    if len(refs) != len(hyps):
        raise ValueError(
            f"{len(refs)} references but {len(hyps)} hypotheses: pass one hypothesis per reference"
        )
    if not refs:
        raise ValueError("no references to score: pass at least one reference/hypothesis pair")
    return [_SPACE.sub(" ", r).strip() for r in refs], [_SPACE.sub(" ", h).strip() for h in hyps]


def _nonempty(refs: list[str], hyps: list[str], unit: str) -> tuple[list[str], list[str]]:
    """jiwer refuses empty references; an empty reference with an empty hypothesis is no error."""
    kept = [(r, h) for r, h in zip(refs, hyps, strict=True) if r]
    dropped = [h for r, h in zip(refs, hyps, strict=True) if not r]
    if any(dropped):
        raise ValueError(
            f"a reference is empty but its hypothesis is not, so its {unit} error rate is undefined: "
            "drop empty references (prepare quarantines them) before scoring"
        )
    if not kept:
        raise ValueError(f"every reference is empty: there are no {unit}s to score")
    return [r for r, _ in kept], [h for _, h in kept]


def cer(refs: Sequence[str] | str, hyps: Sequence[str] | str, *, spaces: bool) -> float:
    """Corpus character error rate (edits / reference characters).

    ``spaces=False`` removes every space first (the Korean convention); ``spaces=True`` counts a
    space as a character, as jiwer does by default.
    """
    import jiwer

    refs, hyps = _pairs(refs, hyps)
    if not spaces:
        refs = [r.replace(" ", "") for r in refs]
        hyps = [h.replace(" ", "") for h in hyps]
    refs, hyps = _nonempty(refs, hyps, "character")
    return float(jiwer.cer(refs, hyps))


def wer(refs: Sequence[str] | str, hyps: Sequence[str] | str) -> float:
    """Corpus word (eojeol) error rate: words are the space-separated units."""
    import jiwer

    refs, hyps = _nonempty(*_pairs(refs, hyps), "word")
    return float(jiwer.wer(refs, hyps))


def error_rates(refs: Sequence[str] | str, hyps: Sequence[str] | str) -> dict[str, float]:
    """Both CER policies and WER, under the keys reports and leaderboards use."""
    return {
        "cer": cer(refs, hyps, spaces=False),
        "cer_with_spaces": cer(refs, hyps, spaces=True),
        "wer": wer(refs, hyps),
    }


def disagreement(a: str, b: str) -> float:
    """How far transcript ``b`` is from ``a``: CER (spaces ignored) capped at 1; 0 for two empty
    texts and 1 when only one is empty (where CER is undefined). For comparing two transcribers or two
    decoders of one clip, neither of which is the truth."""
    a, b = a.replace(" ", "").strip(), b.replace(" ", "").strip()
    if not a or not b:
        return 0.0 if a == b else 1.0
    return min(1.0, cer([a], [b], spaces=False))
