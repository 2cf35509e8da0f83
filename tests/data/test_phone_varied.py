"""Varied text in the phone-line sample (sample.phone_random_words / phone_random_syllables /
phone_lexicon_sentences): Training sessions of their own, seen words and voices only, deterministic,
and every other session (every Validation one above all) byte-identical with or without them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from callbot.config import ParamsError, load_params
from callbot.prepare.adapters.phone import check_transcript
from callbot.sample.phone import (
    DATASET_DIR,
    SHORT_ANSWER_UNHEARD,
    VARIED_WORDS,
    build_sessions,
    corpus,
    corpus_texts,
    holdout,
    seen_tokens,
    write_phone_tree,
)

VARIED = {"phone_random_words": 200, "phone_random_syllables": 150, "phone_lexicon_sentences": 120}


OFF = dict.fromkeys(VARIED, 0)  # params.yaml turns some on; each test says what it adds


def _sample(params, **extra):
    return params.sample.model_validate({**params.sample.model_dump(), "out": "unused", **OFF, **extra})


@pytest.fixture(scope="module")
def both(params):
    """(without, with) varied text, 600 sentences and 60 short answers each."""
    small = {"phone_sentences": 600, "phone_short_answers": 60}
    plain = build_sessions(_sample(params, **small))
    varied = build_sessions(_sample(params, **small, **VARIED))
    return plain, varied


def test_every_other_session_is_unchanged(both) -> None:
    plain, varied = both
    assert varied[: len(plain)] == plain  # turns, voices, splits, numbers: all equal
    assert [s.number for s in varied] == list(range(1, len(varied) + 1))  # appended, ids unique


def test_varied_sessions_are_training_only_with_seen_words_and_voices(both, params) -> None:
    plain, varied = both
    c, held = corpus(), holdout(corpus(), params.sample.seed)
    extra = varied[len(plain) :]
    texts = [t for s in extra for _, t in s.turns]
    assert len(texts) == 470 and {s.split for s in extra} == {"Training"}
    voices = {v for s in extra for v in s.voices}
    assert not {v.variant for v in voices} & (held.variants | SHORT_ANSWER_UNHEARD)
    assert held.rate not in {v.rate for v in voices} and held.pitch not in {v.pitch for v in voices}
    assert len({v.variant for v in voices}) > 20
    tokens, forbidden = set(seen_tokens(c, held)), held.all_words()
    words, syllables, lexicon = texts[:200], texts[200:350], texts[350:]
    assert all(VARIED_WORDS[0] <= len(t.split()) <= VARIED_WORDS[1] for t in words)
    assert all(set(t.split()) <= tokens for t in words)
    assert not [t for t in texts if any(w in t for w in forbidden)]
    assert len({w for t in words for w in t.split()}) > 150  # the word lists broadly, not a few words
    assert not [t for t in syllables if set(t.split()) <= tokens]  # pseudo-words, not the word lists
    assert all(VARIED_WORDS[0] <= len(t.split()) <= VARIED_WORDS[1] for t in lexicon)
    assert len({w for t in lexicon for w in t.split()}) > 300  # broad: few words repeat


def test_lexicon_words_are_in_no_corpus_text(both) -> None:
    """A lexicon sentence's words start with a lexicon head found in no sample corpus file, so no
    held-out word of any corpus reaches Training through it."""
    from callbot.sample.phone import _lexicon

    plain, varied = both
    lexicon, joined = _lexicon(), corpus_texts()
    assert len(lexicon.heads) > 1000 and len(lexicon.tails) > 1000
    assert not [h for h in lexicon.heads if h in joined]
    texts = [t for s in varied[len(plain) :] for _, t in s.turns][350:]
    heads = set(lexicon.heads)
    for word in (w for t in texts for w in t.split()):
        assert any(word[:n] in heads for n in range(2, len(word) + 1)), word


def test_varied_texts_are_new_and_read_back_as_written(both) -> None:
    from callbot.text.normalize import normalize_text

    plain, varied = both
    answers = set(corpus().short_answers)
    everything = [t for s in varied for _, t in s.turns if t not in answers]
    assert len(everything) == len(set(everything))  # distinct from every sentence, Validation's too
    for s in varied[len(plain) :]:
        for _, text in s.turns:
            assert check_transcript(text) is None
            said = normalize_text(text, dual_form="pronunciation", drop_fillers=True, numbers_as_words=True)
            assert said == text


def test_varied_sessions_are_deterministic_and_own_streams(both, params) -> None:
    varied = both[1]
    small = {"phone_sentences": 600, "phone_short_answers": 60}
    again = build_sessions(_sample(params, **small, **VARIED))
    assert again == varied
    words_only = build_sessions(_sample(params, **small, phone_random_words=200))
    assert words_only == varied[: len(words_only)]  # the syllables come after, the words unchanged
    no_lexicon = build_sessions(_sample(params, **small, **{**VARIED, "phone_lexicon_sentences": 0}))
    assert no_lexicon == varied[: len(no_lexicon)]  # the lexicon's sentences come last


def test_validation_archives_are_byte_identical(params, tmp_path: Path) -> None:
    small = {"phone_sentences": 60, "phone_short_answers": 6, "audio": "stub", "workers": 1}
    trees = {}
    varied = {"phone_random_words": 30, "phone_random_syllables": 20, "phone_lexicon_sentences": 20}
    for name, extra in (("plain", {}), ("varied", varied)):
        sample = params.sample.model_validate(
            {**params.sample.model_dump(), "out": str(tmp_path / name), **OFF, **small, **extra}
        )
        write_phone_tree(sample)
        root = tmp_path / name / DATASET_DIR / "01.데이터"
        trees[name] = {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    validation = {p for p in trees["plain"] if p.parts[0] == "2.Validation"}
    assert validation and validation == {p for p in trees["varied"] if p.parts[0] == "2.Validation"}
    assert all(trees["plain"][p] == trees["varied"][p] for p in validation)
    training = [p for p in trees["plain"] if p.parts[0] == "1.Training"]
    assert sum(len(trees["varied"][p]) for p in training) > sum(len(trees["plain"][p]) for p in training)


@pytest.mark.parametrize("field", sorted(VARIED))
def test_a_negative_count_names_the_field(tmp_path: Path, repo: Path, field: str) -> None:
    data = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    data["sample"][field] = -5
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParamsError, match=rf"sample\.{field}"):
        load_params(path)
