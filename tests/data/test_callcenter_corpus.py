"""The sample corpus files (call centre, interview), the content split of both sample sets, and the
telephone channel."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from callbot.sample.callcenter import (
    HANDOVER,
    KDCA,
    CorpusError,
    build_dialogues,
    corpus,
    holdout,
    load_corpus,
    parse_corpus,
)
from callbot.sample.params import SampleParams
from callbot.sample.texts import _JOSA_FORMS, interview_corpus, parse_interview_corpus, text_holdout

DATA = Path(__file__).resolve().parents[2] / "callbot" / "sample" / "data"
CORPUS = DATA / "callcenter.yaml"


def template_regex(template: str) -> re.Pattern[str]:
    """A template as a pattern its filled sentences match in full: slots any text, particles either form."""
    pattern = re.escape(template)
    pattern = re.sub(r"\\\{\w+\\\}", "(.+?)", pattern)
    for pair, forms in _JOSA_FORMS.items():
        pattern = pattern.replace(re.escape(pair), "(?:" + "|".join(forms) + ")")
    return re.compile(pattern)


def _raw() -> dict:
    return yaml.safe_load(CORPUS.read_text(encoding="utf-8"))


def test_the_packaged_corpus_is_rich_enough() -> None:
    c = load_corpus()
    kdca = c.domains[KDCA]
    assert len(kdca) >= 40 and len({i.answer for i in kdca}) == len(kdca)
    assert all(len(set(i.questions)) >= 8 for i in c.kdca)
    kinds = {i.name for i in c.out_of_scope}
    assert len(kinds) >= 4 and all(k.startswith("범위외:") for k in kinds)
    assert {i.answer for i in c.out_of_scope} == {c.transfer} and {
        i.agent_intent for i in c.out_of_scope
    } == {HANDOVER}
    assert set(c.domains) >= {KDCA, "서울특별시", "국민건강보험공단"}
    assert all(len(values) >= 5 for values in c.slots.values())


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (
            lambda d: d["domains"][KDCA][3].update(questions=d["domains"][KDCA][3]["questions"][:6]),
            "questions",
        ),
        (lambda d: d["domains"][KDCA][0]["questions"].append("{planet}에서도 맞을 수 있나요?"), "planet"),
        (lambda d: d["slots"].update(vaccine=["독감", "홍역"]), "slots.vaccine"),
        (lambda d: d["out_of_scope"].pop("잡담"), "out_of_scope"),
        (lambda d: d["domains"][KDCA].__delitem__(slice(10, None)), "need at least 40"),
        (lambda d: d["domains"][KDCA][5].pop("answer"), "missing answer"),
        (lambda d: d["domains"][KDCA][5].update(answer="1339로 전화하세요."), "digits"),
    ],
)
def test_a_broken_corpus_names_the_key(edit, named: str) -> None:
    data = copy.deepcopy(_raw())
    edit(data)
    with pytest.raises(CorpusError, match=re.escape(named)):
        parse_corpus(data, "broken.yaml")


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda d: d["vocab"].pop("ICT"), "vocab: missing key(s) ICT"),
        (lambda d: d["vocab"]["BM"]["tools"].append("엑셀"), "vocab.BM.tools: repeated entries"),
        (lambda d: d["topics"][2]["lines"][1].update(full="{salary}을/를 받았습니다."), "salary"),
        (lambda d: d["topics"][0]["lines"][0].pop("short"), "topics[0].lines[0]: missing key(s) short"),
        (lambda d: d["emotion_lines"].pop("neutral"), "emotion_lines: missing key(s) neutral"),
        (lambda d: d["openers"].append("3년 일했습니다."), "digits"),
    ],
)
def test_a_broken_interview_corpus_names_the_key(edit, named: str) -> None:
    data = copy.deepcopy(yaml.safe_load((DATA / "interview.yaml").read_text(encoding="utf-8")))
    assert parse_interview_corpus(data, "ok.yaml") == interview_corpus()
    edit(data)
    with pytest.raises(CorpusError, match=re.escape(named)):
        parse_interview_corpus(data, "broken.yaml")


def _params(**extra) -> SampleParams:
    values = dict(out="unused", records=60, seed=0, part_size=1 << 20, audio="stub", clean=False, workers=1)
    return SampleParams(**{**values, **extra})


def test_held_out_phrasings_values_and_voices_occur_only_in_validation() -> None:
    c = corpus()
    held = holdout(c, 0)
    intents = {i.name: i for group in (*c.domains.values(), c.out_of_scope) for i in group}
    dialogues = build_dialogues(_params(callcenter_dialogues=600), c)
    # a template less its ending: a Validation question may end casually or formally (caller wording)
    patterns = {
        name: [template_regex(t[:-4]) for t in templates] for name, templates in held.phrasings.items()
    }
    assert all(len(held.phrasings[i.name]) == 2 for i in c.kdca)  # a fifth of 8-10 phrasings
    values = {v for vs in held.values.values() for v in vs}
    assert all(held.values[slot] for slot in c.slots)  # every slot list holds one or two out
    seen_in = {"Training": set(), "Validation": set()}
    voices = {"Training": set(), "Validation": set()}
    for d in dialogues:
        voices[d.split].add(d.voice.id)
        for s in d.sentences:
            text = s["고객질문(요청)"]
            if not text:
                continue
            # search: a Validation question may carry a caller's filler, preamble or correction
            hit = any(p.search(text) for p in patterns.get(s["고객의도"], ()))
            seen_in[d.split] |= {("phrasing", s["고객의도"])} if hit else set()
            seen_in[d.split] |= {("value", v) for v in values if v in text}
    training = {
        s[k]
        for d in dialogues
        if d.split == "Training"
        for s in d.sentences
        for k in ("고객질문(요청)", "상담사답변")
    }
    assert not seen_in["Training"]
    assert not any(v in t for v in values for t in training)
    # Validation has both: unseen wording for most intents, and every held-out value
    assert len({n for kind, n in seen_in["Validation"] if kind == "phrasing"}) >= 0.6 * len(intents)
    assert len({v for kind, v in seen_in["Validation"] if kind == "value"}) >= 0.8 * len(values)
    unseen_voices = voices["Validation"] - voices["Training"]
    assert unseen_voices and all(v.split("-")[0] in ("f4", "m7") for v in unseen_voices)
    # the same seed gives the same split; another seed another
    assert holdout(c, 0) == held and holdout(c, 1) != held


def test_interview_held_out_templates_and_words_occur_only_in_validation() -> None:
    from callbot.sample.interview import build_record, plan_records

    held = text_holdout(0)
    topics, openers = interview_corpus().topics, interview_corpus().openers
    templates = [t for t in held.templates]
    patterns = [template_regex(t) for t in templates]
    assert len(
        [t for t in templates if any(t == line.full for topic in topics for line in topic.lines)]
    ) >= len(topics)
    assert any(t in openers for t in templates)
    found = {"Training": set(), "Validation": set()}
    for plan in plan_records(_params(records=240)):
        label = json.loads(build_record(plan).label[1].decode("utf-8-sig"))
        question = label["dataSet"]["question"]["raw"]["text"]
        answer = label["dataSet"]["answer"]["raw"]["text"]
        sentences = [question, *re.split(r"(?<=[.?!])\s+", answer)]
        for template, pattern in zip(templates, patterns, strict=True):
            if any(pattern.fullmatch(s) for s in sentences):
                found[plan.split].add(("template", template))
        for value in held.values:
            if value in question or value in answer:
                found[plan.split].add(("value", value))
    assert not found["Training"]
    assert len({x for k, x in found["Validation"] if k == "template"}) >= 0.5 * len(templates)
    assert len({x for k, x in found["Validation"] if k == "value"}) >= 10


def test_phone_channel_is_8khz_band_limited_and_mulaw() -> None:
    from callbot.tts.channel import mulaw_decode, mulaw_encode, phone_channel, to_rate

    rate = 16000
    t = np.arange(rate) / rate
    tones = 0.3 * np.sin(2 * np.pi * 1000 * t) + 0.3 * np.sin(2 * np.pi * 5000 * t)
    out, out_rate = phone_channel((tones * 32767).astype(np.int16), rate)
    assert out_rate == 8000 and out.dtype == np.float32 and abs(len(out) - 8000) <= 1
    spectrum = np.abs(np.fft.rfft(out)) ** 2
    freqs = np.fft.rfftfreq(len(out), 1 / out_rate)
    in_band = spectrum[(freqs > 950) & (freqs < 1050)].sum()
    assert spectrum[freqs > 3600].sum() < 1e-3 * in_band  # 5 kHz is gone, 1 kHz passes
    assert spectrum[freqs < 150].sum() < 1e-3 * in_band
    ramp = np.linspace(-1, 1, 2001)
    error = np.abs(mulaw_decode(mulaw_encode(ramp)) - ramp)
    assert error.max() < 0.03 and error[np.abs(ramp) < 0.01].max() < 0.001  # fine steps near zero
    assert len(to_rate(out, out_rate, 16000)) == 2 * len(out)


def test_unscripted_questions_and_callers_wording_occur_only_in_validation() -> None:
    from callbot.sample.callcenter import UNSCRIPTED, speak_like_a_caller

    c = corpus()
    dialogues = build_dialogues(_params(callcenter_dialogues=600), c)
    asked = [(d.split, s) for d in dialogues for s in d.sentences if s["고객질문(요청)"]]
    unscripted = [s for split, s in asked if s["고객의도"] == UNSCRIPTED]
    assert len(unscripted) >= 20 and all(split == "Validation" for split, s in asked if s in unscripted)
    answered = {d.sentences[1]["상담사의도"] for d in dialogues if d.sentences[0]["고객의도"] == UNSCRIPTED}
    assert answered == {HANDOVER}
    training = {s["고객질문(요청)"] for split, s in asked if split == "Training"}
    markers = [*c.wording.fillers, *c.wording.preambles, ", 아니 "]
    assert not any(m in t for m in markers for t in training)
    validation = [s["고객질문(요청)"] for split, s in asked if split == "Validation"]
    assert sum(any(m in t for m in markers) for t in validation) >= 0.25 * len(validation)
    # every way of speaking is produced, each from the same template and slot values
    kinds = {
        speak_like_a_caller(c, "{region}에서 {vaccine} 맞을 수 있는 병원 좀 알려 주세요.",
                            {"region": "부산", "vaccine": "독감"}, __import__("random").Random(i))[1]
        for i in range(60)
    }  # fmt: skip
    assert kinds == {"filler", "preamble", "correction", "casual", "formal", "split"}
    assert build_dialogues(_params(callcenter_dialogues=600), c)[-1].sentences == dialogues[-1].sentences


def test_a_broken_caller_wording_names_the_key() -> None:
    data = copy.deepcopy(_raw())
    data["caller_wording"]["casual"] = ["not", "a", "mapping"]
    with pytest.raises(CorpusError, match=r"caller_wording\.casual"):
        parse_corpus(data, "broken.yaml")
