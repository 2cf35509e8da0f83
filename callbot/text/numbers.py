"""Korean readings of digits: what a caller hears and what a transcriber writes.

Two consumers need the same answer: prepare (a reference transcript must say the number the way the
speaker said it, or CER punishes the model for a spelling convention) and the TTS service (espeak-ng
reads ``1339`` as a cardinal, but a hotline is read digit by digit: 일삼삼구). So the rules live
here once.

Rules, in the order they are tried on each run of digits:

- ``2024-03-01`` (an ISO date) -> 이천이십사 년 삼 월 일 일.
- dash-separated digits (``010-1234-5678``, ``1577-1234``) are phone numbers, read digit by digit
  with 0 as 공, one word per group: 공일공 일이삼사 오육칠팔.
- ``9:30`` -> 아홉 시 삼십 분.
- a run that starts with 0 (``0101234567``) is read digit by digit; so is a known hotline
  (:data:`HOTLINES`, e.g. 1339, 119) unless a counting unit follows (``119명`` is a head count).
- otherwise a Sino-Korean cardinal with 만/억/조 groups spaced (``15000`` -> 만 오천); commas
  are grouping, ``.`` a decimal point (삼 점 오); ``%`` -> 퍼센트.
- a counting unit after the number is spaced off (``15000원`` -> 만 오천 원, Korean spacing rules
  write unit nouns apart); units that count with native numbers (개, 명, 살, 시, 마리, ...) take the
  native adnominal form for 1-99 (``3개`` -> 세 개). Particles stay attached (``1339로`` -> 일삼삼구로).
"""

from __future__ import annotations

import re

__all__ = [
    "HOTLINES",
    "digits_reading",
    "native_adnominal",
    "sino_cardinal",
    "verbalize_numbers",
]

