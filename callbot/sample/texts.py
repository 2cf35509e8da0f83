"""Korean interview texts for the sample tree: questions, answers, summaries, emotion and intent.

Why templates with slots: downstream models must be evaluated on sentences they never saw in
training, as with the real 84,134 interviews. Each answer is assembled from sentence templates
whose slots are filled from an occupation's vocabulary, so the number of distinct sentences grows
far beyond the records of a smoke tree while every sentence stays natural Korean. The words live
in ``data/interview.yaml`` (:func:`interview_corpus`); numbers are written as words there (the
real transcripts spell them out, and espeak-ng then reads them right).

Each answer sentence carries its own short form; the summary is the short forms of the answer's
content sentences, so it is always shorter than the answer (as the page's KoBART task assumes).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from callbot.sample.corpus import CorpusError, mapping, read_corpus_file, strings, template, text
from callbot.sample.layout import OCCUPATIONS

if TYPE_CHECKING:
    from pathlib import Path

EMOTION_WEIGHTS = {"negative": 1518, "neutral": 6596, "positive": 5994}  # the page's KoBERT class counts
EXPERIENCES = ("Experienced", "New")
VOCAB_LISTS = ("tasks", "skills", "tools", "partners", "results", "trends", "majors")
SLOTS = ("field", "task", "skill", "tool", "partner", "result", "trend", "major", "past", "duration", "team")
CORPUS_FILE = "interview.yaml"


@dataclass(frozen=True)
class Vocab:
    """One occupation's words: what the work is, what it needs, what it achieves."""

    field: str  # the job as a candidate would name it
    tasks: tuple[str, ...]  # noun phrases of concrete work
    skills: tuple[str, ...]  # competencies (also the intent `expression`)
    tools: tuple[str, ...]
    partners: tuple[str, ...]  # who the work is done with
    results: tuple[str, ...]  # what went well, as a full predicate
    trends: tuple[str, ...]  # what is changing in the field
    majors: tuple[str, ...]


@dataclass(frozen=True)
class Line:
    """An answer sentence and its short form for the summary (``None``: not summarised)."""

    full: str
    short: str | None


@dataclass(frozen=True)
class Topic:
    """A kind of interview question, its intent category and the sentences that answer it."""

    name: str
    intent: str  # technology | attitude | background | personality | etc
    questions: tuple[str, ...]
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class InterviewCorpus:
    """Everything ``data/interview.yaml`` holds, checked."""

    vocab: dict[str, Vocab]  # per occupation code (BM..MM)
    past: dict[str, tuple[str, ...]]  # per experience
    durations: tuple[str, ...]
    team_sizes: tuple[str, ...]
    topics: tuple[Topic, ...]
    elaborations: tuple[Line, ...]  # sentences that fit any topic; long answers add one or two
    openers: tuple[str, ...]
    emotion_lines: dict[str, tuple[tuple[str, str, str], ...]]  # (full, short, expression) per emotion


def _lines(value: Any, where: str) -> tuple[Line, ...]:
    if not isinstance(value, list) or not value:
        raise CorpusError(f"{where}: expected a non-empty list of {{full, short}} sentences")
    lines = []
    for i, raw in enumerate(value):
        raw = mapping(raw, f"{where}[{i}]", ("full", "short"))
        short = raw["short"]
        lines.append(
            Line(
                template(raw["full"], f"{where}[{i}].full", SLOTS),
                None if short is None else template(short, f"{where}[{i}].short", SLOTS),
            )
        )
    return tuple(lines)


def _topic(raw: Any, where: str) -> Topic:
    raw = mapping(raw, where, ("name", "intent", "questions", "lines"))
    questions = strings(raw["questions"], f"{where}.questions", 1)
    return Topic(
        name=text(raw["name"], f"{where}.name", spoken=False),
        intent=text(raw["intent"], f"{where}.intent", spoken=False),
        questions=tuple(template(q, f"{where}.questions[{i}]", SLOTS) for i, q in enumerate(questions)),
        lines=_lines(raw["lines"], f"{where}.lines"),
    )


