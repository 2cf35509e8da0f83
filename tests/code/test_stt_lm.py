"""The jamo n-gram LM and the CTC prefix beam search fused with it (issue 22).

The LM is a distribution over the alphabet (and the sentence end) after any context; the search with
no LM weight spells what greedy decoding spells on a peaky model; with the LM it prefers the spelling
the training text uses where the acoustics cannot tell; no input makes it write U+FFFD or half a
syllable.
"""

from __future__ import annotations

import numpy as np
import pytest

from callbot.stt.beam import BeamSettings, DecodingError, beam_emissions, load_decoding, save_decoding
from callbot.stt.ctc_infer import greedy_emissions, words_from
from callbot.stt.jamo import build_alphabet, compose, decompose
from callbot.stt.lm import JamoLM, LanguageModelError, build_lm

TEXTS = ["안녕하세요 반갑습니다", "예약을 바꾸고 싶어요", "검사 결과는 언제 나오나요", "안녕히 계세요"]


def _peaky(labels: list[int], size: int, rng: np.random.Generator) -> np.ndarray:
    """Frames of a CTC-like output: each label held 1-3 frames, blanks between, 0.9 on the winner."""
    rows: list[int] = []
    for label in labels:
        rows += [0] * int(rng.integers(0, 3)) + [label] * int(rng.integers(1, 4))
    rows += [0, 0]
    probs = rng.dirichlet(np.ones(size), len(rows)) * 0.1
    probs[np.arange(len(rows)), rows] += 0.9
    return np.log(probs)


def test_lm_is_a_distribution_after_any_context_and_is_deterministic(tmp_path) -> None:
    alphabet = build_alphabet(TEXTS)
    lm = build_lm(TEXTS, alphabet, 5)
    seen, _ = alphabet.encode("예약을")
    for context in ([], seen, [1, 1, 1, 1, 1, 1, 1], list(range(1, alphabet.size))):
        dist = lm.distribution(context)
        assert dist.shape == (alphabet.size,) and dist.min() > 0 and dist.sum() == pytest.approx(1.0)
    following, _ = alphabet.encode("예약을 바")
    assert lm.distribution(seen).argmax() == following[len(seen)]  # the training text's next symbol: a space
    lm.save(tmp_path)
    first = (tmp_path / "lm.json").read_bytes()
    build_lm(TEXTS, alphabet, 5).save(tmp_path)
    assert (tmp_path / "lm.json").read_bytes() == first
    assert JamoLM.load(tmp_path).counts == lm.counts
    (tmp_path / "lm.json").write_text("{}", encoding="utf-8")
    with pytest.raises(LanguageModelError, match=r"lm\.json.*train-stt"):
        JamoLM.load(tmp_path)
    with pytest.raises(LanguageModelError, match="empty"):
        build_lm(["!!!"], alphabet, 5)


def test_beam_without_lm_spells_what_greedy_spells_on_peaky_output() -> None:
    alphabet = build_alphabet(TEXTS)
    rng = np.random.default_rng(0)
    for text in TEXTS * 5:
        labels, _ = alphabet.encode(text)
        lp = _peaky(labels, alphabet.size, rng)
        greedy = words_from(greedy_emissions(lp), alphabet)
        for skip in (1.0, 0.999):
            beam = words_from(beam_emissions(lp, None, BeamSettings(0.0, 0.0, 8, 6, skip)), alphabet)
            assert beam == greedy  # same words, times and confidences
        assert " ".join(w.text for w in greedy) == text


def test_lm_decides_where_the_acoustics_cannot() -> None:
    alphabet = build_alphabet(TEXTS)
    lm = build_lm(TEXTS * 20, alphabet, 6)
    labels, _ = alphabet.encode("예약을 바꾸고")
    rng = np.random.default_rng(1)
    lp = _peaky(labels, alphabet.size, rng)
    wrong = alphabet.symbols.index(decompose("감")[0]) + 1  # ㄱ where the text has ㅂ (바꾸고)
    right = labels[labels.index(alphabet.symbols.index(" ") + 1) + 1]
    frames = np.where(lp.argmax(axis=1) == right)[0]
    lp[frames, wrong], lp[frames, right] = lp[frames, right] + 0.05, lp[frames, wrong]  # acoustics lean wrong
    greedy = " ".join(w.text for w in words_from(greedy_emissions(lp), alphabet))
    fused = " ".join(w.text for w in words_from(beam_emissions(lp, lm, BeamSettings(0.8, 0.5)), alphabet))
    assert greedy != "예약을 바꾸고" and fused == "예약을 바꾸고"


def test_no_replacement_character_or_half_syllable_from_noise() -> None:
    alphabet = build_alphabet(TEXTS)
    lm = build_lm(TEXTS, alphabet, 4)
    rng = np.random.default_rng(2)
    for alpha in (0.0, 0.5, 3.0):
        lp = np.log(rng.dirichlet(np.full(alphabet.size, 0.3), 120))
        words = words_from(beam_emissions(lp, lm, BeamSettings(alpha, 1.0, 4, 8, 0.9)), alphabet)
        text = " ".join(w.text for w in words)
        assert "\ufffd" not in text and compose(decompose(text)) == text
        assert all(0.0 <= w.confidence <= 1.0 for w in words)
    for frames in (0, 1):  # an empty or one-frame window, a beam of one, every symbol under min_prob
        lp = np.log(rng.dirichlet(np.ones(alphabet.size), frames)).reshape(frames, alphabet.size)
        assert beam_emissions(lp, lm, BeamSettings(0.5, 1.0, 1, 1, 1.0, 0.99)) == []
        assert len(beam_emissions(lp, lm, BeamSettings(0.5, 1.0, 8, 100, 0.999, 0.0))) <= frames


def test_decoding_file_round_trips_and_refuses_a_broken_one(tmp_path) -> None:
    alphabet = build_alphabet(TEXTS)
    assert load_decoding(tmp_path) == (None, None)  # a model trained before: greedy
    save_decoding(tmp_path, None, 0)
    assert load_decoding(tmp_path) == (None, None)
    build_lm(TEXTS, alphabet, 3).save(tmp_path)
    save_decoding(tmp_path, BeamSettings(0.5, 1.0, 8, 6, 0.999), 3)
    settings, lm = load_decoding(tmp_path)
    assert settings == BeamSettings(0.5, 1.0, 8, 6, 0.999) and lm is not None and lm.order == 3
    (tmp_path / "decoding.json").write_text('{"decoder": "beam_lm"}', encoding="utf-8")
    with pytest.raises(DecodingError, match=r"decoding\.json"):
        load_decoding(tmp_path)


def test_decode_params_are_checked(params) -> None:
    decode = params.stt.ctc.decode
    assert [0.0, 0.0] in decode.grid
    for bad in (
        {"grid": [[0.5, 1.0]]},
        {"grid": [[0.0, 0.0], [-1.0, 0.0]]},
        {"beam": 0},
        {"blank_skip": 0.0},
    ):
        with pytest.raises(ValueError, match=r"stt\.ctc\.decode"):
            type(decode).model_validate({**decode.model_dump(), **bad})
