"""What a call gets under the dialogue policy, and the policy's thresholds calibrated under a wrong-answer target.

Evaluation code only (evaluate-bot): the served responder runs :mod:`callbot.dialogue.policy` with
the thresholds this module chose, and holds none of it.

A turn's outcome is ``right``, ``wrong`` or ``handover``: a handover is right for an out-of-scope
question and neither right nor wrong for an in-scope one; any scripted answer to an out-of-scope
question is wrong. A confirm turn takes the caller's yes/no as it was *heard* (synthesised like the
question and transcribed by the same STT), true to the caller's intent: a "네" heard as "아니요"
costs a handover, a "아니요" heard as "네" a wrong answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from callbot.dialogue.policy import Thresholds

RIGHT, WRONG, HANDOVER = "right", "wrong", "handover"


@dataclass(frozen=True)
class Scored:
    """One ranked turn and what acting on it gives, whatever the thresholds."""

    confidence: float
    margin: float
    out_of_scope_top: bool  # the top intent is an out-of-scope kind: always handed over
    right_top: bool  # answering the top intent gives the caller's scripted answer
    in_scope: bool
    min_word: float | None = None  # the lowest word confidence of the transcript (None: not known)
    heard_yes: bool | None = True  # how the caller's "네" was heard (True = understood as yes)
    heard_no: bool | None = False  # how the caller's "아니요" was heard


def outcome(answered: bool, right_top: bool, in_scope: bool) -> str:
    """A one-turn outcome: answering (right or wrong) or handing over."""
    if not answered:
        return HANDOVER if in_scope else RIGHT
    return RIGHT if in_scope and right_top else WRONG


def confirmed(item: Scored) -> tuple[str, int, bool]:
    """(outcome, turns, handed over) of a call the bot confirms: the caller says yes exactly when the top is theirs."""
    wants = item.in_scope and item.right_top
    heard = item.heard_yes if wants else item.heard_no
    if heard is None:  # asked once more, heard the same way, handed over
        return outcome(False, item.right_top, item.in_scope), 3, True
    return outcome(heard, item.right_top, item.in_scope), 2, not heard


_CODE = {RIGHT: 0, WRONG: 1, HANDOVER: 2}


class Table:
    """The turns as arrays, so a grid of thresholds is scored without a Python loop over turns."""

    def __init__(self, items: Sequence[Scored]) -> None:
        self.n = len(items)
        self.conf = np.array([i.confidence for i in items], dtype=float)
        self.margin = np.array([i.margin for i in items], dtype=float)
        self.oos = np.array([i.out_of_scope_top for i in items], dtype=bool)
        self.word = np.array([np.inf if i.min_word is None else i.min_word for i in items], dtype=float)
        self.answer_out = np.array([_CODE[outcome(True, i.right_top, i.in_scope)] for i in items], dtype=int)
        self.handover_out = np.array(
            [_CODE[outcome(False, i.right_top, i.in_scope)] for i in items], dtype=int
        )
        calls = [confirmed(i) for i in items]
        self.confirm_out = np.array([_CODE[c[0]] for c in calls], dtype=int)
        self.confirm_turns = np.array([c[1] for c in calls], dtype=float)
        self.confirm_handed = np.array([c[2] for c in calls], dtype=bool)

    def actions(self, t: Thresholds) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks (answer, confirm) per turn; the rest is handed over."""
        open_ = ~self.oos & ~(self.word < t.word)
        answer = open_ & (self.conf >= t.answer) & (self.margin >= t.margin)
        return answer, open_ & ~answer & (self.conf >= t.confirm)

    def rates(self, t: Thresholds) -> dict[str, float]:
        """Task success, wrong answers, handovers (calls ending with a counsellor), confirm share, turns per call."""
        if self.n == 0:
            return {"success": 0.0, "wrong": 0.0, "handover": 0.0, "confirm": 0.0, "turns": 0.0, "items": 0}
        answer, confirm = self.actions(t)
        outs = np.where(answer, self.answer_out, np.where(confirm, self.confirm_out, self.handover_out))
        handed = np.where(confirm, self.confirm_handed, ~answer)
        return {
            "success": float(np.mean(outs == 0)),
            "wrong": float(np.mean(outs == 1)),
            "handover": float(np.mean(handed)),
            "confirm": float(np.mean(confirm)),
            "turns": float(np.mean(np.where(confirm, self.confirm_turns, 1.0))),
            "items": self.n,
        }


def rates(items: Sequence[Scored], t: Thresholds) -> dict[str, float]:
    return Table(items).rates(t)


def _grid(values: np.ndarray, cap: float = 1.0) -> list[float]:
    """Candidate cut points: the observed values (rounded to 0.01) at or below ``cap``, and ``cap`` + never."""
    seen = {round(float(v), 2) for v in values if v <= cap}
    return sorted({*seen, cap, np.inf})


