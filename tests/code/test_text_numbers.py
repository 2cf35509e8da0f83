"""Korean number readings shared by prepare (reference transcripts) and the TTS service."""

from __future__ import annotations

import pytest

from callbot.text.numbers import digits_reading, native_adnominal, sino_cardinal, verbalize_numbers


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "영"),
        (1, "일"),
        (10, "십"),
        (11, "십일"),
        (100, "백"),
        (1339, "천삼백삼십구"),  # the page's num2words example
        (2024, "이천이십사"),
        (10000, "만"),  # 만, never 일만
        (15000, "만 오천"),
        (123456, "십이만 삼천사백오십육"),
        (100000000, "일억"),  # 억 keeps its 일
        (300000005, "삼억 오"),
    ],
)
def test_sino_cardinal(n: int, words: str) -> None:
    assert sino_cardinal(n) == words


@pytest.mark.parametrize(
    ("n", "words"), [(1, "한"), (3, "세"), (20, "스무"), (21, "스물한"), (99, "아흔아홉")]
)
def test_native_adnominal(n: int, words: str) -> None:
    assert native_adnominal(n) == words


def test_native_adnominal_refuses_out_of_range() -> None:
    with pytest.raises(ValueError, match="1-99"):
        native_adnominal(100)


def test_digits_reading_uses_gong_for_zero() -> None:
    assert digits_reading("010") == "공일공"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("1339", "일삼삼구"),  # hotline: digit by digit
        ("1339로 전화하세요", "일삼삼구로 전화하세요"),  # particle stays attached
        ("119에 신고", "일일구에 신고"),
        ("119명이 접종", "백십구 명이 접종"),  # a count, not the hotline
        ("010-1234-5678", "공일공 일이삼사 오육칠팔"),
        ("1577-1234로 문의", "일오칠칠 일이삼사로 문의"),
        ("01012345678", "공일공일이삼사오육칠팔"),
        ("15000원", "만 오천 원"),
        ("15,000원", "만 오천 원"),
        ("2024년 3월 1일", "이천이십사 년 삼 월 일 일"),
        ("2024-03-01", "이천이십사 년 삼 월 일 일"),
        ("3개", "세 개"),  # native counter
        ("20살", "스무 살"),
        ("3시간", "세 시간"),  # 시간 wins over 시
        ("9:30에", "아홉 시 삼십 분에"),
        ("2회 접종", "이 회 접종"),  # Sino counter
        ("1번을 누르세요", "일 번을 누르세요"),  # ARS menu digit
        ("70%", "칠십 퍼센트"),
        ("37.5도", "삼십칠 점 오 도"),
        ("숫자 없음", "숫자 없음"),
    ],
)
def test_verbalize_numbers(text: str, spoken: str) -> None:
    assert verbalize_numbers(text) == spoken


def test_verbalize_leaves_no_digits() -> None:
    text = "12월 25일 09:05, 02-123-4567, 3.14, 1,234,567원, 100명 중 7명"
    assert not any(c.isdigit() for c in verbalize_numbers(text))
