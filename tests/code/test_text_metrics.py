"""CER/WER with an explicit space policy (Korean CER usually ignores spaces; jiwer counts them)."""

from __future__ import annotations

import pytest

from callbot.text.metrics import cer, error_rates, wer

REF = "나는 학교에 간다"
HYP = "나는학교에 갔다"  # one space dropped, one syllable wrong


def test_cer_space_policy_changes_the_score() -> None:
    # with spaces: 9 reference characters, 1 deletion (space) + 1 substitution
    assert cer(REF, HYP, spaces=True) == pytest.approx(2 / 9)
    # without spaces: 7 characters, 1 substitution; a spacing difference is not an error
    assert cer(REF, HYP, spaces=False) == pytest.approx(1 / 7)


def test_spacing_only_difference_is_free_without_spaces() -> None:
    assert cer("감기 예방 접종", "감기예방 접종", spaces=False) == 0.0
    assert cer("감기 예방 접종", "감기예방 접종", spaces=True) > 0.0


def test_wer_counts_eojeol() -> None:
    assert wer(REF, HYP) == pytest.approx(3 / 3)  # 나는학교에 replaces two words, 갔다 one
    assert wer(["하나 둘 셋"], ["하나 둘 넷"]) == pytest.approx(1 / 3)


def test_corpus_level_and_whitespace_collapse() -> None:
    refs = ["가나다", "라마"]
    hyps = ["가나라", "라마  "]  # trailing spaces are not errors
    assert cer(refs, hyps, spaces=True) == pytest.approx(1 / 5)


def test_error_rates_reports_both_policies() -> None:
    rates = error_rates([REF], [HYP])
    assert set(rates) == {"cer", "cer_with_spaces", "wer"}
    assert rates["cer"] < rates["cer_with_spaces"]


def test_mismatched_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="one hypothesis per reference"):
        cer(["가"], ["가", "나"], spaces=False)


def test_empty_reference_with_output_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        cer(["", "가"], ["나", "가"], spaces=False)
    assert cer(["", "가"], ["", "가"], spaces=False) == 0.0
