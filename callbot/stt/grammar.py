"""Closed-set (grammar) scoring of a short reply: how well each candidate phrase explains a clip's CTC
posteriors, next to how well the free decode does over the same frames.

Why: a lone "네" is two jamo in a quarter of a second; the free decoder, which may write any word,
hears 나/너/제 in it for most voices. An IVR asking "yes or no?" knows the reply is one of a few
phrases, so it scores those phrases and accepts the best only when it explains the audio almost as
well as the free decode (not a forced fit of a question or of noise) and clearly better than the
other answer. This module only scores; the thresholds and the decision live with the dialogue
policy (``callbot.dialogue.policy.grammar_answer``), calibrated on validation by evaluate-bot.

The score of a phrase is its per-frame deficit: (free score - phrase CTC log-likelihood) / frames,
where the free score is the better of the greedy path's log-prob and the CTC log-likelihood of what
the served decoder (beam + LM) wrote for these frames. The CTC likelihood sums every alignment, so the
phrase the served decode wrote scores exactly 0, and any phrase the greedy path spells scores <= 0.
(Against the greedy path alone, a lone 네 the beam reads right still lost a third of a nat a frame to
the path's stray symbols, and the calibrated threshold turned half of them away.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from callbot.stt.jamo import Alphabet


@dataclass(frozen=True)
class PhraseScore:
    """The best candidate of one answer: the phrase and its per-frame deficit to the free decode."""

    phrase: str
    deficit: float


@dataclass(frozen=True)
class ConfirmScores:
    """The closed-set scores of one clip: the best yes phrase and the best no phrase."""

    yes: PhraseScore
    no: PhraseScore
    frames: int

    def to_json(self) -> dict[str, object]:
        return {
            "yes": {"phrase": self.yes.phrase, "deficit": round(self.yes.deficit, 4)},
            "no": {"phrase": self.no.phrase, "deficit": round(self.no.deficit, 4)},
            "frames": self.frames,
        }


def phrase_labels(phrases: Sequence[str], alphabet: Alphabet) -> list[tuple[str, list[int]]]:
    """Each phrase spelt in the model's labels; a phrase with a symbol the model lacks is left out."""
    out = []
    for phrase in phrases:
        ids, skipped = alphabet.encode(phrase)
        if ids and not skipped:
            out.append((phrase, ids))
    return out


def phrase_logliks(log_probs: np.ndarray, labels: Sequence[Sequence[int]]) -> np.ndarray:
    """CTC log-likelihood of each label sequence over all frames of one clip (-inf when it cannot fit)."""
    import torch

    n = len(labels)
    lp = torch.from_numpy(np.ascontiguousarray(log_probs, dtype=np.float32)).unsqueeze(1).expand(-1, n, -1)
    targets = torch.tensor([i for seq in labels for i in seq], dtype=torch.long)
    frames = torch.full((n,), log_probs.shape[0], dtype=torch.long)
    lengths = torch.tensor([len(seq) for seq in labels], dtype=torch.long)
    loss = torch.nn.functional.ctc_loss(lp, targets, frames, lengths, blank=0, reduction="none")
    return -loss.numpy().astype(np.float64)


def best_path(log_probs: np.ndarray) -> float:
    """The free (greedy) decode's log-prob: the best symbol of every frame."""
    return float(log_probs.max(axis=1).sum())


def _best(log_probs: np.ndarray, spelt: list[tuple[str, list[int]]], free: float) -> PhraseScore:
    if not spelt:
        return PhraseScore("", float("inf"))
    lls = phrase_logliks(log_probs, [ids for _, ids in spelt])
    i = int(np.argmax(lls))
    frames = max(1, log_probs.shape[0])
    return PhraseScore(spelt[i][0], (free - float(lls[i])) / frames)


def free_score(log_probs: np.ndarray, alphabet: Alphabet, heard: str | None = None) -> float:
    """The free decode's log-prob over these frames: the greedy path's, or the CTC log-likelihood of
    ``heard`` (the served decoder's text) where that is higher."""
    free = best_path(log_probs)
    spelt = phrase_labels([heard], alphabet) if heard and heard.strip() else []
    if spelt:
        free = max(free, float(phrase_logliks(log_probs, [spelt[0][1]])[0]))
    return free


def confirm_scores(
    log_probs: np.ndarray, yes: Sequence[str], no: Sequence[str], alphabet: Alphabet, heard: str | None = None
) -> ConfirmScores:
    """The best yes and no phrase of one clip's (frames, classes) log-posteriors, as deficits to the free
    decode (``heard``: what the served decoder wrote for these frames, if known)."""
    free = free_score(log_probs, alphabet, heard)
    return ConfirmScores(
        _best(log_probs, phrase_labels(yes, alphabet), free),
        _best(log_probs, phrase_labels(no, alphabet), free),
        int(log_probs.shape[0]),
    )
