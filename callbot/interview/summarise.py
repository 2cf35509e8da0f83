"""Extractive summaries of an answer, scored with character ROUGE against the labelled summary.

``centroid`` keeps the sentences nearest the answer's mean e5 embedding; ``lead`` keeps the first
ones (the baseline). Each keeps a share of the answer's sentences (at least one), in answer order;
the share is chosen per method on validation ROUGE-L F1 (ties: the smaller share) and test is
scored once. ``lead_1`` (the first sentence alone) and the whole answer are reported too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from callbot.interview.data import Answer, labelled
from callbot.interview.served import extract as extract_sentences
from callbot.llm.rouge import Score, rouge_l, rouge_n

Order = Callable[[Answer], list[int]]


def lead_order(answer: Answer) -> list[int]:
    return list(range(len(answer.sentences)))


def extract(answer: Answer, order: Sequence[int], share: float) -> str:
    """The first ``share`` of ``order`` (at least one sentence), joined in answer order (as served)."""
    return extract_sentences(answer.sentences, order, share)


@lru_cache(maxsize=1 << 16)
def _pair(predicted: str, reference: str) -> tuple[Score, Score, Score]:
    """ROUGE-1, -2 and -L of one pair (cached: methods and shares often extract the same text)."""
    return rouge_n(predicted, reference, 1), rouge_n(predicted, reference, 2), rouge_l(predicted, reference)


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def rouge(predicted: Sequence[str], items: Sequence[Answer]) -> dict[str, Any]:
    """Mean character ROUGE-1/2/L (F1, precision, recall) and ROUGE-L F1 on seen / unseen answers."""
    pairs = [_pair(p, a.summary or "") for p, a in zip(predicted, items, strict=True)]
    result: dict[str, Any] = {}
    for k, name in enumerate(("rouge_1", "rouge_2", "rouge_l")):
        result[name] = _mean([s[k].f1 for s in pairs])
        result[f"{name}_precision"] = _mean([s[k].precision for s in pairs])
        result[f"{name}_recall"] = _mean([s[k].recall for s in pairs])
    result["rouge_l_seen"] = _mean([s[2].f1 for s, a in zip(pairs, items, strict=True) if a.seen])
    result["rouge_l_unseen"] = _mean([s[2].f1 for s, a in zip(pairs, items, strict=True) if not a.seen])
    result["n"], result["n_unseen"] = len(items), sum(not a.seen for a in items)
    return result


def method(order: Order, splits: dict[str, list[Answer]], shares: Sequence[float]) -> dict[str, Any]:
    """The share with the best validation ROUGE-L F1, then test scored once with it."""
    val, test = labelled(splits["validation"], "summary"), labelled(splits["test"], "summary")
    tried = []
    for share in sorted(shares):
        tried.append((share, rouge([extract(a, order(a), share) for a in val], val)))
    share, val_scores = max(tried, key=lambda t: (t[1]["rouge_l"], -t[0]))
    return {
        "share": share,
        "validation": val_scores,
        "test": rouge([extract(a, order(a), share) for a in test], test),
        "validation_by_share": {f"{s:g}": r["rouge_l"] for s, r in tried},
    }


def summarise(centroid: Order, splits: dict[str, list[Answer]], shares: Sequence[float]) -> dict[str, Any]:
    """Centroid and lead with their chosen shares, lead-1 (share 0: one sentence), and the whole
    answer: not a summary (a summary is shorter), the point that shows what dropping sentences costs."""
    return {
        "centroid": method(centroid, splits, shares),
        "lead": method(lead_order, splits, shares),
        "lead_1": method(lead_order, splits, [0.0]),
        "whole_answer": method(lead_order, splits, [1.0]),
    }