def sweep(table: Table, a: float, m: float, w: float, cuts: np.ndarray) -> tuple[np.ndarray, ...]:
    """(success, wrong, confirm share) for every confirm cut in ``cuts`` at once, answer/margin/word fixed.

    The turns neither answered nor screened out are confirmed when their confidence reaches the cut:
    sorted by confidence, each cut confirms a prefix, so cumulative sums give every cut's rates.
    """
    open_ = ~table.oos & ~(table.word < w)
    answer = open_ & (table.conf >= a) & (table.margin >= m)
    rest = open_ & ~answer
    right = np.sum(answer & (table.answer_out == 0)) + np.sum(~answer & (table.handover_out == 0))
    wrong = np.sum(answer & (table.answer_out == 1))
    order = np.argsort(-table.conf[rest], kind="stable")
    conf = table.conf[rest][order]
    gain = (table.confirm_out[rest] == 0).astype(int) - (table.handover_out[rest] == 0).astype(int)
    gain_right = np.concatenate([[0], np.cumsum(gain[order])])
    gain_wrong = np.concatenate([[0], np.cumsum((table.confirm_out[rest] == 1)[order])])
    confirmed = np.searchsorted(-conf, -cuts, side="right")  # how many reach each cut
    n = max(table.n, 1)
    return (right + gain_right[confirmed]) / n, (wrong + gain_wrong[confirmed]) / n, confirmed / n


def calibrate(
    items: Sequence[Scored],
    target: float,
    confirm_cost: float,
    margins: Sequence[float],
    words: Sequence[float],
    answer_floor: float = 0.0,
) -> tuple[Thresholds, dict[str, float]]:
    """The thresholds with the best ``success - confirm_cost * confirm share`` whose wrong rate is at most ``target``.

    A confirm costs the caller a turn: asking pays only where it succeeds more often than
    ``confirm_cost``. Answering nothing (every threshold infinite) is always allowed. On a tie the
    safer thresholds win (higher answer, margin, confirm and word cut), so the choice is deterministic.
    ``answer_floor``: no answer cut below it (a threshold calibrated on a larger set than ``items``);
    confirm cuts may still go lower, since a confirmed answer is one the caller agreed to.
    """
    table = Table(items)
    best_key: tuple = (-np.inf,)
    best = Thresholds(np.inf, 0.0, np.inf, 0.0)
    answers = _grid(table.conf)
    for a, m, w in itertools.product([x for x in answers if x >= answer_floor], margins, words):
        cuts = np.array([x for x in answers if x <= a])
        success, wrong, confirm = sweep(table, a, m, w, cuts)
        score = np.round(success - confirm_cost * confirm, 9)
        allowed = np.flatnonzero(wrong <= target + 1e-12)
        if allowed.size == 0:
            continue
        top = allowed[score[allowed] == score[allowed].max()][-1]  # the highest cut among the best
        key = (float(score[top]), (a, m, float(cuts[top]), w))
        if key > best_key:
            best_key, best = key, Thresholds(a, m, float(cuts[top]), w)
    return _finite(best), table.rates(best)


def _finite(t: Thresholds) -> Thresholds:
    """Infinite cuts as 1.0+ (JSON has no infinity; no calibrated probability reaches above 1)."""
    cap = 1.0 + 1e-6
    return Thresholds(min(t.answer, cap), t.margin, min(t.confirm, cap), t.word)


def _false_yes_bound(dangerous: Sequence[tuple[float, float]], margin: float) -> float:
    """The smallest yes deficit among clips that must never be a yes and whose yes beats their no by
    ``margin`` (they become a yes as soon as the threshold reaches it); infinity when there are none."""
    bound = [y for y, n in dangerous if n - y >= margin]
    return min(bound, default=np.inf)


def calibrate_grammar(
    positives: Sequence[tuple[float, float, bool]],
    negatives: Sequence[tuple[float, float]],
    margins: Sequence[float],
) -> tuple[float, float, float]:
    """The closed-set reply's (threshold, margin): the loosest threshold with no false yes, best accuracy.

    ``positives``: (yes deficit, no deficit, meant yes) of spoken yes/no replies; ``negatives``: (yes,
    no) deficits of clips that are no answer (questions, other words, noise). A false yes (a negative,
    or a "no", taken as yes) answers what the caller did not agree to, so none is allowed on these
    clips; the threshold is the largest positive deficit under that bound. On an accuracy tie the
    larger margin wins. Returns (threshold, margin, accuracy on the positives).
    """
    dangerous = [*negatives, *((y, n) for y, n, meant in positives if not meant)]
    best = (0.0, 0.0, -1.0)
    for margin in sorted(margins):
        bound = _false_yes_bound(dangerous, margin)
        under = [min(y, n) for y, n, _ in positives if min(y, n) < bound and np.isfinite(min(y, n))]
        tau = max(under, default=0.0)
        right = [(y < n) == meant and min(y, n) <= tau and abs(n - y) >= margin for y, n, meant in positives]
        accuracy = float(np.mean(right)) if right else 0.0
        if accuracy >= best[2]:
            best = (float(tau), float(margin), accuracy)
    return best
