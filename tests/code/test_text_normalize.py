"""KsponSpeech-style transcript normalisation (dual forms, noise tags, fillers, marks, numbers)."""

from __future__ import annotations

import unicodedata

import pytest

from callbot.text.normalize import normalize_text, resolve_dual_forms


def pron(text: str) -> str:
    return normalize_text(text, dual_form="pronunciation", drop_fillers=True, numbers_as_words=True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # KsponSpeech-style lines: tags, fillers, dual forms, repeats and uncertain words
        ("b/ 아/ 몬 소리야 그게 (70%)/(칠십 퍼센트) 확률이라니 n/", "몬 소리야 그게 칠십 퍼센트 확률이라니"),
        ("o/ 그래서 지호랑+ 지호랑 그 번화가 쪽* 갔는데.", "그래서 지호랑 지호랑 그 번화가 쪽 갔는데"),
        ("l/ 어/ 네, 1339로 전화하세요!  u/", "네 일삼삼구로 전화하세요"),
        ("(3G)/(쓰리 쥐) 폰을   샀어요?", "쓰리 쥐 폰을 샀어요"),
        ("접종비는 15,000원입니다.", "접종비는 만 오천 원입니다"),
        (
            "최근에는 글로벌 인재에게 가장 중요한 요소가 협상 능력이라고 생각합니다.",
            "최근에는 글로벌 인재에게 가장 중요한 요소가 협상 능력이라고 생각합니다",
        ),
    ],
)
def test_pronunciation_form(raw: str, expected: str) -> None:
    assert pron(raw) == expected


def test_spelling_form_keeps_the_written_side_and_fillers_on_request() -> None:
    raw = "어/ (70%)/(칠십 퍼센트) 확률"
    assert resolve_dual_forms(raw, "spelling") == "어/ 70% 확률"
    assert (
        normalize_text(raw, dual_form="spelling", drop_fillers=False, numbers_as_words=True)
        == "어 칠십 퍼센트 확률"
    )
    assert normalize_text(raw, dual_form="spelling", drop_fillers=True, numbers_as_words=False) == "70 확률"


def test_never_decomposes_hangul() -> None:
    nfd = unicodedata.normalize("NFD", "한국어 음성")
    out = pron(nfd)
    assert out == "한국어 음성"
    assert unicodedata.is_normalized("NFC", out)
    assert len(out) == 6  # five syllables and a space, not jamo


def test_empty_and_tag_only_lines_become_empty() -> None:
    assert pron("b/ n/ 음/") == ""
    assert pron("   ") == ""
