"""A jamo n-gram language model for shallow fusion with the CTC decoder (issue 22).

The acoustic model spells what it hears; a small character LM over the same jamo alphabet knows which
spellings Korean text actually uses (a final consonant before a vowel, a particle after a noun). It
is estimated from the TRAIN split's transcripts only, through the same decomposition as the CTC
targets (:meth:`callbot.stt.jamo.Alphabet.encode`), with interpolated Witten-Bell smoothing, so every
symbol of the alphabet keeps some probability after any context: a word the corpora never held can
still be spelt, the LM only leans on the acoustics where they are unsure.

Outcomes are indexed like CTC labels: 1..V are the alphabet's symbols and 0 (the CTC blank's slot) is
the sentence boundary (begin as context, end as outcome). Saved as ``lm.json`` beside the model:
counts only, keys sorted, so the same texts give the same bytes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from callbot.atomic import write_json

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    from callbot.stt.jamo import Alphabet

LM_FILE = "lm.json"
BOUNDARY = 0


class LanguageModelError(ValueError):
    """An LM file is missing or malformed, or the LM cannot be built."""


@dataclass
class JamoLM:
    """Counts of every order 1..``order`` (context of label ids -> next id -> count)."""

    order: int
    size: int  # outcomes: the boundary and the alphabet's V symbols
    counts: dict[tuple[int, ...], dict[int, int]]
    _cache: dict[tuple[int, ...], np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def distribution(self, context: Sequence[int]) -> np.ndarray:
        """P(next | last ``order``-1 labels of ``context``) over all outcomes (sums to 1)."""
        return np.exp(self.log_distribution(context))

    def log_distribution(self, context: Sequence[int]) -> np.ndarray:
        """log P(next | context), cached per (boundary-padded) context."""
        key = tuple(context[max(len(context) - self.order + 1, 0) :]) if self.order > 1 else ()
        key = (BOUNDARY,) * (self.order - 1 - len(key)) + key
        found = self._cache.get(key)
        if found is None:
            found = np.log(self._interpolate(key))
            self._cache[key] = found
        return found

    def _interpolate(self, key: tuple[int, ...]) -> np.ndarray:
        """Witten-Bell: each order mixes its counts with the next shorter context's distribution."""
        probs = np.full(self.size, 1.0 / self.size)
        for start in range(len(key), -1, -1):
            seen = self.counts.get(key[start:])
            if not seen:
                continue
            total, types = sum(seen.values()), len(seen)
            mixed = probs * types
            for label, count in seen.items():
                mixed[label] += count
            probs = mixed / (total + types)
        return probs

    def save(self, directory: Path) -> None:
        write_json(directory / LM_FILE, to_json(self))

    @classmethod
    def load(cls, directory: Path) -> JamoLM:
        path = directory / LM_FILE
        try:
            return from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LanguageModelError(
                f"{path}: unreadable jamo LM ({exc}); re-run `callbot train-stt`"
            ) from None


def to_json(lm: JamoLM) -> dict:
    """Counts as ``{"order", "size", "counts": {"3 5 1": {"7": 2}}}`` (keys sorted when written)."""
    return {
        "order": lm.order,
        "size": lm.size,
        "counts": {
            " ".join(map(str, ctx)): {str(k): v for k, v in sorted(nxt.items())}
            for ctx, nxt in sorted(lm.counts.items())
        },
    }


def from_json(data: dict) -> JamoLM:
    order, size = int(data["order"]), int(data["size"])
    counts = {
        tuple(int(x) for x in ctx.split()): {int(k): int(v) for k, v in nxt.items()}
        for ctx, nxt in data["counts"].items()
    }
    if order < 1 or size < 2 or any(len(c) >= order or max(n, default=0) >= size for c, n in counts.items()):
        raise ValueError("order, size and counts disagree")
    return JamoLM(order, size, counts)


def build_lm(texts: Iterable[str], alphabet: Alphabet, order: int) -> JamoLM:
    """The LM of ``texts`` (training transcripts) over ``alphabet``; out-of-alphabet characters skipped."""
    if order < 1:
        raise LanguageModelError(f"stt.ctc.lm_order must be >= 1 (got {order})")
    counts: dict[tuple[int, ...], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    sentences = 0
    for text in texts:
        labels, _ = alphabet.encode(text)
        if not labels:
            continue
        sentences += 1
        seq = [BOUNDARY] * (order - 1) + labels + [BOUNDARY]
        for i in range(order - 1, len(seq)):
            for k in range(order):
                counts[tuple(seq[i - k : i])][seq[i]] += 1
    if not sentences:
        raise LanguageModelError("no training transcript uses the alphabet; the jamo LM would be empty")
    return JamoLM(order, alphabet.size, {c: dict(n) for c, n in counts.items()})
