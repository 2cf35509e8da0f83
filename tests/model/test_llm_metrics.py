"""Korean ROUGE on characters and the label metrics, on pairs whose scores can be worked out by hand."""

from __future__ import annotations

import pytest

from callbot.llm.evaluate import macro_f1, normalise_answer, to_label
from callbot.llm.rouge import corpus_rouge, rouge_l, rouge_n, rouge_tokens


def test_tokens_are_syllables_without_spaces_or_punctuation():
    assert rouge_tokens("검사는 보건소에서, 받으세요.") == list("검사는보건소에서받으세요")


def test_identical_korean_scores_one_and_disjoint_zero():
    text = "가까운 선별진료소에서 검사를 받으세요"
    assert rouge_n(text, text, 1).f1 == 1.0
    assert rouge_l(text, text).f1 == 1.0
    assert rouge_n("가나다", "라마바", 1).f1 == 0.0


def test_a_different_particle_costs_one_syllable_not_a_word():
    ref = "보건소에서 검사를 받으세요"  # 12 syllables
    hyp = "보건소로 검사를 받으세요"  # 에서 -> 로: 11 syllables, 10 shared
    score = rouge_n(hyp, ref, 1)
    assert score.precision == pytest.approx(10 / 11)
    assert score.recall == pytest.approx(10 / 12)
    assert rouge_l(hyp, ref).recall == pytest.approx(10 / 12)


def test_rouge_2_counts_adjacent_pairs():
    assert rouge_n("가나다", "가나라", 2).f1 == pytest.approx(0.5)  # 가나 shared of 2 bigrams each


def test_corpus_rouge_averages_pairs_and_checks_lengths():
    scores = corpus_rouge(["가나", "다라"], ["가나", "마바"])
    assert scores["rouge_1"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        corpus_rouge(["가", "나"], ["가"])


def test_free_text_is_mapped_to_the_first_label_it_names():
    labels = ["negative", "neutral", "positive"]
    assert to_label("Positive.", labels) == "positive"
    assert to_label("neutral, not negative", labels) == "neutral"
    assert to_label("모르겠습니다", labels) == "모르겠습니다"


def test_macro_f1_weights_labels_equally():
    refs = ["a", "a", "a", "b"]
    preds = ["a", "a", "a", "a"]
    # a: tp 3, fp 1 -> F1 6/7; b: never predicted -> 0; macro = 3/7
    assert macro_f1(preds, refs, ["a", "b"]) == pytest.approx(3 / 7)


def test_exact_match_ignores_only_surrounding_and_repeated_spaces():
    assert normalise_answer("  연락 주십시오. ") == normalise_answer("연락  주십시오.")
    assert normalise_answer("연락 주십시오.") != normalise_answer("연락 주십시오")