def _emotion_lines(value: Any, where: str) -> dict[str, tuple[tuple[str, str, str], ...]]:
    value = mapping(value, where, tuple(EMOTION_WEIGHTS))
    emotion_lines = {}
    for emotion, raws in value.items():
        lines = _lines(raws, f"{where}.{emotion}")
        expressions = [mapping(r, f"{where}.{emotion}[{i}]", ("expression",)) for i, r in enumerate(raws)]
        emotion_lines[str(emotion)] = tuple(
            (line.full, text(line.short, f"{where}.{emotion}[{i}].short"), text(r["expression"], where))
            for i, (line, r) in enumerate(zip(lines, expressions, strict=True))
        )
    return emotion_lines


def parse_interview_corpus(data: Any, source: str = CORPUS_FILE) -> InterviewCorpus:
    """Check a loaded corpus file and build the :class:`InterviewCorpus`; errors name ``source`` and the key."""
    keys = ("vocab", "past", "durations", "team_sizes", "topics", "elaborations", "openers", "emotion_lines")
    data = mapping(data, source, keys)
    vocab = {}
    for code, raw in mapping(data["vocab"], f"{source}: vocab", tuple(o.code for o in OCCUPATIONS)).items():
        where = f"{source}: vocab.{code}"
        raw = mapping(raw, where, ("field", *VOCAB_LISTS))
        lists = {k: strings(raw[k], f"{where}.{k}", 1) for k in VOCAB_LISTS}
        vocab[str(code)] = Vocab(field=text(raw["field"], f"{where}.field"), **lists)
    past = mapping(data["past"], f"{source}: past", EXPERIENCES)
    topics = data["topics"]
    if not isinstance(topics, list) or not topics:
        raise CorpusError(f"{source}: topics: expected a non-empty list of topics")
    return InterviewCorpus(
        vocab=vocab,
        past={str(k): strings(v, f"{source}: past.{k}", 1) for k, v in past.items()},
        durations=strings(data["durations"], f"{source}: durations", 1),
        team_sizes=strings(data["team_sizes"], f"{source}: team_sizes", 1),
        topics=tuple(_topic(raw, f"{source}: topics[{i}]") for i, raw in enumerate(topics)),
        elaborations=_lines(data["elaborations"], f"{source}: elaborations"),
        openers=tuple(
            text(o, f"{source}: openers") for o in strings(data["openers"], f"{source}: openers", 1)
        ),
        emotion_lines=_emotion_lines(data["emotion_lines"], f"{source}: emotion_lines"),
    )


def load_interview_corpus(path: Path | None = None) -> InterviewCorpus:
    """The corpus file (default: the packaged ``data/interview.yaml``), checked."""
    return parse_interview_corpus(*read_corpus_file(CORPUS_FILE, path))


@lru_cache(maxsize=1)
def interview_corpus() -> InterviewCorpus:
    return load_interview_corpus()


_JOSA_FORMS = {  # written pair -> (after a final consonant, after a vowel)
    "을/를": ("을", "를"),
    "이/가": ("이", "가"),
    "은/는": ("은", "는"),
    "와/과": ("과", "와"),
    "(으)로": ("으로", "로"),
    "(이)라": ("이라", "라"),
}
_JOSA = re.compile(r"(\S)(" + "|".join(re.escape(k) for k in _JOSA_FORMS) + ")")


def _has_final(syllable: str) -> bool | None:
    """Whether a Hangul syllable ends in a consonant (받침); None for anything else."""
    code = ord(syllable) - 0xAC00
    if 0 <= code < 11172:
        return code % 28 != 0
    return None


def attach_josa(text: str) -> str:
    """Resolve ``을/를``-style particle pairs after slot filling (받침 decides; ㄹ takes 로)."""

    def pick(match: re.Match[str]) -> str:
        prev, pair = match.group(1), match.group(2)
        with_final, without = _JOSA_FORMS[pair]
        final = _has_final(prev)
        if pair == "(으)로" and final and (ord(prev) - 0xAC00) % 28 == 8:  # ㄹ받침 takes 로
            return prev + without
        return prev + (with_final if final else without)

    return _JOSA.sub(pick, text)


def word_count(text: str) -> int:
    """Eojeol: whitespace-separated units, the page's ``wordCount``."""
    return len(text.split())


