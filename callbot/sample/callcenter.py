"""The call-centre Q&A set (민원(콜센터) 질의-응답 데이터) as a download tree, generated offline.

The ARS bot learns from this set's 질병관리본부 (KDCA) domain; nobody here can download it, so this
stand-in has its shape: ``<NN>.민원(콜센터) 질의-응답 데이터/01-1.정식개방데이터/{Training,Validation}/
02.라벨링데이터/{TL,VL}_<domain>.zip``, each zip holding one JSON array per category whose elements
are dialogue sentences with the real Korean keys, and ``01.원천데이터/{TS,VS}_<domain>.zip`` holding
one WAV per caller (고객) sentence, named in that sentence's ``음성파일``.

The words come from ``data/callcenter.yaml`` (:func:`load_corpus`): over forty KDCA intents, each
a fixed counsellor script, eight or more caller phrasings with slots (``questions``) and a few more
used by Training dialogues only (``train_questions``: new wording, so a small model learns varied
text rather than a handful of templates), plus out-of-scope questions
(other agencies, chit-chat, what the line cannot do, instructions aimed at the bot) whose right
outcome is the one transfer sentence (상담사의도 ``상담원연결``, 고객의도 ``범위외:<kind>``); each
kind also has Training-only phrasings (``out_of_scope_train``), so the model learns to hand over
varied requests (a diagnosis asked many ways), not a handful of templates.

Evaluation a sceptic accepts (:func:`holdout`): a fifth of every intent's ``questions``, one or two
values of every slot list and two voice variants occur ONLY in Validation dialogues; about half the
Validation dialogues use held-out wording and, independently, about half a held-out voice, so the
test split holds seen and unseen items. Validation draws only from ``questions`` (the hold-out is
drawn over them alone), so adding ``train_questions`` changes Training and leaves Validation
byte-identical. A ``phone_share`` of the Training calls go through a
telephone channel (:func:`callbot.tts.channel.phone_channel`) and are stored back at 16 kHz;
Validation calls are wideband (evaluation derives their 8 kHz versions).

Size: ``callcenter_dialogues`` KDCA dialogues (every fifth in Validation) and a twentieth of that
per other domain. Same params, byte-identical zips. Run it after the interview sample into the
same ``--out``: it replaces only its own dataset folder (the interview generator replaces the tree).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.sample import audio as sample_audio
from callbot.sample.archives import ArchiveWriter, group_by_split_domain, write_dataset_tree
from callbot.sample.corpus import CorpusError, read_corpus_file, strings, template, template_fields, text
from callbot.sample.texts import attach_josa

if TYPE_CHECKING:
    from collections.abc import Iterator

    from callbot.sample.params import SampleParams

DATASET_DIR = "98.민원(콜센터) 질의-응답 데이터"
RELEASE_DIR = "01-1.정식개방데이터"
SOURCE_DIR = "01.원천데이터"
LABEL_DIR = "02.라벨링데이터"
KDCA = "질병관리본부"
OUT_OF_SCOPE = "범위외"  # 고객의도 prefix and category of the questions the line hands over
HANDOVER = "상담원연결"  # 상담사의도 of the transfer sentence
UNSCRIPTED = f"{OUT_OF_SCOPE}:스크립트없음"  # 고객의도 of KDCA-topic questions the script does not answer
UNSCRIPTED_EVERY = 5  # every fifth KDCA Validation dialogue asks an unscripted question
VALIDATION_EVERY = 5  # every fifth dialogue goes to Validation (half of it becomes test in prepare)
HELDOUT_PHRASING_SHARE = 0.2
MIN_PHRASINGS = 8  # per KDCA intent and per out-of-scope kind
MIN_SLOT_VALUES = 5
MIN_KDCA_INTENTS = 40
MIN_OUT_OF_SCOPE_KINDS = 4
SECOND_QUESTION = 0.3  # share of dialogues where the caller asks a second question of the category
# Caller voices: espeak-ng variants without clock-seeded breath noise (see synthesize_fresh).
SEEN_VARIANTS = ("f1", "m1", "m2", "m3")
UNSEEN_VARIANTS = ("f4", "m7")  # only in Validation dialogues
RATES = (140, 160, 180)
PITCHES = (35, 50, 65)
VOICE_GAIN = 0.45
CORPUS_FILE = "callcenter.yaml"


@dataclass(frozen=True)
class Intent:
    """One caller need: paraphrasable questions, one scripted answer, a category to file it under."""

    category: str
    name: str  # 고객의도
    questions: tuple[str, ...]  # templates; {slot} is filled from Corpus.slots
    answer: str  # 상담사답변, verbatim every time
    agent_intent: str = "정보제공"  # 상담사의도
    train_questions: tuple[str, ...] = ()  # extra templates for Training dialogues only (never held out)

    @property
    def out_of_scope(self) -> bool:
        return self.agent_intent == HANDOVER


@dataclass(frozen=True)
class Wording:
    """Callers' wording on a real line, applied to Validation questions only (never trained on)."""

    share: float  # of Validation caller questions
    fillers: tuple[str, ...]
    preambles: tuple[str, ...]
    casual: tuple[tuple[str, str], ...]  # (formal-polite ending, casual one), first match wins
    formal: tuple[tuple[str, str], ...]


