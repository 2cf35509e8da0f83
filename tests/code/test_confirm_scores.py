"""Closed-set scoring of the confirm reply (callbot.stt.grammar) on posteriors built by hand: the CTC
sums every alignment, so a phrase the frames nearly spell wins over a far one even where the greedy
path spells another word; a phrase the greedy path spells exactly never scores worse than it."""

from __future__ import annotations

import numpy as np

from callbot.dialogue.policy import NO_PHRASES, YES_PHRASES, Thresholds, grammar_answer
from callbot.stt.grammar import best_path, confirm_scores, phrase_labels, phrase_logliks
from callbot.stt.jamo import Alphabet, decompose


def alphabet() -> Alphabet:
    symbols = sorted({j for text in (*YES_PHRASES, *NO_PHRASES, "나") for j in decompose(text) if j != " "})
    return Alphabet(tuple(symbols))


def posteriors(abc: Alphabet, frames: list[dict[str, float]]) -> np.ndarray:
    """(frames, classes) log-probs: each frame's named jamo get their mass, the blank the rest."""
    out = np.full((len(frames), abc.size), 1e-4)
    for row, masses in zip(out, frames, strict=True):
        for jamo, mass in masses.items():
            row[abc.symbols.index(jamo) + 1] = mass
        row[0] = max(1e-4, 1.0 - sum(masses.values()))
    return np.log(out / out.sum(axis=1, keepdims=True))


def test_a_ne_the_greedy_path_reads_as_na_is_scored_as_yes() -> None:
    abc = alphabet()
    n, a, e = decompose("나")[0], decompose("나")[1], decompose("네")[1]
    lp = posteriors(abc, [{}, {n: 0.9}, {a: 0.5, e: 0.45}, {a: 0.5, e: 0.45}, {e: 0.6}, {}])
    greedy = "".join(abc.symbol(int(i)) for i in lp.argmax(axis=1) if i)
    assert greedy.startswith(n + a)  # the free decode reads 나
    scores = confirm_scores(lp, YES_PHRASES, NO_PHRASES, abc)
    assert scores.yes.phrase == "네" and scores.yes.deficit + 1.0 < scores.no.deficit
    rules = Thresholds(grammar=scores.yes.deficit + 0.01, grammar_margin=0.1)
    assert grammar_answer(scores.to_json(), rules) is True
    strict = Thresholds(grammar=scores.yes.deficit - 0.01, grammar_margin=0.1)
    assert grammar_answer(scores.to_json(), strict) is None  # above the threshold: unclear, asked again


def test_a_phrase_the_greedy_path_spells_scores_at_least_the_path() -> None:
    abc = alphabet()
    lp = posteriors(
        abc, [{}, {decompose("아니요")[0]: 0.8}] + [{j: 0.8} for j in decompose("아니요")[1:]] + [{}]
    )
    ((_, ids),) = phrase_labels(["아니요"], abc)
    assert phrase_logliks(lp, [ids])[0] >= best_path(lp) - 1e-9
    scores = confirm_scores(lp, YES_PHRASES, NO_PHRASES, abc)
    assert scores.no.phrase == "아니요" and scores.no.deficit <= 0 < scores.yes.deficit
    assert grammar_answer(scores.to_json(), Thresholds(grammar=0.0, grammar_margin=0.1)) is False


def test_the_phrase_the_served_decode_wrote_scores_zero() -> None:
    """Against the served decode's own text the phrase it wrote loses nothing, even where the greedy
    path's stray symbols would have charged it; a phrase it did not write still pays."""
    abc = alphabet()
    n, a, e = decompose("나")[0], decompose("나")[1], decompose("네")[1]
    lp = posteriors(abc, [{}, {n: 0.9}, {a: 0.5, e: 0.45}, {a: 0.5, e: 0.45}, {e: 0.6}, {}])
    against_path = confirm_scores(lp, YES_PHRASES, NO_PHRASES, abc)
    against_beam = confirm_scores(lp, YES_PHRASES, NO_PHRASES, abc, heard="네")
    assert against_beam.yes.phrase == "네" and abs(against_beam.yes.deficit) < 1e-9
    assert against_beam.yes.deficit >= against_path.yes.deficit
    assert against_beam.no.deficit > against_beam.yes.deficit + 1.0
    # text the model cannot spell (a symbol outside its alphabet) leaves the greedy path as the reference
    assert confirm_scores(lp, YES_PHRASES, NO_PHRASES, abc, heard="xyz").yes == against_path.yes