@dataclass(frozen=True)
class InterviewText:
    """Everything a label JSON says in words, for one question and its answer."""

    question: str
    answer: str
    summary: str
    topic: str
    intent: str
    emotion: str
    answer_emotion: list[dict[str, str]] = field(default_factory=list)
    answer_intent: list[dict[str, str]] = field(default_factory=list)
    question_intent: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class TextHoldOut:
    """Sentence templates and vocabulary values that only Validation interviews may use."""

    templates: frozenset[str] = frozenset()  # question templates, Line.full templates, openers
    values: frozenset[str] = frozenset()  # vocabulary values (tasks, tools, durations, ...)

    def pick(self, rng: random.Random, options: tuple[str, ...] | list[str], unseen: bool) -> str:
        """One option: a seen one, or (``unseen``) a held-out one where the list has any."""
        held = [o for o in options if o in self.templates or o in self.values]
        seen = [o for o in options if o not in held]
        return rng.choice(held if unseen and held else seen or list(options))


HELDOUT_TEMPLATE_SHARE = 0.2


def _vocab_lists(c: InterviewCorpus) -> list[tuple[str, ...]]:
    lists: list[tuple[str, ...]] = []
    for vocab in c.vocab.values():
        lists += [
            vocab.tasks,
            vocab.skills,
            vocab.tools,
            vocab.partners,
            vocab.results,
            vocab.trends,
            vocab.majors,
        ]
    return [*lists, *c.past.values(), c.durations, c.team_sizes]


@lru_cache(maxsize=4)
def text_holdout(seed: int) -> TextHoldOut:
    """A fifth of the answer-sentence templates (one per topic at least), one question template per
    topic of three or more, one opener and one elaboration, and one or two values of every vocabulary
    list; deterministic in ``seed``.

    A value is held out only where no other text contains it (엑셀 is a tool of four occupations;
    holding it out of one would still leave it in Training). Emotion sentences are kept: each is the
    only example of its expression label.
    """
    c = interview_corpus()
    rng = random.Random(f"interview-holdout:{seed}")
    templates: set[str] = set()
    for topic in c.topics:
        lines = [line.full for line in topic.lines]
        templates.update(rng.sample(lines, max(1, round(len(lines) * HELDOUT_TEMPLATE_SHARE))))
        if len(topic.questions) >= 3:
            templates.add(rng.choice(topic.questions))
    templates.add(rng.choice([line.full for line in c.elaborations]))
    templates.add(rng.choice(c.openers))
    lists = _vocab_lists(c)
    texts = [
        t
        for topic in c.topics
        for t in (*topic.questions, *(x for line in topic.lines for x in (line.full, line.short or "")))
    ]
    texts += [t for line in c.elaborations for t in (line.full, line.short or "")] + list(c.openers)
    texts += [t for lines in c.emotion_lines.values() for line in lines for t in line[:2]]
    texts += [v.field for v in c.vocab.values()]
    every_value = [v for items in lists for v in items]
    lists_with = Counter(v for items in lists for v in set(items))
    values: set[str] = set()
    for items in lists:
        eligible = sorted(
            v
            for v in set(items)
            if lists_with[v] == 1 and not any(v in o for o in (*texts, *every_value) if o != v)
        )
        values.update(rng.sample(eligible, min(2 if len(items) >= 8 else 1, len(eligible))))
    return TextHoldOut(frozenset(templates), frozenset(values))


def _slots(
    c: InterviewCorpus,
    held: TextHoldOut,
    rng: random.Random,
    occupation_code: str,
    experience: str,
    unseen: bool,
) -> dict[str, str]:
    """A value for every slot, drawn in a fixed order (the draws decide every later one)."""
    vocab = c.vocab[occupation_code]
    return {
        "field": vocab.field,
        "task": held.pick(rng, vocab.tasks, unseen),
        "skill": held.pick(rng, vocab.skills, unseen),
        "tool": held.pick(rng, vocab.tools, unseen),
        "partner": held.pick(rng, vocab.partners, unseen),
        "result": held.pick(rng, vocab.results, unseen),
        "trend": held.pick(rng, vocab.trends, unseen),
        "major": held.pick(rng, vocab.majors, unseen),
        "past": held.pick(rng, c.past[experience], unseen),
        "duration": held.pick(rng, c.durations, unseen),
        "team": held.pick(rng, c.team_sizes, unseen),
    }


