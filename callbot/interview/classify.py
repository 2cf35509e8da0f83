"""Emotion and intent of an answer: a logistic head per feature set, C chosen on validation macro-F1.

Features: ``e5`` is the mean of the answer's frozen multilingual-e5-small sentence rows (L2-normalised);
``tfidf`` is char n-gram TF-IDF fitted on the train answers only. The majority class of train is the
floor. Test is scored once, with the C validation chose; seen and unseen answers are reported apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from callbot.interview.data import Answer, labelled

Features = Callable[[Sequence[Answer]], Any]  # rows per answer: a dense array or a sparse matrix


def scores(predicted: Sequence[str], items: Sequence[Answer], task: str, labels: list[str]) -> dict[str, Any]:
    """Accuracy and macro-F1 (over the train labels) overall, and accuracy on seen / unseen answers."""
    from sklearn.metrics import f1_score

    gold = [getattr(a, task) for a in items]
    right = np.array([p == g for p, g in zip(predicted, gold, strict=True)])
    seen = np.array([a.seen for a in items], dtype=bool)

    def share(mask: np.ndarray) -> float | None:
        return round(float(right[mask].mean()), 4) if mask.any() else None

    return {
        "accuracy": share(np.ones(len(items), dtype=bool)),
        "macro_f1": round(float(f1_score(gold, list(predicted), labels=labels, average="macro", zero_division=0)), 4),
        "accuracy_seen": share(seen), "accuracy_unseen": share(~seen),
        "n": len(items), "n_unseen": int((~seen).sum()),
    }  # fmt: skip


def _fit(rows: np.ndarray, targets: list[str], c: float, max_iter: int, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=max_iter, random_state=seed).fit(rows, targets)


def head(
    features: Features, splits: dict[str, list[Answer]], task: str, grid: Sequence[float], fit: dict[str, int]
) -> tuple[dict[str, Any], Any]:
    """Every C fitted on train and scored on validation; the best macro-F1 (ties: the smaller C) scores
    test. Returns its figures and the fitted model (what serving keeps)."""
    train, val, test = (labelled(splits[s], task) for s in ("train", "validation", "test"))
    labels = sorted({getattr(a, task) for a in train})
    rows, targets = features(train), [getattr(a, task) for a in train]
    val_rows = features(val)
    tried = []
    for c in sorted(grid):
        model = _fit(rows, targets, c, fit["max_iter"], fit["seed"])
        tried.append((c, model, scores(list(model.predict(val_rows)), val, task, labels)))
    c, model, val_scores = max(tried, key=lambda t: (t[2]["macro_f1"], -t[0]))
    return {
        "C": c,
        "validation": val_scores,
        "test": scores(list(model.predict(features(test))), test, task, labels),
        "validation_by_C": {f"{k:g}": s["macro_f1"] for k, _, s in tried},
    }, model


def majority(splits: dict[str, list[Answer]], task: str) -> dict[str, Any]:
    """The most frequent train label for every answer (ties: the first in label order)."""
    train = labelled(splits["train"], task)
    labels = sorted({getattr(a, task) for a in train})
    counts = Counter(getattr(a, task) for a in train)
    top = max(labels, key=lambda label: (counts[label], -labels.index(label)))
    result: dict[str, Any] = {"label": top}
    for split in ("validation", "test"):
        items = labelled(splits[split], task)
        result[split] = scores([top] * len(items), items, task, labels)
    return result