def parse_wording(raw: Any, where: str) -> Wording:
    """``caller_wording``: share, fillers, preambles and the casual/formal ending maps."""
    if not isinstance(raw, dict) or not isinstance(raw.get("share"), float) or not 0 <= raw["share"] <= 1:
        raise CorpusError(f"{where}: expected a mapping with share (0-1), fillers, preambles, casual, formal")

    def endings(key: str) -> tuple[tuple[str, str], ...]:
        pairs = raw.get(key)
        if not isinstance(pairs, dict) or not pairs:
            raise CorpusError(f"{where}.{key}: expected a mapping of ending -> replacement")
        return tuple((text(k, f"{where}.{key}"), text(v, f"{where}.{key}.{k}")) for k, v in pairs.items())

    return Wording(
        raw["share"], strings(raw.get("fillers"), f"{where}.fillers", 2),
        strings(raw.get("preambles"), f"{where}.preambles", 2), endings("casual"), endings("formal"),
    )  # fmt: skip


@dataclass(frozen=True)
class Corpus:
    slots: dict[str, tuple[str, ...]]
    domains: dict[str, tuple[Intent, ...]]  # in-scope intents per 도메인
    out_of_scope: tuple[Intent, ...]  # KDCA-domain questions answered by the transfer sentence
    transfer: str
    thanks: tuple[str, ...]
    closing: str
    unscripted: tuple[Intent, ...] = ()  # KDCA-topic questions with no script: Validation/test only
    wording: Wording | None = None  # how callers talk on a real line: Validation/test only

    @property
    def kdca(self) -> tuple[Intent, ...]:
        """Every caller need of the KDCA line: in-scope intents, then out-of-scope kinds."""
        return self.domains[KDCA] + self.out_of_scope


def parse_corpus(data: Any, source: str = CORPUS_FILE) -> Corpus:
    """Check a loaded corpus file and build the :class:`Corpus`; errors name ``source`` and the key."""
    if not isinstance(data, dict):
        raise CorpusError(f"{source}: expected a mapping with slots, domains, out_of_scope, ...")
    missing = [
        k for k in ("slots", "domains", "out_of_scope", "transfer", "thanks", "closing") if k not in data
    ]
    if missing:
        raise CorpusError(f"{source}: missing top-level key(s) {', '.join(missing)}")
    if not isinstance(data["slots"], dict):
        raise CorpusError(f"{source}: slots: expected a mapping of slot name -> values")
    slots = {
        str(name): strings(values, f"{source}: slots.{name}", MIN_SLOT_VALUES)
        for name, values in data["slots"].items()
    }
    domains = _parse_domains(data["domains"], source, slots)
    transfer = text(data["transfer"], f"{source}: transfer")
    out_of_scope = _parse_out_of_scope(data["out_of_scope"], source, slots, transfer)
    if "out_of_scope_train" in data:
        out_of_scope = _with_train_only(out_of_scope, data["out_of_scope_train"], source, slots)
    unscripted = ()
    if "unscripted" in data:
        questions = _questions(data["unscripted"], f"{source}: unscripted", MIN_PHRASINGS, slots)
        unscripted = (Intent(OUT_OF_SCOPE, UNSCRIPTED, questions, transfer, HANDOVER),)
    wording = (
        parse_wording(data["caller_wording"], f"{source}: caller_wording")
        if "caller_wording" in data
        else None
    )
    return Corpus(
        slots=slots,
        domains=domains,
        out_of_scope=out_of_scope,
        transfer=transfer,
        thanks=strings(data["thanks"], f"{source}: thanks", 1),
        closing=text(data["closing"], f"{source}: closing"),
        unscripted=unscripted,
        wording=wording,
    )