def _answer_lines(
    c: InterviewCorpus, held: TextHoldOut, rng: random.Random, topic: Topic, unseen: bool
) -> list[Line]:
    """Several of the topic's sentences, sometimes many (real answers run from a line to a minute and
    more); unseen answers hold at least one held-out sentence, long ones add an elaboration or two."""
    forced = [i for i, line in enumerate(topic.lines) if line.full in held.templates]
    pool = (
        list(range(len(topic.lines))) if unseen else [i for i in range(len(topic.lines)) if i not in forced]
    )
    count = min(len(pool), rng.choice((2, 3, 3, 4, 4, 5, 6)))
    if unseen and forced:
        first = rng.choice(forced)
        rest = [i for i in pool if i != first]
        chosen = sorted([first, *rng.sample(rest, count - 1)])
    else:
        chosen = sorted(rng.sample(pool, count))
    lines = [topic.lines[i] for i in chosen]
    if count >= 4:  # long answers add a sentence or two that fit any topic
        extras = [i for i, line in enumerate(c.elaborations) if unseen or line.full not in held.templates]
        extra = rng.sample(extras, rng.choice((1, 2)))
        lines.extend(c.elaborations[i] for i in sorted(extra))
    return lines


def _intents(
    rng: random.Random, topic: Topic, question: str, first_sentence: str, competency: str
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The answer's intent label and the question's (present in a quarter of the records)."""
    answer_intent = {"text": first_sentence, "expression": competency, "category": topic.intent}
    if rng.random() < 0.2:  # as in the page's own example: category only, text and expression empty
        answer_intent = {"text": "", "expression": "", "category": topic.intent}
    question_intent: list[dict[str, str]] = []
    if rng.random() < 0.25:
        question_intent = [{"text": question, "category": topic.intent, "expression": competency}]
    return answer_intent, question_intent


def interview_text(
    rng: random.Random,
    occupation_code: str,
    experience: str,
    holdout: TextHoldOut | None = None,
    unseen: bool = False,
) -> InterviewText:
    """One question and answer for an occupation code (BM..MM) and an experience (Experienced|New).

    Draws use only ``rng``, so a record's text depends on its own seed and nothing else. With a
    ``holdout``, only seen templates and values are used, or (``unseen``) held-out ones wherever a
    list has any, and at least one held-out answer sentence.
    """
    c = interview_corpus()
    held = holdout or TextHoldOut()
    slots = _slots(c, held, rng, occupation_code, experience, unseen)

    def fill(template: str) -> str:
        return attach_josa(template.format(**slots))

    topic = rng.choice(c.topics)
    question = fill(held.pick(rng, topic.questions, unseen))
    lines = _answer_lines(c, held, rng, topic, unseen)
    emotion = rng.choices(list(EMOTION_WEIGHTS), weights=list(EMOTION_WEIGHTS.values()))[0]
    emo_full, emo_short, expression = rng.choice(c.emotion_lines[emotion])
    lines.insert(rng.randint(1, len(lines)), Line(emo_full, emo_short))
    opener = held.pick(rng, c.openers, unseen) if rng.random() < 0.6 else None

    sentences = [fill(line.full) for line in lines]
    answer = " ".join(([opener] if opener else []) + sentences)
    summary = " ".join(fill(line.short) for line in lines if line.short is not None)
    if word_count(summary) >= word_count(answer):  # every short form is shorter; keep it so
        summary = fill(lines[0].short or lines[0].full)
    answer_intent, question_intent = _intents(rng, topic, question, sentences[0], slots["skill"])
    return InterviewText(
        question=question,
        answer=answer,
        summary=summary,
        topic=topic.name,
        intent=topic.intent,
        emotion=emotion,
        answer_emotion=[{"text": fill(emo_full), "expression": expression, "category": emotion}],
        answer_intent=[answer_intent],
        question_intent=question_intent,
    )
