"""Lone short answers (네, 아니요, ...) in the phone-line sample: Training only, seen voices only, valid
transcripts, drawn apart so every other turn and every Validation session stays as it was."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from callbot.dialogue.policy import NO, YES
from callbot.prepare.adapters.phone import check_transcript
from callbot.sample.corpus import CorpusError
from callbot.sample.phone import (
    SHORT_ANSWER_UNHEARD,
    PhoneClip,
    PhoneVoice,
    build_sessions,
    corpus,
    holdout,
    parse_corpus,
)


def _sample(params, **extra):
    return params.sample.model_validate({**params.sample.model_dump(), "out": "unused", **extra})


@pytest.fixture(scope="module")
def sessions(params):
    return build_sessions(_sample(params, phone_sentences=1200, phone_short_answers=300, phone_lexicon_sentences=0))


def test_short_answers_are_training_turns_by_seen_voices(sessions, params) -> None:
    c = corpus()
    held = holdout(c, params.sample.seed)
    said = [(s, s.voices[speaker]) for s in sessions for speaker, t in s.turns if t in c.short_answers]
    assert len(said) == 300
    assert {s.split for s, _ in said} == {"Training"}
    variants = {v.variant for _, v in said}
    assert variants.isdisjoint(held.variants | SHORT_ANSWER_UNHEARD) and len(variants) > 20
    assert held.rate not in {v.rate for _, v in said} and held.pitch not in {v.pitch for _, v in said}
    counts = Counter(t for s in sessions for _, t in s.turns if t in c.short_answers)
    assert counts["네"] > 3 and len(counts) > len(c.short_answers) // 2  # many kinds, lone 네 among them


def test_short_answers_are_the_policy_words_as_valid_transcripts() -> None:
    from callbot.text.normalize import normalize_text

    answers = corpus().short_answers
    assert {"네", "예", "응", "아니요", "아니에요", "맞아요"} <= set(answers)
    assert sum(a in YES or a in NO for a in answers) >= 10
    for answer in answers:
        assert check_transcript(answer) is None
        for numbers in (True, False):  # what prepare writes into the STT dataset: the answer itself
            said = normalize_text(
                answer, dual_form="pronunciation", drop_fillers=True, numbers_as_words=numbers
            )
            assert said == answer


def test_everything_else_is_unchanged_by_the_short_answers(sessions, params) -> None:
    c = corpus()
    without = build_sessions(_sample(params, phone_sentences=1200, phone_short_answers=0, phone_lexicon_sentences=0))
    assert len(without) == len(sessions)
    for a, b in zip(sessions, without, strict=True):
        kept = [(speaker, t) for speaker, t in a.turns if t not in c.short_answers]
        assert kept == b.turns and a.voices == b.voices and a.split == b.split
        if a.split == "Validation":
            assert a.turns == b.turns
    sentences = [t for s in without for _, t in s.turns]
    assert len(sentences) == 1200 == len(set(sentences)) and not set(sentences) & set(c.short_answers)


def test_a_short_answer_with_a_mark_or_number_is_refused() -> None:
    from callbot.sample.corpus import read_corpus_file

    data, source = read_corpus_file("phone.yaml", None)
    for bad in (["네", "어/"], ["(1)/(일)"], ["네  맞아요"], "네"):
        with pytest.raises(CorpusError, match="short_answers"):
            parse_corpus({**data, "short_answers": bad}, source)
    assert parse_corpus(data, source).short_answers == corpus().short_answers


def test_a_spoken_short_answer_is_longer_than_the_click_bound() -> None:
    import io

    import soundfile

    voice = PhoneVoice("m1", 205, 45)
    margin = PhoneClip("S1_0001", "네", voice, "", "", speech=True, margin=True).build()
    bare = PhoneClip("S1_0001", "네", voice, "", "", speech=True).build()
    audio, rate = soundfile.read(io.BytesIO(margin))
    assert rate == 8000 and len(audio) / rate >= 0.45  # validate quarantines clips under 300 ms
    assert len(soundfile.read(io.BytesIO(bare))[0]) < len(audio)
    assert np.abs(audio).max() > 0.01