_SINO_DIGITS = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
_PHONE_DIGITS = ("공", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
_SMALL_UNITS = ("", "십", "백", "천")
_BIG_UNITS = ("", "만", "억", "조", "경")
MAX_CARDINAL_DIGITS = 4 * len(_BIG_UNITS)  # 20 digits: the longest integer read as a quantity

_NATIVE_ONES = ("", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉")
_NATIVE_TENS = ("", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔")

HOTLINES: frozenset[str] = frozenset(
    {
        "110",  # government call centre
        "112",  # police
        "114",  # directory
        "119",  # fire and ambulance
        "120",  # Seoul Dasan call centre
        "129",  # health and welfare
        "131",  # weather
        "1330",  # tourism
        "1339",  # KDCA (질병관리청) hotline
        "1345",  # immigration
        "1350",  # labour
        "1366",  # women's emergency
        "1388",  # youth
    }
)
"""Short service numbers read digit by digit when they stand alone."""

# Unit nouns written apart from the number. Longest first so 시간 wins over 시, 개월 over 개.
_UNITS = (
    "킬로그램",
    "킬로미터",
    "밀리미터",
    "센티미터",
    "퍼센트",
    "번째",
    "개월",
    "시간",
    "주일",
    "마리",
    "가지",
    "군데",
    "사람",
    "학년",
    "학기",
    "분기",
    "인분",
    "달러",
    "킬로",
    "미터",
    "그램",
    "리터",
    "페이지",
    "원",
    "년",
    "월",
    "일",
    "시",
    "분",
    "초",
    "개",
    "명",
    "살",
    "세",
    "번",
    "회",
    "차",
    "건",
    "층",
    "호",
    "대",
    "권",
    "장",
    "잔",
    "병",
    "주",
    "배",
    "곳",
    "달",
    "점",
    "박",
    "쪽",
    "도",
    "종",
    "위",
    "등",
    "부",
    "통",
    "팀",
    "편",
    "곡",
    "줄",
    "채",
)
# Units counted with native numbers (한 개, 세 시); everything else takes Sino-Korean (삼 월, 삼 분).
_NATIVE_UNITS = frozenset(
    {
        "개",
        "명",
        "살",
        "시",
        "시간",
        "마리",
        "가지",
        "군데",
        "사람",
        "번째",
        "잔",
        "권",
        "병",
        "곳",
        "달",
        "통",
        "곡",
        "줄",
        "채",
    }
)
_UNIT_RE = "|".join(_UNITS)

_TOKEN = re.compile(
    r"""
    (?P<date>(?<![\d.,-])(?P<y>\d{4})-(?P<mo>0?[1-9]|1[0-2])-(?P<d>0?[1-9]|[12]\d|3[01])(?![\d-]))
    | (?P<phone>(?<![\d.,])\d+(?:-\d+)+(?![\d,]|\.\d))
    | (?P<time>(?<![\d:])(?P<h>[01]?\d|2[0-4]):(?P<mi>[0-5]\d)(?![\d:]))
    | (?P<num>(?<![\d])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)
      (?P<pct>\s?%)?
      (?P<unit>\s?(?:"""
    + _UNIT_RE
    + r"""))?
    """,
    re.VERBOSE,
)


def digits_reading(digits: str) -> str:
    """Read a run of digits one by one, 0 as 공: how Koreans say phone and hotline numbers."""
    return "".join(_PHONE_DIGITS[int(c)] for c in digits if c.isdigit())


def _four_digits(n: int) -> str:
    """0 < n < 10000 in Sino-Korean; a leading 일 is dropped before 십/백/천 (천삼백, not 일천삼백)."""
    out = []
    for position in range(3, -1, -1):
        digit = (n // 10**position) % 10
        if digit == 0:
            continue
        word = "" if digit == 1 and position > 0 else _SINO_DIGITS[digit]
        out.append(word + _SMALL_UNITS[position])
    return "".join(out)


def sino_cardinal(n: int) -> str:
    """A non-negative integer in Sino-Korean words, 만-groups spaced: 123456 -> 십이만 삼천사백오십육.

    10000 is 만 (no 일), but 억 and above keep it (일억), as they are spoken.
    """
    if n < 0:
        return "마이너스 " + sino_cardinal(-n)
    if n == 0:
        return "영"
    groups = []
    index = 0
    while n:
        n, group = divmod(n, 10000)
        if group:
            if index >= len(_BIG_UNITS):
                raise ValueError(f"number too large to read: {n}")
            words = _four_digits(group)
            if index == 1 and group == 1:
                words = ""
            groups.append(words + _BIG_UNITS[index])
        index += 1
    return " ".join(reversed(groups))


def native_adnominal(n: int) -> str:
    """1-99 as a native number before a counter: 1 한, 3 세, 20 스무, 21 스물한."""
    if not 1 <= n <= 99:
        raise ValueError(f"native Korean numbers before a counter run 1-99, got {n}")
    tens, ones = divmod(n, 10)
    if tens == 2 and ones == 0:
        return "스무"
    return _NATIVE_TENS[tens] + _NATIVE_ONES[ones]


def _decimal(text: str) -> str:
    whole, _, frac = text.partition(".")
    # past 경 (10^20) there is no unit to read it by: an over-long run is read digit by digit, as
    # nobody says such a number as a quantity (and int() of 4,300+ digits would refuse anyway)
    whole = whole.lstrip("0") or "0"
    words = digits_reading(whole) if len(whole) > MAX_CARDINAL_DIGITS else sino_cardinal(int(whole))
    if frac:
        words += " 점 " + "".join(_SINO_DIGITS[int(c)] for c in frac)
    return words


def _number(match: re.Match[str]) -> str:
    raw = match.group("num").replace(",", "")
    unit = (match.group("unit") or "").strip()
    pct = match.group("pct")
    plain = "," not in match.group("num") and "." not in raw and not pct
    leading_zero = len(raw) > 1 and raw.startswith("0")
    hotline = raw in HOTLINES and unit in ("", "번")
    if plain and (leading_zero or hotline):
        words = digits_reading(raw)
    elif plain and unit in _NATIVE_UNITS and 1 <= int(raw) <= 99:
        words = native_adnominal(int(raw))
    else:
        words = _decimal(raw)
    if pct:
        words += " 퍼센트"
    if unit:
        words += " " + unit
    return words


def _replace(match: re.Match[str]) -> str:
    if match.group("date"):
        y, mo, d = (int(match.group(k)) for k in ("y", "mo", "d"))
        return f"{sino_cardinal(y)} 년 {sino_cardinal(mo)} 월 {sino_cardinal(d)} 일"
    if match.group("phone"):
        return " ".join(digits_reading(group) for group in match.group("phone").split("-"))
    if match.group("time"):
        hour, minute = int(match.group("h")), int(match.group("mi"))
        spoken = f"{native_adnominal(hour)} 시" if 1 <= hour <= 24 else "영 시"
        return spoken + (f" {sino_cardinal(minute)} 분" if minute else "")
    return _number(match)


def verbalize_numbers(text: str) -> str:
    """Every digit run in ``text`` written out as Korean words, the rest of the text untouched.

    >>> verbalize_numbers("1339로 전화하세요")
    '일삼삼구로 전화하세요'
    >>> verbalize_numbers("접종비 15000원")
    '접종비 만 오천 원'
    >>> verbalize_numbers("2024년 3월 1일")
    '이천이십사 년 삼 월 일 일'
    >>> verbalize_numbers("010-1234-5678")
    '공일공 일이삼사 오육칠팔'
    """
    if not any(c.isdigit() for c in text):
        return text
    return _TOKEN.sub(_replace, text)
