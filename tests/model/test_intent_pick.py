"""The intent model's choice on validation: a later candidate must gain more than the tie margin."""

from __future__ import annotations

from callbot.intent.train import Candidate, pick


def _cand(name: str, unseen: float, accuracy: float) -> Candidate:
    scores = {"validation": {"unseen": unseen, "accuracy": accuracy}, "test": {}}
    return Candidate(name, 10.0, None, scores)  # type: ignore[arg-type]


def test_a_gain_within_the_margin_is_a_tie_and_keeps_the_earlier_candidate() -> None:
    frozen, tuned = _cand("e5", 0.711, 0.80), _cand("e5-ft", 0.717, 0.79)
    assert pick([frozen, tuned], 0.01).encoder == "e5"
    assert pick([frozen, tuned], 0.0).encoder == "e5-ft"


def test_a_clear_gain_wins_and_equal_unseen_falls_back_to_overall_accuracy() -> None:
    frozen, tuned = _cand("e5", 0.70, 0.80), _cand("e5-ft", 0.75, 0.70)
    assert pick([frozen, tuned], 0.01).encoder == "e5-ft"
    same = _cand("use", 0.70, 0.85)
    assert pick([frozen, same], 0.01).encoder == "use"
