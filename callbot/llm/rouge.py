"""ROUGE for Korean on characters (Hangul syllables), implemented here.

``rouge-score`` tokenises on ``[a-z0-9]+`` after lower-casing, which drops every Hangul syllable, so a
Korean pair scores 0 whatever it says. Morpheme tokenisers (Mecab, Kiwi) are not in the pinned stack.
Syllables are Korean-aware without a dictionary: a particle or ending that differs costs one or two
units instead of the whole eojeol. Spaces and punctuation are dropped (Korean spacing is loose);
Latin words and digits count per character too, lower-cased.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float


def rouge_tokens(text: str) -> list[str]:
    """The units ROUGE counts: NFC letters and digits, one per character, lower-cased."""
    return [ch for ch in unicodedata.normalize("NFC", text).lower() if ch.isalnum()]


def _score(overlap: int, predicted: int, reference: int) -> Score:
    if predicted == 0 or reference == 0 or overlap == 0:
        return Score(0.0, 0.0, 0.0)
    p, r = overlap / predicted, overlap / reference
    return Score(p, r, 2 * p * r / (p + r))


def rouge_n(prediction: str, reference: str, n: int) -> Score:
    """ROUGE-N on character n-grams (clipped counts)."""
    pred, ref = rouge_tokens(prediction), rouge_tokens(reference)
    pg = Counter(tuple(pred[i : i + n]) for i in range(len(pred) - n + 1))
    rg = Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
    overlap = sum((pg & rg).values())
    return _score(overlap, sum(pg.values()), sum(rg.values()))


def _lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> Score:
    """ROUGE-L: longest common subsequence of characters."""
    pred, ref = rouge_tokens(prediction), rouge_tokens(reference)
    return _score(_lcs(pred, ref), len(pred), len(ref))


def corpus_rouge(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L precision, recall and F1 over pairs (the usual macro average)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not predictions:
        return {}
    scores = {
        "rouge_1": [rouge_n(p, r, 1) for p, r in zip(predictions, references, strict=True)],
        "rouge_2": [rouge_n(p, r, 2) for p, r in zip(predictions, references, strict=True)],
        "rouge_l": [rouge_l(p, r) for p, r in zip(predictions, references, strict=True)],
    }
    out: dict[str, float] = {}
    for name, values in scores.items():
        k = len(values)
        out[name] = sum(s.f1 for s in values) / k
        out[f"{name}_precision"] = sum(s.precision for s in values) / k
        out[f"{name}_recall"] = sum(s.recall for s in values) / k
    return out
