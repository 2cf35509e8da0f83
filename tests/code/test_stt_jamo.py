"""The jamo alphabet and CTC decoding: built from training text only, whole syllables only, no U+FFFD."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from callbot.stt.ctc_infer import greedy_emissions, words_from
from callbot.stt.jamo import Alphabet, AlphabetError, build_alphabet, compose, decompose

JAMO = ((0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF), (0x3131, 0x318E), (0xFFA0, 0xFFDC))
SENTENCES = ["제가 올해 건강검진 대상인가요", "닭갈비 맛있게 먹었어요", "값이 얼마예요", "1339 콜센터 ABC"]


def _valid(text: str) -> bool:
    """Whole syllables, letters, digits and single spaces only; no jamo, no U+FFFD, no controls."""
    for ch in text:
        code = ord(ch)
        if ch == "\ufffd" or any(lo <= code <= hi for lo, hi in JAMO):
            return False
        if ch != " " and unicodedata.category(ch)[0] not in "LN":
            return False
    return text == " ".join(text.split())


@pytest.mark.parametrize("text", SENTENCES)
def test_decompose_then_compose_gives_the_text_back(text: str) -> None:
    assert compose(decompose(text)) == text


def test_alphabet_holds_only_what_the_training_text_uses() -> None:
    alphabet = build_alphabet(["가나", "다"])
    assert set(alphabet.symbols) == {"\u1100", "\u1161", "\u1102", "\u1103"}
    ids, skipped = alphabet.encode("가 닭?")  # space, ㄹㄱ final and '?' never occurred in training
    assert skipped == 3  # ' ', the final ᆰ and '?' skipped; 가 and the ᄃ ᅡ of 닭 kept
    assert [alphabet.symbol(i) for i in ids] == ["\u1100", "\u1161", "\u1103", "\u1161"]


def test_alphabet_round_trips_through_its_file_and_refuses_a_broken_one(tmp_path: Path) -> None:
    alphabet = build_alphabet(SENTENCES)
    alphabet.save(tmp_path)
    assert Alphabet.load(tmp_path) == alphabet
    (tmp_path / "alphabet.json").write_text('{"symbols": ["ab"]}', encoding="utf-8")
    with pytest.raises(AlphabetError, match=r"alphabet\.json"):
        Alphabet.load(tmp_path)
    with pytest.raises(AlphabetError, match="no usable character"):
        build_alphabet(["?!", "  "])


def test_half_syllables_and_stray_jamo_are_dropped() -> None:
    l_g, v_a, t_k, l_n = "\u1100", "\u1161", "\u11a8", "\u1102"
    assert compose([l_g, v_a, t_k]) == "각"
    assert compose([l_g]) == ""  # an initial alone is half a character
    assert compose([v_a, t_k, l_n]) == ""  # a vowel without an initial, a final without a vowel
    assert compose([l_g, l_n, v_a, " ", t_k, "\ufffd", "\u3131"]) == "나"


def test_no_replacement_character_or_half_syllable_from_adversarial_input() -> None:
    rng = random.Random(0)
    jamo = [chr(c) for lo, hi in JAMO for c in range(lo, hi + 1)]
    pool = [*jamo, " ", "\ufffd", "\x00", "\u200b", "가", "A", "7", "\ud7a3"]
    for _ in range(500):
        symbols = [rng.choice(pool) for _ in range(rng.randint(0, 30))]
        assert _valid(compose(symbols)), symbols
    for _ in range(300):  # byte soup decoded leniently, as a broken upstream would hand it over
        text = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40))).decode("utf-8", "replace")
        assert _valid(compose(decompose(text))), text


def test_greedy_decoding_gives_words_of_whole_syllables_with_confidences() -> None:
    alphabet = build_alphabet(["각 나"])  # symbols: space, ᄀ, ᄂ, ᅡ, ᆨ
    index = {s: i + 1 for i, s in enumerate(alphabet.symbols)}
    path = ["\u1100", "\u1100", 0, "\u1161", "\u11a8", " ", "\u1102", 0, "\u1100"]  # 각, then ᄂ ᄀ
    log_probs = np.full((len(path), alphabet.size), np.log(0.01), dtype=np.float32)
    for t, symbol in enumerate(path):
        label = 0 if symbol == 0 else index[symbol]
        log_probs[t, label] = np.log(0.9 if t < 5 else 0.4)
    words = words_from(greedy_emissions(log_probs), alphabet)
    assert [w.text for w in words] == ["각"]  # "ᄂᄀ" composes to nothing: no half word
    assert words[0].confidence == pytest.approx(0.9, abs=1e-3)
    assert 0.0 <= words[0].start < words[0].end
