"""The interview analysis as served: an answer's text -> emotion, intent (with confidences) and summary.

`callbot interview` saves what it chose on validation (:func:`save_model`): per task the head of the
better feature set (frozen e5 or char TF-IDF) as ``heads.npz`` beside ``interview.json`` (labels,
encoder, the TF-IDF state when a head reads it, the summary's kept share and the e5 weights' sha256).
:class:`InterviewModel` loads that directory with no training code: the Bento imports this module
alone of the package, and the stage splits sentences and orders a summary with these same functions.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callbot.atomic import write_bytes, write_json
from callbot.contracts import read_json

MODEL_FILE = "interview.json"
HEADS_FILE = "heads.npz"
FORMAT = 1
TASKS = ("emotion", "intent")
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")


class InterviewModelError(ValueError):
    """A saved interview model that cannot be loaded; the message names the file and what to do."""


def sentences(text: str) -> tuple[str, ...]:
    """The answer's sentences in order (the whole text when it has no sentence-final mark)."""
    found = tuple(s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip())
    return found or (text.strip(),)


def mean_rows(groups: Sequence[np.ndarray]) -> np.ndarray:
    """Each answer's row: the L2-normalised mean of its sentences' (normalised) e5 rows."""
    means = np.array([rows.mean(axis=0) for rows in groups], dtype=np.float32).reshape(-1, 384)
    return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)


def centroid_order(rows: np.ndarray) -> list[int]:
    """Sentence indices by cosine to the mean of the (L2-normalised) rows, nearest first."""
    closeness = rows @ rows.mean(axis=0)
    return sorted(range(len(rows)), key=lambda i: (-float(closeness[i]), i))


def extract(said: Sequence[str], order: Sequence[int], share: float) -> str:
    """The first ``share`` of ``order`` (at least one sentence), joined in answer order."""
    keep = max(1, int(len(said) * share + 0.5))
    return " ".join(said[i] for i in sorted(order[:keep]))


@dataclass(frozen=True)
class Head:
    """One task's logistic head as scikit-learn fitted it, on the rows of ``encoder``."""

    encoder: str  # "e5" or "tfidf"
    labels: list[str]
    coef: np.ndarray  # (classes, features); one row for two classes, as scikit-learn keeps it
    intercept: np.ndarray

    def probabilities(self, row: np.ndarray) -> np.ndarray:
        """scikit-learn's predict_proba: softmax over the classes, the logistic for two."""
        scores = self.coef @ np.asarray(row, dtype=np.float64).reshape(-1) + self.intercept
        if len(self.labels) == 2:
            scores = np.array([0.0, scores[0]])
        exp = np.exp(scores - scores.max())
        return exp / exp.sum()


def save_model(out: Path, heads: dict[str, Head], share: float, tfidf: dict[str, Any] | None) -> None:
    """Write the chosen heads, the TF-IDF state (only when a head reads it) and the summary share."""
    from callbot.bases.e5 import E5_NAME, E5_SHA256

    out.mkdir(parents=True, exist_ok=True)
    arrays = {
        f"{task}|{part}": getattr(h, part) for task, h in heads.items() for part in ("coef", "intercept")
    }
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v, dtype=np.float64) for k, v in sorted(arrays.items())})
    write_bytes(out / HEADS_FILE, buffer.getvalue())
    uses_tfidf = any(h.encoder == "tfidf" for h in heads.values())
    meta = {
        "format": FORMAT,
        "tasks": {task: {"encoder": h.encoder, "labels": h.labels} for task, h in heads.items()},
        "summary": {"method": "centroid", "share": share},
        "e5": {"name": E5_NAME, "sha256": E5_SHA256},
        "tfidf": tfidf if uses_tfidf else None,
    }
    write_json(out / MODEL_FILE, meta, indent=None)


def _read_heads(path: Path, tasks: dict[str, Any]) -> dict[str, Head]:
    what = f"{path}: not the interview model's heads"
    try:
        with np.load(path) as saved:
            return {
                task: Head(str(spec["encoder"]), [str(x) for x in spec["labels"]],
                           saved[f"{task}|coef"], saved[f"{task}|intercept"])
                for task, spec in tasks.items()
            }  # fmt: skip
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise InterviewModelError(f"{what} ({exc!r}); rerun `callbot interview`") from None