def _questions(value: Any, where: str, minimum: int, slots: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """At least ``minimum`` question templates, each naming only known slots."""
    items = strings(value, where, minimum)
    return tuple(template(q, f"{where}[{i}]", slots) for i, q in enumerate(items))


def _parse_domains(raw: Any, source: str, slots: dict[str, tuple[str, ...]]) -> dict[str, tuple[Intent, ...]]:
    """``domains``: per domain its intents (names and answers unique); the KDCA line must be there
    with at least MIN_KDCA_INTENTS."""
    if not isinstance(raw, dict) or KDCA not in raw:
        raise CorpusError(f"{source}: domains: expected a mapping that includes {KDCA}")
    domains: dict[str, tuple[Intent, ...]] = {}
    for domain, intents_raw in raw.items():
        where_domain = f"{source}: domains.{domain}"
        if not isinstance(intents_raw, list) or not intents_raw:
            raise CorpusError(f"{where_domain}: expected a non-empty list of intents")
        minimum = MIN_PHRASINGS if domain == KDCA else 2
        intents = [
            _parse_intent(r, f"{where_domain}[{i}]", slots, minimum) for i, r in enumerate(intents_raw)
        ]
        for key in ("name", "answer"):
            counts = Counter(getattr(i, key) for i in intents)
            if max(counts.values()) > 1:
                raise CorpusError(f"{where_domain}: repeated {key} {[k for k, c in counts.items() if c > 1]}")
        domains[str(domain)] = tuple(intents)
    if len(domains[KDCA]) < MIN_KDCA_INTENTS:
        raise CorpusError(
            f"{source}: domains.{KDCA}: {len(domains[KDCA])} intents, need at least {MIN_KDCA_INTENTS}"
        )
    return domains


def _parse_intent(raw: Any, where: str, slots: dict[str, tuple[str, ...]], minimum: int) -> Intent:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: expected a mapping with category, name, answer, questions")
    lacking = [k for k in ("category", "name", "answer", "questions") if k not in raw]
    if lacking:
        raise CorpusError(f"{where}: missing {', '.join(lacking)}")
    name = text(raw["name"], f"{where}.name", spoken=False)
    where = f"{where} ({name})"
    questions = _questions(raw["questions"], f"{where}.questions", minimum, slots)
    extra = (
        _questions(raw["train_questions"], f"{where}.train_questions", 1, slots)
        if "train_questions" in raw
        else ()
    )
    repeated = sorted(set(extra) & set(questions))
    if repeated:
        raise CorpusError(f"{where}.train_questions: {repeated} also under questions; write new phrasings")
    return Intent(
        category=text(raw["category"], f"{where}.category", spoken=False),
        name=name,
        questions=questions,
        answer=text(raw["answer"], f"{where}.answer"),
        train_questions=extra,
    )


def _parse_out_of_scope(
    raw: Any, source: str, slots: dict[str, tuple[str, ...]], transfer: str
) -> tuple[Intent, ...]:
    """``out_of_scope``: kinds of questions the line hands over, each answered by the transfer sentence."""
    if not isinstance(raw, dict) or len(raw) < MIN_OUT_OF_SCOPE_KINDS:
        raise CorpusError(
            f"{source}: out_of_scope: expected a mapping of at least {MIN_OUT_OF_SCOPE_KINDS} kinds -> questions"
        )
    return tuple(
        Intent(
            category=OUT_OF_SCOPE,
            name=f"{OUT_OF_SCOPE}:{kind}",
            questions=_questions(questions, f"{source}: out_of_scope.{kind}", MIN_PHRASINGS, slots),
            answer=transfer,
            agent_intent=HANDOVER,
        )
        for kind, questions in raw.items()
    )


def _with_train_only(
    kinds: tuple[Intent, ...], raw: Any, source: str, slots: dict[str, tuple[str, ...]]
) -> tuple[Intent, ...]:
    """``out_of_scope_train``: per out-of-scope kind, phrasings for Training dialogues only (like an
    intent's ``train_questions``), so the model learns to hand over more than a few templates."""
    where = f"{source}: out_of_scope_train"
    known = {i.name.removeprefix(f"{OUT_OF_SCOPE}:"): i for i in kinds}
    if not isinstance(raw, dict) or not raw:
        raise CorpusError(f"{where}: expected a mapping of out-of-scope kind -> questions")
    unknown = sorted(set(map(str, raw)) - set(known))
    if unknown:
        raise CorpusError(f"{where}: {unknown} not under out_of_scope; use one of {sorted(known)}")
    extra = {str(k): _questions(v, f"{where}.{k}", 1, slots) for k, v in raw.items()}
    for kind, questions in extra.items():
        repeated = sorted(set(questions) & set(known[kind].questions))
        if repeated:
            raise CorpusError(f"{where}.{kind}: {repeated} also under out_of_scope; write new phrasings")
    return tuple(replace(i, train_questions=extra.get(k, ())) for k, i in known.items())


def load_corpus(path: Path | None = None) -> Corpus:
    """The corpus file (default: the packaged ``data/callcenter.yaml``), checked."""
    return parse_corpus(*read_corpus_file(CORPUS_FILE, path))


@lru_cache(maxsize=1)
def corpus() -> Corpus:
    return load_corpus()


# ---- content split --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldOut:
    """What only Validation dialogues may use: phrasings per intent and slot values."""

    phrasings: dict[str, frozenset[str]]  # intent name -> held-out templates
    values: dict[str, frozenset[str]]  # slot -> held-out values

    def seen_phrasings(self, intent: Intent) -> tuple[str, ...]:
        held = self.phrasings.get(intent.name, frozenset())
        return tuple(q for q in intent.questions if q not in held)

    def training_phrasings(self, intent: Intent) -> tuple[str, ...]:
        """The seen phrasings plus the intent's train-only ones: what Training dialogues draw from."""
        return self.seen_phrasings(intent) + intent.train_questions

    def unseen_phrasings(self, intent: Intent) -> tuple[str, ...]:
        held = self.phrasings.get(intent.name, frozenset())
        return tuple(q for q in intent.questions if q in held)

    def slot_values(self, slots: dict[str, tuple[str, ...]], unseen: bool) -> dict[str, tuple[str, ...]]:
        """Seen values of every slot, or its held-out ones (the seen ones where none is held out)."""
        chosen = {}
        for name, values in slots.items():
            held = self.values.get(name, frozenset())
            pick = tuple(v for v in values if (v in held) == unseen)
            chosen[name] = pick or tuple(v for v in values if v not in held)
        return chosen


def holdout_count(n: int) -> int:
    """Phrasings held out of ``n``: a fifth, rounded (2 of 8-12); none below five."""
    return round(n * HELDOUT_PHRASING_SHARE) if n >= 5 else 0


def pick_heldout_values(
    values: tuple[str, ...], count: int, others: list[str], rng: random.Random
) -> frozenset[str]:
    """``count`` of ``values`` that no other text contains, so "never in Training" can hold.

    A value such as 개 is inside many words; holding it out would be a promise the text cannot keep.
    """
    eligible = [v for v in values if not any(v in o for o in others if o != v)]
    return frozenset(rng.sample(eligible, min(count, len(eligible))))


def holdout(c: Corpus, seed: int) -> HoldOut:
    """The deterministic content split of ``c`` for ``seed``."""
    rng = random.Random(f"callcenter-holdout:{seed}")
    intents = [i for group in (*c.domains.values(), c.out_of_scope) for i in group]
    phrasings = {i.name: frozenset(rng.sample(i.questions, holdout_count(len(i.questions)))) for i in intents}
    others = [text for i in intents for text in (*i.questions, i.answer)]
    others += [c.transfer, c.closing, *c.thanks, *(v for vs in c.slots.values() for v in vs)]
    values = {
        name: pick_heldout_values(slot_values, 2 if len(slot_values) >= 7 else 1, others, rng)
        for name, slot_values in c.slots.items()
    }
    return HoldOut(phrasings=phrasings, values=values)


# ---- dialogues ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallerVoice:
    variant: str
    rate: int
    pitch: int

    @property
    def id(self) -> str:
        """``f1-r160-p50``: the label's 화자음성."""
        return f"{self.variant}-r{self.rate}-p{self.pitch}"

    def voice(self) -> sample_audio.Voice:
        return sample_audio.Voice(
            name=f"ko+{self.variant}", rate=self.rate, pitch=self.pitch, gain=VOICE_GAIN
        )


def caller_voice(rng: random.Random, unseen: bool) -> CallerVoice:
    variants = UNSEEN_VARIANTS if unseen else SEEN_VARIANTS
    return CallerVoice(rng.choice(variants), rng.choice(RATES), rng.choice(PITCHES))


@dataclass
class Dialogue:
    domain: str
    number: int
    split: str  # Training | Validation
    sentences: list[dict] = field(default_factory=list)
    voice: CallerVoice | None = None
    phone: bool = False
    unseen_phrasing: bool = False

    @property
    def id(self) -> str:
        return f"{self.number:06d}"

    @property
    def category(self) -> str:
        return self.sentences[0]["카테고리"]


def _sentence(
    c: Corpus, domain: str, category: str, dialogue: str, turn: int, speaker: str, text: str, intent: str
) -> dict:
    customer = speaker == "고객"
    question = customer and text not in c.thanks
    return {
        "도메인": domain,
        "카테고리": category,
        "대화셋일련번호": dialogue,
        "화자": speaker,
        "문장번호": turn,
        "고객의도": intent if customer else "",
        "상담사의도": "" if customer else intent,
        "QA": "Q" if customer else "A",
        "고객질문(요청)": text if question else "",
        "상담사질문(요청)": "",
        "고객답변": text if customer and not question else "",
        "상담사답변": "" if customer else text,
        "개체명": "",
        "용어사전": "",
        "지식베이스": "",
    }


def fill(template: str, values: dict[str, tuple[str, ...]], rng: random.Random) -> str:
    """A template with its slots drawn from ``values`` (in order of appearance) and particles resolved."""
    return attach_josa(template.format(**chosen_values(template, values, rng)))


def chosen_values(template: str, values: dict[str, tuple[str, ...]], rng: random.Random) -> dict[str, str]:
    return {name: rng.choice(values[name]) for name in template_fields(template)}


_SPLIT_ENDS = ("는", "은", "데", "면", "고", "에", "서", "가", "이")  # a phrase a caller may stop after


def split_in_two(question: str) -> str | None:
    """``보건소에 가면요. 독감 주사를 ...``: the question said as two sentences, or None if no break fits."""
    words = question.split()
    for i, word in enumerate(words[:-2]):
        if word[-1] in _SPLIT_ENDS:
            return " ".join([*words[:i], f"{word}요.", *words[i + 1 :]])
    return None


def new_ending(question: str, endings: tuple[tuple[str, str], ...]) -> str | None:
    return next((question[: -len(old)] + new for old, new in endings if question.endswith(old)), None)


def speak_like_a_caller(
    c: Corpus, template: str, chosen: dict[str, str], rng: random.Random
) -> tuple[str, str]:
    """The question as a caller on a line says it, and which way (filler, preamble, correction,
    casual, formal, split); a way that does not fit the sentence falls back to a filler."""
    w = c.wording
    plain = attach_josa(template.format(**chosen))
    if w is None:
        return plain, "plain"
    kind = rng.choice(("filler", "preamble", "correction", "casual", "formal", "split"))
    said: str | None = None
    if kind == "preamble":
        said = f"{rng.choice(w.preambles)} {plain}"
    elif kind == "correction" and chosen:
        slot = next(iter(chosen))
        wrong = [v for v in c.slots[slot] if v != chosen[slot]]
        said = attach_josa(template.format(**{**chosen, slot: f"{rng.choice(wrong)}, 아니 {chosen[slot]}"}))
    elif kind in ("casual", "formal"):
        said = new_ending(plain, w.casual if kind == "casual" else w.formal)
    elif kind == "split":
        said = split_in_two(plain)
    if said is None:
        kind, said = "filler", f"{rng.choice(w.fillers)} {plain}"
    return said, kind


def build_dialogue(
    c: Corpus,
    held: HoldOut,
    domain: str,
    intents: tuple[Intent, ...],
    number: int,
    seed: int,
    phone_share: float,
) -> Dialogue:
    """Caller asks, counsellor answers the script (or hands over); sometimes a second question, then thanks.

    Seeded by the dialogue alone, so a dialogue's text, voice and channel never depend on the others.
    """
    rng = random.Random(f"callcenter:{seed}:{domain}:{number}")
    split = "Validation" if number % VALIDATION_EVERY == 0 else "Training"
    dialogue = Dialogue(domain, number, split)
    validation = split == "Validation"
    dialogue.unseen_phrasing = validation and rng.random() < 0.5
    unseen_voice = validation and rng.random() < 0.5
    dialogue.voice = caller_voice(rng, unseen_voice)
    dialogue.phone = not validation and rng.random() < phone_share
    first = intents[number % len(intents)]
    if (
        validation
        and domain == KDCA
        and c.unscripted
        and (number // VALIDATION_EVERY) % UNSCRIPTED_EVERY == 0
    ):
        first = c.unscripted[0]  # a question the script does not answer, never asked in Training
    asked = [first]
    if not first.out_of_scope and rng.random() < SECOND_QUESTION:
        same = [i for i in intents if i.category == first.category and i is not first and not i.out_of_scope]
        if same:
            asked.append(rng.choice(same))
    values = held.slot_values(c.slots, dialogue.unseen_phrasing)
    wording = random.Random(f"callcenter-wording:{seed}:{domain}:{number}")  # leaves rng's draws as they were
    turn = 1
    for intent in asked:
        templates = held.unseen_phrasings(intent) if dialogue.unseen_phrasing else ()
        seen = held.seen_phrasings(intent) if validation else held.training_phrasings(intent)
        template = rng.choice(templates or seen)
        chosen = chosen_values(template, values, rng)
        question = attach_josa(template.format(**chosen))
        if validation and c.wording and wording.random() < c.wording.share:
            question = speak_like_a_caller(c, template, chosen, wording)[0]
        dialogue.sentences.append(
            _sentence(c, domain, first.category, dialogue.id, turn, "고객", question, intent.name)
        )
        dialogue.sentences.append(
            _sentence(
                c, domain, first.category, dialogue.id, turn + 1, "상담사", intent.answer, intent.agent_intent
            )
        )
        turn += 2
    thanks = rng.choice(c.thanks)
    dialogue.sentences.append(_sentence(c, domain, first.category, dialogue.id, turn, "고객", thanks, "감사"))
    dialogue.sentences.append(
        _sentence(c, domain, first.category, dialogue.id, turn + 1, "상담사", c.closing, "마무리")
    )
    return dialogue


def kdca_cycle(c: Corpus) -> tuple[Intent, ...]:
    """The order first questions cycle through: every KDCA intent once, every out-of-scope kind twice
    (so the test split holds enough handovers to measure them)."""
    return c.domains[KDCA] + c.out_of_scope + c.out_of_scope


def build_dialogues(params: SampleParams, c: Corpus | None = None) -> list[Dialogue]:
    """Every dialogue of the tree, domain by domain; deterministic in ``params.seed``."""
    c = c or corpus()
    held = holdout(c, params.seed)
    kdca = params.callcenter_dialogues
    plan = [(KDCA, kdca_cycle(c), kdca)]
    plan += [(d, intents, max(6, kdca // 20)) for d, intents in c.domains.items() if d != KDCA]
    return [
        build_dialogue(c, held, domain, intents, number, params.seed, params.phone_share)
        for domain, intents, count in plan
        for number in range(1, count + 1)
    ]


# ---- audio ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    """One caller sentence to speak: what a worker needs, and nothing that depends on the others."""

    text: str
    voice: CallerVoice
    phone: bool
    speech: bool

    def build(self) -> bytes:
        if self.speech:
            samples = sample_audio.speech_samples([self.text], [self.voice.voice()])[0]
        else:
            rng = random.Random(f"{self.text}:{self.voice.id}")  # str seeds hash the same in every process
            samples = sample_audio.stub_samples((rng.random(), rng.random()))
        if self.phone:
            from callbot.tts.channel import phone_channel, to_rate

            narrow, rate = phone_channel(samples, sample_audio.SAMPLE_RATE)
            wide = to_rate(narrow, rate, sample_audio.SAMPLE_RATE)
            samples = np.clip(np.rint(wide.astype(np.float64) * 32767), -32768, 32767).astype(np.int16)
        return sample_audio.wav_bytes(samples)


def _build_clip(clip: Clip) -> bytes:
    return clip.build()


def wav_name(dialogue: Dialogue, turn: int) -> str:
    """``질병관리본부_000123_01.wav``: per dialogue and sentence, unique over the dataset."""
    return f"{dialogue.domain}_{dialogue.id}_{turn:02d}.wav"


def _clips(dialogues: list[Dialogue], speech: bool) -> list[tuple[Dialogue, dict, Clip]]:
    return [
        (d, s, Clip(s["고객질문(요청)"] or s["고객답변"], d.voice, d.phone, speech))
        for d in dialogues
        for s in d.sentences
        if s["화자"] == "고객" and d.voice is not None
    ]


def _synthesise(clips: list[Clip], workers: int) -> Iterator[bytes]:
    """Each clip's WAV bytes in order; a clip repeated (a thanks line in one voice) is built once."""
    from callbot.sample.interview import fork_map

    unique = list(dict.fromkeys(clips))
    remaining = Counter(clips)
    cache: dict[Clip, bytes] = {}
    speech = bool(clips) and clips[0].speech
    with fork_map(_build_clip, unique, workers, speech=speech, chunk=4) as built:
        produced = iter(unique)
        for clip in clips:
            while clip not in cache:  # built in first-use order, so the next one built is due soon
                cache[next(produced)] = next(built)
            data = cache[clip]
            remaining[clip] -= 1
            if not remaining[clip]:
                del cache[clip]
            yield data


@dataclass
class CallcenterReport:
    out: Path
    dialogues: Counter[str] = field(default_factory=Counter)  # per split
    sentences: int = 0
    clips: Counter[str] = field(default_factory=Counter)  # per split
    archives: int = 0
    seconds: float = 0.0


def write_callcenter_tree(params: SampleParams) -> Path:
    """Write the call-centre dataset folder under ``params.out``; returns that folder.

    Only ``<out>/98.민원(콜센터) 질의-응답 데이터`` is replaced (built beside it, then renamed), so
    the interview tree next to it is kept.
    """
    from callbot.console import summary

    started = time.perf_counter()
    report = CallcenterReport(out=Path(params.out) / DATASET_DIR)

    def write_group(tmp: Path, split: str, domain: str, members: list[Dialogue]) -> None:
        base = tmp / RELEASE_DIR / split
        tag = "T" if split == "Training" else "V"
        _write_sources(base / SOURCE_DIR / f"{tag}S_{domain}.zip", domain, members, params, report)
        _write_labels(base / LABEL_DIR / f"{tag}L_{domain}.zip", domain, members, params, report)
        report.dialogues[split] += len(members)

    groups = group_by_split_domain(build_dialogues(params))
    final = write_dataset_tree(Path(params.out), DATASET_DIR, groups, write_group)
    report.seconds = time.perf_counter() - started
    summary(
        "sample",
        f"callcenter: {sum(report.dialogues.values())} dialogues (Training {report.dialogues['Training']}, "
        f"Validation {report.dialogues['Validation']}), {report.sentences} sentences, "
        f"{sum(report.clips.values())} caller clips ({params.audio}) in {report.archives} archives "
        f"-> {final} in {report.seconds:.1f} s",
    )
    return final


def _write_sources(
    path: Path, domain: str, members: list[Dialogue], params: SampleParams, report: CallcenterReport
) -> None:
    """The caller clips of a group's dialogues; each sentence gets its file name, length, voice, channel."""
    source = ArchiveWriter(path)
    clips = _clips(members, params.audio == "speech")
    workers = params.workers or os.cpu_count() or 1
    for (dialogue, sentence, clip), data in zip(
        clips, _synthesise([c for _, _, c in clips], workers), strict=True
    ):
        name = wav_name(dialogue, sentence["문장번호"])
        source.add(f"{domain}/{name}", data)
        sentence["음성파일"] = name
        sentence["재생시간"] = sample_audio.duration_ms((len(data) - 44) // 2)
        sentence["화자음성"] = clip.voice.id
        sentence["음성채널"] = "phone" if clip.phone else "wideband"
        report.clips[dialogue.split] += 1
    source.close(params.part_size)
    report.archives += 1


def _write_labels(
    path: Path, domain: str, members: list[Dialogue], params: SampleParams, report: CallcenterReport
) -> None:
    """One JSON label file per category of the group (the first Training one with a BOM unless clean)."""
    labels = ArchiveWriter(path)
    categories: dict[str, list[dict]] = {}
    for d in members:
        categories.setdefault(d.category, []).extend(d.sentences)
    for index, (category, items) in enumerate(sorted(categories.items())):
        data = json.dumps(items, ensure_ascii=False, indent=1).encode("utf-8")
        if not params.clean and index == 0 and members[0].split == "Training":
            data = b"\xef\xbb\xbf" + data  # quirk: a BOM, as Windows tools write it
        labels.add(f"{domain}/{category}.json", data)
        report.sentences += len(items)
    labels.close(params.part_size)
    report.archives += 1
