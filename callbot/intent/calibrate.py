"""Temperature scaling, calibration error and the handover policy curve, all fitted on validation.

A logistic head is over-confident on wording it memorised and under-confident elsewhere; one
temperature fitted on held-out questions (Guo et al., 2017) makes its top probability mean what it
says, so the dialogue can compare it with a fixed threshold. The policy curve is Rasa's fallback:
hand over when the top is out of scope, its probability is below a threshold, or its lead over the
second is below a margin.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from callbot.intent.model import HANDOVER_PREFIX, softmax


def nll(logits: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    probs = softmax(logits, temperature)
    return float(-np.mean(np.log(np.maximum(probs[np.arange(len(targets)), targets], 1e-12))))


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The temperature minimising validation NLL (searched on log T in [0.05, 20]); 1.0 with no items."""
    if len(targets) == 0:
        return 1.0
    from scipy.optimize import minimize_scalar

    found = minimize_scalar(
        lambda log_t: nll(logits, targets, float(np.exp(log_t))), bounds=(np.log(0.05), np.log(20.0)),
        method="bounded", options={"xatol": 1e-4},
    )  # fmt: skip
    return float(np.exp(found.x))


def ece(probs: np.ndarray, targets: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top probability (equal-width bins)."""
    if len(targets) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    right = probs.argmax(axis=1) == targets
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - right[inside].mean())
    return float(total)


def handover(label: str) -> bool:
    return label.startswith(HANDOVER_PREFIX)


@dataclass(frozen=True)
class Point:
    """One (threshold, margin) of the policy: what it does to in-scope and out-of-scope questions."""

    threshold: float
    margin: float
    success: float  # in-scope questions answered with their own intent
    wrong: float  # all questions answered with another intent's answer (the worst outcome)
    oos_recall: float  # out-of-scope questions handed over

    def row(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.__dict__.items()}


def policy_point(
    tops: Sequence[str], confidence: np.ndarray, margins: np.ndarray, gold: Sequence[str], t: float, m: float
) -> Point:
    """Outcomes when a question is answered only if its top is in scope, ``confidence >= t`` and
    ``margin >= m``."""
    answered = np.array([not handover(top) for top in tops]) & (confidence >= t) & (margins >= m)
    in_scope = np.array([not handover(g) for g in gold])
    right = np.array([top == g for top, g in zip(tops, gold, strict=True)])
    success = float((answered & right)[in_scope].mean()) if in_scope.any() else 0.0
    oos = float((~answered)[~in_scope].mean()) if (~in_scope).any() else 1.0
    wrong = float((answered & ~right).mean()) if len(gold) else 0.0
    return Point(t, m, success, wrong, oos)


def policy_curve(
    tops: Sequence[str], confidence: np.ndarray, margins: np.ndarray, gold: Sequence[str],
    thresholds: Sequence[float], margin_grid: Sequence[float],
) -> list[Point]:  # fmt: skip
    return [policy_point(tops, confidence, margins, gold, t, m) for m in margin_grid for t in thresholds]


def choose_policy(curve: Sequence[Point], oos_target: float, wrong_target: float) -> Point:
    """The most in-scope successes among points meeting both targets; else the fewest wrong answers
    (ties: the higher out-of-scope recall, then the lower threshold and margin)."""
    meeting = [p for p in curve if p.oos_recall >= oos_target and p.wrong <= wrong_target]
    if meeting:
        return max(meeting, key=lambda p: (p.success, p.oos_recall, -p.threshold, -p.margin))
    return min(curve, key=lambda p: (p.wrong, -p.oos_recall, -p.success, p.threshold, p.margin))


def probabilities_summary(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(top index, top probability, top-2 margin) per row."""
    order = np.argsort(-probs, axis=1, kind="stable")
    top = order[:, 0]
    first = probs[np.arange(len(probs)), top]
    second = probs[np.arange(len(probs)), order[:, 1]] if probs.shape[1] > 1 else np.zeros(len(probs))
    return top, first, first - second
