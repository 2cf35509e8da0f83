"""What the caller wants: a sentence encoder and a calibrated intent head over the script's intents.

The one interface the dialogue (the served responder, evaluate-bot, the phone line) relies on is
:class:`Ranking` from :meth:`IntentModel.rank`; how the model encodes text (char n-grams, a
pretrained encoder, a fine-tuned one) is this package's business. Probabilities are calibrated on
the validation split, so a policy may compare them with fixed thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["IntentModel", "Ranking"]


@dataclass(frozen=True)
class Ranking:
    """The intents of one text, most likely first (the top ``k``), with calibrated probabilities.

    ``labels`` are the callers' intent names (고객의도), e.g. ``접종기관 문의``; out-of-scope kinds
    keep their ``범위외:`` prefix. ``probs`` are in the same order and sum to at most 1.
    """

    labels: tuple[str, ...]
    probs: tuple[float, ...]

    @property
    def top(self) -> str:
        return self.labels[0]

    @property
    def confidence(self) -> float:
        return self.probs[0]

    @property
    def margin(self) -> float:
        """Top-1 minus top-2 probability (1.0 when there is no second)."""
        return self.probs[0] - (self.probs[1] if len(self.probs) > 1 else 0.0)


@runtime_checkable
class IntentModel(Protocol):
    """A trained intent model, loaded from its directory by :func:`callbot.intent.model.load`."""

    def rank(self, texts: Sequence[str], k: int = 3) -> list[Ranking]:
        """One ranking per text (an empty or unusable text still gets one: its top is a handover)."""
        ...
