"""The call-centre corpus's train-only phrasings (KDCA intents' ``train_questions`` and the
out-of-scope kinds' ``out_of_scope_train``): new wording (not near-copies of the evaluated
``questions``), used by Training dialogues, never by Validation ones, and far from the acceptance set."""

from __future__ import annotations

import copy
import itertools
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from callbot.bot import acceptance as acc
from callbot.sample.callcenter import (
    CORPUS_FILE,
    KDCA,
    OUT_OF_SCOPE,
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
# (the out-of-scope ones: 0.15 to the nearest question, 0.12 to the acceptance set)


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


def with_train_only(c: Corpus) -> list[Intent]:
    """The intents that carry train-only phrasings: KDCA intents and out-of-scope kinds."""
    return [*c.domains[KDCA], *c.out_of_scope]


def train_only(c: Corpus) -> list[str]:
    return [q for i in with_train_only(c) for q in i.train_questions]


def nearest_question(phrasing: str, c: Corpus) -> float:
    """Similarity of ``phrasing`` to the closest ``questions`` template of any intent."""
    mine = trigrams(bare(phrasing))
    return max(jaccard(mine, trigrams(bare(q))) for i in evaluated(c) for q in i.questions)


def test_every_kdca_intent_has_new_train_only_phrasings() -> None:
    c = corpus()
    extra = train_only(c)
    assert all(len(i.train_questions) >= 4 for i in c.domains[KDCA])
    assert len(set(extra)) == len(extra)
    assert not set(extra) & {q for i in evaluated(c) for q in i.questions}


def test_no_train_only_phrasing_is_a_near_copy_of_a_question() -> None:
    c = corpus()
    copied = "저 " + c.domains[KDCA][0].questions[0]  # one word added: the measure must see it
    assert nearest_question(copied, c) >= NEAR_COPY
    scores = {q: nearest_question(q, c) for q in train_only(c)}
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
    ours = [trigrams(t) for q in train_only(c) for t in filled(q, c.slots)]
    for q in acc.load_set().questions:
        said = trigrams(normalise(q.say))
        assert max(jaccard(said, o) for o in ours) < FAR_FROM_ACCEPTANCE, q.text


def test_train_only_phrasings_hold_no_value_that_can_be_held_out() -> None:
    """Held-out slot values must stay out of Training text, so no train-only phrasing may spell one."""
    c = corpus()
    extra = train_only(c)
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
    extra = {i.name: [as_pattern(q) for q in i.train_questions] for i in with_train_only(c)}
    used: Counter[tuple[str, bool]] = Counter()
    for d in dialogues:
        for s in d.sentences:
            patterns = extra.get(s["고객의도"], []) if s["고객질문(요청)"] else []
            if any(p.search(s["고객질문(요청)"]) for p in patterns):
                used[d.split, s["고객의도"].startswith(OUT_OF_SCOPE)] += 1
    assert used["Validation", False] == used["Validation", True] == 0
    assert used["Training", False] > 100  # about 5 of 11 phrasings per intent: the extras are really drawn
    assert used["Training", True] > 40  # about 13 of 20 per out-of-scope kind, ~75 such Training questions


def test_validation_is_the_same_without_the_train_only_phrasings() -> None:
    """Adding or removing train-only phrasings must leave every Validation dialogue as it was."""
    c = corpus()
    bare_domains = {d: tuple(replace(i, train_questions=()) for i in g) for d, g in c.domains.items()}
    bare_oos = tuple(replace(i, train_questions=()) for i in c.out_of_scope)
    without = replace(c, domains=bare_domains, out_of_scope=bare_oos)
    params = SampleParams(
        out="unused", records=1, seed=0, part_size=1 << 20, audio="stub", clean=True, workers=1
    ).model_copy(update={"callcenter_dialogues": 400})
    pairs = zip(build_dialogues(params, c), build_dialogues(params, without), strict=True)
    split = [(a.sentences == b.sentences, a.split) for a, b in pairs]
    assert all(same for same, where in split if where == "Validation")
    assert not all(same for same, where in split if where == "Training")  # the measure can fail


def test_a_train_only_phrasing_that_repeats_a_question_is_refused() -> None:
    data = copy.deepcopy(yaml.safe_load(CORPUS.read_text(encoding="utf-8")))
    intent = data["domains"][KDCA][2]
    intent["train_questions"].append(intent["questions"][0])
    with pytest.raises(CorpusError, match=r"train_questions.*also under questions"):
        parse_corpus(data, "broken.yaml")


def test_every_out_of_scope_kind_has_train_only_phrasings() -> None:
    """Each kind the line hands over is learnt from more wording than its held-out-eligible templates."""
    c = corpus()
    assert all(len(i.train_questions) >= len(i.questions) for i in c.out_of_scope)
    assert not {q for i in c.out_of_scope for q in i.train_questions} & {
        q for i in evaluated(c) for q in i.questions
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["out_of_scope_train"].update({"날씨": ["비 와요?"]}), r"\['날씨'\] not under out_of_scope"),
        (lambda d: d["out_of_scope_train"]["잡담"].append(d["out_of_scope"]["잡담"][0]), r"잡담.*also under out_of_scope"),
        (lambda d: d.update(out_of_scope_train=["비 와요?"]), r"out_of_scope_train: expected a mapping"),
    ],
)  # fmt: skip
def test_a_bad_out_of_scope_train_entry_is_refused(edit, message: str) -> None:
    data = copy.deepcopy(yaml.safe_load(CORPUS.read_text(encoding="utf-8")))
    edit(data)
    with pytest.raises(CorpusError, match=message):
        parse_corpus(data, "broken.yaml")