def _check_meta(meta: Any, source: Path) -> dict[str, Any]:
    """The saved description names both tasks, a known encoder each, and the pinned e5 weights."""
    from callbot.bases.e5 import E5_SHA256

    redo = "rerun `callbot interview`"
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InterviewModelError(f"{source}: not an interview model of format {FORMAT}; {redo}")
    tasks = meta.get("tasks")
    if not isinstance(tasks, dict) or set(tasks) != set(TASKS):
        raise InterviewModelError(f"{source}: `tasks` must describe {', '.join(TASKS)}; {redo}")
    for task, spec in tasks.items():
        if not isinstance(spec, dict) or spec.get("encoder") not in ("e5", "tfidf"):
            raise InterviewModelError(f"{source}: tasks.{task}.encoder must be e5 or tfidf; {redo}")
        if spec["encoder"] == "tfidf" and not meta.get("tfidf"):
            raise InterviewModelError(
                f"{source}: tasks.{task} reads TF-IDF but no `tfidf` state is saved; {redo}"
            )
    if (meta.get("e5") or {}).get("sha256") != E5_SHA256:
        raise InterviewModelError(
            f"{source}: trained on other e5 weights than the pinned {E5_SHA256[:12]}; {redo}"
        )
    return meta


class InterviewModel:
    """The saved heads and summary share on the frozen e5 (and TF-IDF where a head reads it)."""

    def __init__(self, heads: dict[str, Head], share: float, tfidf: Any = None, threads: int = 1) -> None:
        self.heads, self.share, self.tfidf, self.threads = heads, share, tfidf, max(1, threads)

    @classmethod
    def load(cls, path: Path, threads: int = 1) -> InterviewModel:
        from callbot.contracts import ContractError
        from callbot.intent.encoders import EncoderError, Tfidf

        source = path / MODEL_FILE
        try:
            meta = _check_meta(read_json(source, "the interview model", "`callbot interview`"), source)
            tfidf = Tfidf.from_state(meta["tfidf"], str(source)) if meta.get("tfidf") else None
        except (ContractError, EncoderError) as exc:
            raise InterviewModelError(str(exc)) from None
        heads = _read_heads(path / HEADS_FILE, meta["tasks"])
        widths = {"e5": 384, "tfidf": len(tfidf.vectorizer.vocabulary) if tfidf else 0}
        for task, head in heads.items():
            classes = 1 if len(head.labels) == 2 else len(head.labels)
            if head.coef.shape != (classes, widths[head.encoder]) or head.intercept.shape != (classes,):
                raise InterviewModelError(
                    f"{path / HEADS_FILE}: the {task} head is {head.coef.shape}, not ({classes}, "
                    f"{widths[head.encoder]}) for its labels and encoder; rerun `callbot interview`"
                )
        share = float((meta.get("summary") or {}).get("share", 0.0))
        return cls(heads, share, tfidf, threads)

    def analyse(self, text: str) -> dict[str, Any]:
        """Emotion and intent (label, confidence, every label's probability) and the extractive summary."""
        from callbot.intent.encoders import pretrained

        said = sentences(text)
        rows = pretrained("e5", list(said), self.threads)
        features: dict[str, Any] = {"e5": mean_rows([rows])[0]}
        if self.tfidf is not None:
            features["tfidf"] = self.tfidf.vectorizer.transform([text]).toarray()[0]
        out: dict[str, Any] = {}
        for task, head in self.heads.items():
            p = head.probabilities(features[head.encoder])
            best = int(np.argmax(p))
            out[task] = {
                "label": head.labels[best],
                "confidence": round(float(p[best]), 4),
                "scores": {label: round(float(v), 4) for label, v in zip(head.labels, p, strict=True)},
                "encoder": head.encoder,
            }
        out["summary"] = extract(said, centroid_order(rows), self.share)
        out["sentences"] = len(said)
        return out
