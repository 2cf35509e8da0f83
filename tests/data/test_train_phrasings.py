"""The call-centre corpus's train-only phrasings: new wording (not near-copies of the evaluated
``questions``), used by Training dialogues, never by Validation ones, and far from the acceptance set."""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path

import pytest
import yaml

from callbot.bot import acceptance as acc
from callbot.sample.callcenter import (
    CORPUS_FILE,
    KDCA,
    Corpus,
    CorpusError,
    Intent,
    build_dialogues,
    corpus,
    holdout,
    parse_corpus,
    template_fields,
)
from callbot.sample.params import SampleParams
from callbot.sample.texts import _JOSA_FORMS, attach_josa
from callbot.text.normalize import normalise

CORPUS = Path(__file__).resolve().parents[2] / "callbot" / "sample" / "data" / CORPUS_FILE
NEAR_COPY = 0.5  # char-trigram Jaccard; the nearest train-only phrasing scores 0.34, a one-word edit 0.92
FAR_FROM_ACCEPTANCE = 0.3  # stricter than the 0.4 tests/code/test_acceptance.py sets for questions; max 0.23


def bare(template: str) -> str:
    """A template without its slots, particle pairs, spaces and punctuation: the wording alone."""
    text = re.sub(r"\{\w+\}", "", template)
    for pair in _JOSA_FORMS:
        text = text.replace(pair, "")
    return re.sub(r"\W", "", text)


def trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


def evaluated(c: Corpus) -> list[Intent]:
    return [i for group in (*c.domains.values(), c.out_of_scope, c.unscripted) for i in group]


def nearest_question(phrasing: str, c: Corpus) -> float:
    """Similarity of ``phrasing`` to the closest ``questions`` template of any intent."""
    mine = trigrams(bare(phrasing))
    return max(jaccard(mine, trigrams(bare(q))) for i in evaluated(c) for q in i.questions)


def test_every_kdca_intent_has_new_train_only_phrasings() -> None:
    c = corpus()
    extra = [q for i in c.domains[KDCA] for q in i.train_questions]
    assert all(len(i.train_questions) >= 4 for i in c.domains[KDCA])
    assert len(set(extra)) == len(extra)
    assert not set(extra) & {q for i in evaluated(c) for q in i.questions}


def test_no_train_only_phrasing_is_a_near_copy_of_a_question() -> None:
    c = corpus()
    copied = "저 " + c.domains[KDCA][0].questions[0]  # one word added: the measure must see it
    assert nearest_question(copied, c) >= NEAR_COPY
    scores = {q: nearest_question(q, c) for i in c.domains[KDCA] for q in i.train_questions}
    assert max(scores.values()) < NEAR_COPY, max(scores.items(), key=lambda kv: kv[1])


def filled(template: str, slots: dict[str, tuple[str, ...]]) -> list[str]:
    fields = template_fields(template)
    return [
        normalise(attach_josa(template.format(**dict(zip(fields, values, strict=True)))))
        for values in itertools.product(*(slots[f] for f in fields))
    ]


def test_train_only_phrasings_stay_far_from_the_acceptance_set() -> None:
    """Training on them must not leak the acceptance set's wording into the bot."""
    c = corpus()
    ours = [trigrams(t) for i in c.domains[KDCA] for q in i.train_questions for t in filled(q, c.slots)]
    for q in acc.load_set().questions:
        said = trigrams(normalise(q.say))
        assert max(jaccard(said, o) for o in ours) < FAR_FROM_ACCEPTANCE, q.text


def test_train_only_phrasings_hold_no_value_that_can_be_held_out() -> None:
    """Held-out slot values must stay out of Training text, so no train-only phrasing may spell one."""
    c = corpus()
    extra = [q for i in c.domains[KDCA] for q in i.train_questions]
    for seed in range(5):
        values = {v for vs in holdout(c, seed).values.values() for v in vs}
        assert values and not [(v, q) for v in values for q in extra if v in q]


def as_pattern(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{\w+\\\}", "(.+?)", re.escape(template))
    for pair, forms in _JOSA_FORMS.items():
        pattern = pattern.replace(re.escape(pair), "(?:" + "|".join(forms) + ")")
    return re.compile(pattern)


def test_train_only_phrasings_reach_training_dialogues_only() -> None:
    c = corpus()
    params = SampleParams(
        out="unused", records=1, seed=3, part_size=1 << 20, audio="stub", clean=True, workers=1
    )
    dialogues = build_dialogues(params.model_copy(update={"callcenter_dialogues": 600}), c)
    extra = {i.name: [as_pattern(q) for q in i.train_questions] for i in c.domains[KDCA]}
    used = {"Training": 0, "Validation": 0}
    for d in dialogues:
        for s in d.sentences:
            patterns = extra.get(s["고객의도"], []) if s["고객질문(요청)"] else []
            used[d.split] += any(p.search(s["고객질문(요청)"]) for p in patterns)
    assert used["Validation"] == 0
    assert used["Training"] > 100  # about 5 of 11 phrasings per intent: the extras are really drawn


def test_a_train_only_phrasing_that_repeats_a_question_is_refused() -> None:
    data = copy.deepcopy(yaml.safe_load(CORPUS.read_text(encoding="utf-8")))
    intent = data["domains"][KDCA][2]
    intent["train_questions"].append(intent["questions"][0])
    with pytest.raises(CorpusError, match=r"train_questions.*also under questions"):
        parse_corpus(data, "broken.yaml")
