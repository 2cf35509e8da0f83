"""The low-quality telephone speech set (저음질 전화망 음성인식 데이터) as a download tree, generated offline.

Shaped as the public readers of AI-Hub dataSetSn 571 find it (``docs/aihub_phone.md``):
``007.저음질 전화망 음성인식 데이터/01.데이터/{1.Training,2.Validation}/{원천데이터_230316/TS_D0k.zip,
라벨링데이터_230316/TL_D0k.zip}`` (VS_/VL_ under Validation). A source zip holds one 8 kHz mono 16-bit
WAV per utterance, ``D0k/Jxx/S000123/0001.wav``; its label zip holds the transcript beside it
(``0001.txt``, KsponSpeech conventions) and one session JSON (``S000123.json``: ``dataSet.typeInfo``
with the speakers, ``dataSet.dialogs`` with ``speaker``, ``audioPath``, ``duration`` (s), ``text``).

Text (:mod:`data/phone.yaml`): a small grammar over an everyday word list, NOT the call-centre or
interview templates: sentence shapes whose chunks are reordered at random, numbers as dual forms
``(010-1234-5678)/(공일공 일이삼사 오육칠팔)``, fillers ``어/``, noise tags ``b/ n/ l/ o/``, and a
share of random syllable strings. Every sentence of the tree is distinct, except the lone short
answers (네, 아니요, 맞아요, ...: ``short_answers``, ``sample.phone_short_answers`` of them): extra turns
of Training sessions only, spoken by the session's seen voices (never by :data:`SHORT_ANSWER_UNHEARD`),
because the confirm turn hears them alone and no sentence corpus holds them alone. They are drawn
from their own random stream, so every other turn, and every Validation session, is byte-identical
with or without them. Varied text (``sample.phone_random_words``, ``sample.phone_random_syllables``,
``sample.phone_lexicon_sentences``): Training sessions appended after all others, of seen words in
random order, of pseudo-words, or of words from a broad lexicon of pinned packages' tokenizers that no
corpus text contains (:mod:`callbot.sample.lexicon`) (:func:`add_varied_sessions`), so the acoustic
model hears sounds, words and spellings no grammar here makes; every other session is byte-identical
with or without them.

Audio: espeak-ng (every reproducible Korean variant, rates and pitches), then level changes within
the utterance, line noise and hum, and the G.711 mu-law telephone channel
(:func:`callbot.tts.channel.phone_channel`); stored at 8 kHz.

Content split (:func:`holdout`): a tenth of every word list, about a sixth of the voice variants, one
rate and one pitch occur only in Validation sessions (every fifth session); about half the Validation sessions use the
held-out words and, independently, about half a held-out variant, so test holds seen and unseen items.
Same params, byte-identical zips. It replaces only its own dataset folder under ``--out``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.sample import audio as sample_audio
from callbot.sample.archives import ArchiveWriter, group_by_split_domain, write_dataset_tree
from callbot.sample.corpus import CorpusError, mapping, read_corpus_file, strings, template_fields

if TYPE_CHECKING:
    from callbot.sample.lexicon import Lexicon
    from callbot.sample.params import SampleParams

DATASET_DIR = "007.저음질 전화망 음성인식 데이터"
DATA_DIR = "01.데이터"
SPLIT_DIRS = {"Training": "1.Training", "Validation": "2.Validation"}
SOURCE_DIR = "원천데이터_230316"
LABEL_DIR = "라벨링데이터_230316"
CORPUS_FILE = "phone.yaml"
VALIDATION_EVERY = 5  # every fifth session goes to Validation (half of it becomes test in prepare)
HELDOUT_WORD_SHARE = 0.1
HELDOUT_VARIANT_SHARE = 0.15
TURNS = (2, 6)  # utterances per session
RANDOM_SHARE = 0.1  # random syllable strings
VARIED_WORDS = (2, 6)  # words of a varied-text sentence (sample.phone_random_words, phone_lexicon_sentences)
LEXICON_TAIL_SHARE = 0.5  # chance of each further tail on a lexicon word (head + tail + tail ...)
VARIED_PARAMS = {
    "words": "phone_random_words",
    "syllables": "phone_random_syllables",
    "lexicon": "phone_lexicon_sentences",
}
CORPUS_FILES = ("callcenter.yaml", "interview.yaml", "phone.yaml")
SCRAMBLE_SHARE = 0.4  # sentences whose chunks are reordered
FILLER_SHARE = 0.2
TAG_SHARE = 0.15
NUMBER_SLOTS = ("phone", "money", "count", "hour", "date", "year")
SPEAKER_TYPES = ("고객", "상담사")
# variants that never say a short answer: the call-centre set's held-out ones and the third voice the
# short-answer benchmark holds out (benchmarks/short_answers_bench.py), so they stay unheard there
SHORT_ANSWER_UNHEARD = frozenset({"f4", "m6", "m7"})
# a number expression with the counting unit it is read with: (3개)/(세 개), (010-1234-5678)/(...)
_NUMBER = re.compile(r"\d[\d\-]*(?:개|명|원|시|년|월|일)?")
_TAG = re.compile(r"(?<![\w/])[bnolu]/\s*")


@dataclass(frozen=True)
class Shape:
    chunks: tuple[str, ...]  # reorderable parts before the predicate
    end: str  # the predicate, always last


@dataclass(frozen=True)
class PhoneCorpus:
    words: dict[str, tuple[str, ...]]
    shapes: tuple[Shape, ...]
    jamo: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # initials, medials, finals
    fillers: tuple[str, ...]
    short_answers: tuple[str, ...]  # lone answers (네, 아니요): Training turns, the one repeated text
    tags: tuple[str, ...]
    domains: dict[str, tuple[str, tuple[str, ...]]]  # code -> (category, subcategories)
    variants: tuple[str, ...]
    rates: tuple[int, ...]
    pitches: tuple[int, ...]


def _shapes(value: Any, where: str, slots: set[str]) -> tuple[Shape, ...]:
    if not isinstance(value, list) or not value:
        raise CorpusError(f"{where}: expected a list of {{chunks, end}} mappings")
    shapes = []
    for i, raw in enumerate(value):
        item = mapping(raw, f"{where}[{i}]", ("chunks", "end"))
        chunks = item["chunks"] or []
        if not isinstance(chunks, list) or not all(isinstance(c, str) for c in chunks):
            raise CorpusError(f"{where}[{i}].chunks: expected a list of strings")
        shape = Shape(tuple(c.strip() for c in chunks), str(item["end"]).strip())
        unknown = [f for part in (*shape.chunks, shape.end) for f in template_fields(part) if f not in slots]
        if unknown:
            raise CorpusError(f"{where}[{i}]: unknown slot(s) {', '.join(unknown)}; known: {sorted(slots)}")
        shapes.append(shape)
    return tuple(shapes)


def _jamo(value: Any, where: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    item = mapping(value, where, ("initials", "medials", "finals"))
    initials = strings(item["initials"], f"{where}.initials", 5)
    medials = strings(item["medials"], f"{where}.medials", 5)
    finals = tuple(str(f) for f in item["finals"] or [])
    for name, found, table in (("initials", initials, _INITIALS), ("medials", medials, _MEDIALS)):
        bad = [j for j in found if j not in table]
        if bad:
            raise CorpusError(f"{where}.{name}: {bad} are not Hangul {name}")
    bad = [j for j in finals if j and j not in _FINALS]
    if bad or not finals:
        raise CorpusError(f"{where}.finals: expected a non-empty list of final jamo or '' (bad: {bad})")
    return initials, medials, finals


def _domains(value: Any, where: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    if not isinstance(value, dict) or not value:
        raise CorpusError(f"{where}: expected a mapping of D-code -> {{category, subcategories}}")
    domains = {}
    for code, raw in value.items():
        item = mapping(raw, f"{where}.{code}", ("category", "subcategories"))
        subs = strings(item["subcategories"], f"{where}.{code}.subcategories", 1)
        domains[str(code)] = (str(item["category"]).strip(), subs)
    return domains


def _numbers(value: Any, where: str, low: int, high: int) -> tuple[int, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and low <= v <= high for v in value)
    ):
        raise CorpusError(f"{where}: expected a list of integers in [{low}, {high}]")
    return tuple(value)


def _short_answers(value: Any, where: str) -> tuple[str, ...]:
    """Lone answers: Hangul words and spaces only (a transcript with no mark, tag or number)."""
    answers = strings(value, where, 1)
    bad = [a for a in answers if not re.fullmatch(r"[가-힣]+( [가-힣]+)*", a)]
    if bad:
        raise CorpusError(f"{where}: {bad} must be Hangul words separated by single spaces")
    return answers


def parse_corpus(data: Any, source: str = CORPUS_FILE) -> PhoneCorpus:
    """Check a loaded corpus file and build the :class:`PhoneCorpus`; errors name ``source`` and the key."""
    keys = ("licence", "words", "shapes", "syllables", "fillers", "short_answers", "noise_tags", "domains")
    item = mapping(data, source, (*keys, "variants", "rates", "pitches"))
    if not isinstance(item["words"], dict):
        raise CorpusError(f"{source}: words: expected a mapping of list name -> words")
    words = {str(k): strings(v, f"{source}: words.{k}", 5) for k, v in item["words"].items()}
    tags = strings(item["noise_tags"], f"{source}: noise_tags", 1)
    if any(t not in "bnolu" for t in tags):
        raise CorpusError(f"{source}: noise_tags: {tags} must be among b, n, o, l, u")
    return PhoneCorpus(
        words=words,
        shapes=_shapes(item["shapes"], f"{source}: shapes", set(words) | set(NUMBER_SLOTS)),
        jamo=_jamo(item["syllables"], f"{source}: syllables"),
        fillers=strings(item["fillers"], f"{source}: fillers", 1),
        short_answers=_short_answers(item["short_answers"], f"{source}: short_answers"),
        tags=tags,
        domains=_domains(item["domains"], f"{source}: domains"),
        variants=strings(item["variants"], f"{source}: variants", 4),
        rates=_numbers(item["rates"], f"{source}: rates", 80, 450),
        pitches=_numbers(item["pitches"], f"{source}: pitches", 0, 100),
    )


_INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_MEDIALS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_FINALS = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"


def load_corpus(path: Path | None = None) -> PhoneCorpus:
    """The corpus file (default: the packaged ``data/phone.yaml``), checked."""
    return parse_corpus(*read_corpus_file(CORPUS_FILE, path))


@lru_cache(maxsize=1)
def corpus() -> PhoneCorpus:
    return load_corpus()


# ---- content split --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneHoldOut:
    """What only Validation sessions may use: words per list and voice variants."""

    words: dict[str, frozenset[str]]
    variants: frozenset[str]
    rate: int  # a speaking rate and a pitch heard only in Validation, with the held-out variants
    pitch: int

    def pools(self, c: PhoneCorpus, unseen: bool) -> dict[str, tuple[str, ...]]:
        """Seen words of every list, or its held-out ones (the seen ones where none is held out)."""
        chosen = {}
        for name, values in c.words.items():
            held = self.words.get(name, frozenset())
            pick = tuple(v for v in values if (v in held) == unseen)
            chosen[name] = pick or tuple(v for v in values if v not in held)
        return chosen

    def all_words(self) -> frozenset[str]:
        return frozenset(w for held in self.words.values() for w in held)


def holdout(c: PhoneCorpus, seed: int) -> PhoneHoldOut:
    """The deterministic content split of ``c``: held-out words are inside no other text of the corpus,
    so "never in Training" can hold; held-out variants are a sixth of them."""
    rng = random.Random(f"phone-holdout:{seed}")
    texts = [w for ws in c.words.values() for w in ws]
    texts += [part for s in c.shapes for part in (*s.chunks, s.end)]
    words = {}
    for name, values in c.words.items():
        eligible = [v for v in values if len(v) >= 2 and not any(v in o for o in texts if o != v)]
        count = max(1, round(len(values) * HELDOUT_WORD_SHARE))
        words[name] = frozenset(rng.sample(eligible, min(count, len(eligible))))
    count = max(1, round(len(c.variants) * HELDOUT_VARIANT_SHARE))
    variants = frozenset(rng.sample(list(c.variants), count))
    return PhoneHoldOut(words, variants, rate=rng.choice(c.rates), pitch=rng.choice(c.pitches))


# ---- text -----------------------------------------------------------------------------------------


def number(kind: str, rng: random.Random) -> str:
    """A number as a transcriber writes it (digits), of one of NUMBER_SLOTS."""
    if kind == "phone":
        return rng.choice(
            (
                f"010-{rng.randint(0, 9999):04d}-{rng.randint(0, 9999):04d}",
                f"02-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
                f"1{rng.choice('56')}{rng.randint(44, 99)}-{rng.randint(0, 9999):04d}",
                rng.choice(("1339", "119", "112", "120", "114")),
            )
        )
    if kind == "money":
        return str(
            rng.choice((rng.randint(1, 99) * 100, rng.randint(1, 200) * 500, rng.randint(1, 50) * 10000))
        )
    if kind == "count":
        return str(rng.randint(1, 20))
    if kind == "hour":
        return str(rng.randint(1, 12))
    if kind == "date":
        return f"{rng.randint(1, 12)}월 {rng.randint(1, 28)}일"
    return str(rng.randint(1950, 2025))  # year


def dual_forms(text: str) -> str:
    """Every number expression written ``(spelling)/(pronunciation)``, as KsponSpeech transcribers do."""
    from callbot.text.numbers import verbalize_numbers

    return _NUMBER.sub(lambda m: f"({m.group(0)})/({verbalize_numbers(m.group(0))})", text)


def _fill(part: str, pools: dict[str, tuple[str, ...]], rng: random.Random) -> str:
    from callbot.sample.texts import attach_josa

    values = {
        name: number(name, rng) if name in NUMBER_SLOTS else rng.choice(pools[name])
        for name in template_fields(part)
    }
    return attach_josa(part.format(**values))


def random_syllables(c: PhoneCorpus, rng: random.Random) -> str:
    """Two to five pseudo-words of one to three syllables: sounds without any word behind them."""
    initials, medials, finals = c.jamo

    def syllable() -> str:
        i, m, f = rng.choice(initials), rng.choice(medials), rng.choice(finals)
        code = 0xAC00 + (_INITIALS.index(i) * 21 + _MEDIALS.index(m)) * 28 + (_FINALS.index(f) if f else 0)
        return chr(code)

    return " ".join("".join(syllable() for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(2, 5)))


def compose(c: PhoneCorpus, pools: dict[str, tuple[str, ...]], rng: random.Random) -> str:
    """One sentence as written (numbers as digits, no tags): a shape filled, maybe reordered."""
    if rng.random() < RANDOM_SHARE:
        return random_syllables(c, rng)
    shape = rng.choice(c.shapes)
    chunks = [_fill(part, pools, rng) for part in shape.chunks]
    if len(chunks) > 1 and rng.random() < SCRAMBLE_SHARE:
        rng.shuffle(chunks)
    return " ".join([*chunks, _fill(shape.end, pools, rng)])


def decorate(text: str, c: PhoneCorpus, rng: random.Random) -> str:
    """The transcript: dual forms, and sometimes a filler (어/) or a noise tag at an edge (b/ ... n/)."""
    words = text.split(" ")  # marks first: a dual form's pronunciation side holds spaces
    if rng.random() < FILLER_SHARE:
        words.insert(rng.randint(0, min(2, len(words) - 1)), f"{rng.choice(c.fillers)}/")
    if rng.random() < TAG_SHARE:
        tag = f"{rng.choice(c.tags)}/"
        words = [tag, *words] if rng.random() < 0.5 else [*words, tag]
    return dual_forms(" ".join(words))


def spoken(transcript: str) -> str:
    """What the speaker says: the pronunciation side, fillers said aloud, noise tags silent."""
    from callbot.text.normalize import resolve_dual_forms

    text = _TAG.sub("", resolve_dual_forms(transcript, "pronunciation"))
    return " ".join(text.replace("/", " ").split())


# ---- sessions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneVoice:
    variant: str
    rate: int
    pitch: int

    @property
    def id(self) -> str:
        """``m3-r160-p45``: the session JSON's speaker id."""
        return f"{self.variant}-r{self.rate}-p{self.pitch}"


@dataclass
class Session:
    number: int
    domain: str
    subcategory: str
    split: str  # Training | Validation
    voices: tuple[PhoneVoice, PhoneVoice]  # customer, agent
    unseen_words: bool = False
    turns: list[tuple[int, str]] = field(default_factory=list)  # (speaker index, transcript)

    @property
    def id(self) -> str:
        return f"S{self.number:06d}"

    def folder(self) -> str:
        return f"{self.domain}/{self.subcategory}/{self.id}"


def _voice(c: PhoneCorpus, held: PhoneHoldOut, unseen: bool, rng: random.Random) -> PhoneVoice:
    """A held-out variant at any rate and pitch, or a seen variant at a seen rate and pitch."""
    if unseen:
        return PhoneVoice(rng.choice(sorted(held.variants)), rng.choice(c.rates), rng.choice(c.pitches))
    return _seen_voice(c, held, rng)


def _seen_voice(
    c: PhoneCorpus, held: PhoneHoldOut, rng: random.Random, avoid: frozenset[str] = frozenset()
) -> PhoneVoice:
    """A variant neither held out nor in ``avoid``, at a seen rate and pitch."""
    variants = [v for v in c.variants if v not in held.variants and v not in avoid]
    rates = [r for r in c.rates if r != held.rate] or list(c.rates)
    pitches = [p for p in c.pitches if p != held.pitch] or list(c.pitches)
    return PhoneVoice(rng.choice(variants), rng.choice(rates), rng.choice(pitches))


def _sentence(
    c: PhoneCorpus, held: PhoneHoldOut, session: Session, taken: set[str], rng: random.Random
) -> str:
    """A transcript no other session has; a Training one holds no held-out word."""
    pools = held.pools(c, session.unseen_words)
    forbidden = held.all_words() if session.split == "Training" else frozenset()
    for _ in range(200):
        text = compose(c, pools, rng)
        if text not in taken and not any(w in text for w in forbidden):
            taken.add(text)
            return decorate(text, c, rng)
    raise CorpusError(
        f"{CORPUS_FILE}: 200 draws gave no new sentence; the grammar is too small for this size"
    )


def build_sessions(params: SampleParams, c: PhoneCorpus | None = None) -> list[Session]:
    """Sessions until ``params.phone_sentences`` utterances exist; deterministic in ``params.seed``."""
    c = c or corpus()
    held = holdout(c, params.seed)
    codes = sorted(c.domains)
    sessions: list[Session] = []
    taken: set[str] = set(c.short_answers)  # no sentence may read as a lone answer
    total, number_ = 0, 0
    while total < params.phone_sentences:
        number_ += 1
        rng = random.Random(f"phone:{params.seed}:{number_}")
        split = "Validation" if number_ % VALIDATION_EVERY == 0 else "Training"
        validation = split == "Validation"
        unseen_words, unseen_voice = validation and rng.random() < 0.5, validation and rng.random() < 0.5
        domain = codes[number_ % len(codes)]
        voices = (_voice(c, held, unseen_voice, rng), _voice(c, held, unseen_voice, rng))
        session = Session(number_, domain, rng.choice(c.domains[domain][1]), split, voices, unseen_words)
        for turn in range(min(rng.randint(*TURNS), params.phone_sentences - total)):
            session.turns.append((turn % 2, _sentence(c, held, session, taken, rng)))
        total += len(session.turns)
        sessions.append(session)
    add_short_answers(sessions, c, params)
    add_varied_sessions(sessions, c, params, taken)
    return sessions


def add_short_answers(sessions: list[Session], c: PhoneCorpus, params: SampleParams) -> None:
    """``params.phone_short_answers`` lone answers inserted into Training sessions at random places, by
    a seen voice, from a random stream of their own: every other turn stays as it was."""
    rng = random.Random(f"phone-short:{params.seed}")
    hosts = [
        (s, speaker)
        for s in sessions
        if s.split == "Training"
        for speaker in (0, 1)
        if s.voices[speaker].variant not in SHORT_ANSWER_UNHEARD
    ]
    if params.phone_short_answers and not hosts:
        raise CorpusError(f"{CORPUS_FILE}: no Training session has a voice that may say a short answer")
    for _ in range(params.phone_short_answers):
        session, speaker = rng.choice(hosts)
        at = rng.randint(0, len(session.turns))
        session.turns.insert(at, (speaker, rng.choice(c.short_answers)))


def seen_tokens(c: PhoneCorpus, held: PhoneHoldOut) -> tuple[str, ...]:
    """Every word (space-separated token) of the word lists' seen entries: no held-out word among them."""
    return tuple(
        sorted({t for values in held.pools(c, unseen=False).values() for v in values for t in v.split()})
    )


def corpus_texts() -> str:
    """Every sample corpus file's text, joined: a lexicon head found in it is left out (a held-out word of
    any corpus must not reach Training through the lexicon, and the lexicon adds only new words)."""
    from importlib import resources

    folder = resources.files("callbot.sample") / "data"
    return "\n".join((folder / name).read_text(encoding="utf-8") for name in CORPUS_FILES)


def lexicon_sentence(lexicon: Lexicon, rng: random.Random) -> str:
    """Two to six words, each a lexicon head, half of them with a tail (particle, ending, syllable)."""
    words = []
    for _ in range(rng.randint(*VARIED_WORDS)):
        word = rng.choice(lexicon.heads)
        while rng.random() < LEXICON_TAIL_SHARE and len(word) < 6:
            word += rng.choice(lexicon.tails)
        words.append(word)
    return " ".join(words)


def _varied_text(kind: str, c: PhoneCorpus, tokens: tuple[str, ...], rng: random.Random) -> str:
    if kind == "syllables":
        return random_syllables(c, rng)
    if kind == "lexicon":
        return lexicon_sentence(_lexicon(), rng)
    return " ".join(rng.choice(tokens) for _ in range(rng.randint(*VARIED_WORDS)))


@lru_cache(maxsize=1)
def _lexicon() -> Lexicon:
    from callbot.sample.lexicon import package_lexicon

    return package_lexicon().without(corpus_texts())


def varied_texts(
    kind: str, count: int, c: PhoneCorpus, held: PhoneHoldOut, taken: set[str], seed: int
) -> list[str]:
    """``count`` new texts of ``kind`` (words: seen words in random order; syllables: pseudo-words;
    lexicon: words of :func:`lexicon_sentence`), from
    a random stream of their own; none is in ``taken`` or holds a held-out word (``taken`` grows)."""
    rng = random.Random(f"phone-{kind}:{seed}")
    tokens, forbidden, out = seen_tokens(c, held), held.all_words(), []
    for _ in range(count):
        for _ in range(200):
            text = _varied_text(kind, c, tokens, rng)
            if text not in taken and not any(w in text for w in forbidden):
                break
        else:
            raise CorpusError(
                f"{CORPUS_FILE}: 200 draws gave no new {kind} text; lower sample.{VARIED_PARAMS[kind]}"
            )
        taken.add(text)
        out.append(text)
    return out


def add_varied_sessions(
    sessions: list[Session], c: PhoneCorpus, params: SampleParams, taken: set[str]
) -> None:
    """Training sessions of ``params.phone_random_words`` word sentences, then of
    ``params.phone_random_syllables`` pseudo-word strings, then of ``params.phone_lexicon_sentences``
    lexicon sentences, numbered after every other session and spoken by seen voices (never
    :data:`SHORT_ANSWER_UNHEARD`): every earlier session stays as it was."""
    held = holdout(c, params.seed)
    codes = sorted(c.domains)
    for kind, name in VARIED_PARAMS.items():
        count = getattr(params, name)
        texts = varied_texts(kind, count, c, held, taken, params.seed)
        rng = random.Random(f"phone-{kind}-sessions:{params.seed}")
        while texts:
            number = sessions[-1].number + 1 if sessions else 1
            domain = codes[number % len(codes)]
            voices = (
                _seen_voice(c, held, rng, SHORT_ANSWER_UNHEARD),
                _seen_voice(c, held, rng, SHORT_ANSWER_UNHEARD),
            )
            session = Session(number, domain, rng.choice(c.domains[domain][1]), "Training", voices)
            size = rng.randint(*TURNS)
            session.turns = [(turn % 2, text) for turn, text in enumerate(texts[:size])]
            texts = texts[size:]
            sessions.append(session)


# ---- audio ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneClip:
    """One utterance to speak and send down the line; its key seeds the line's noise and levels."""

    key: str
    text: str  # spoken form
    voice: PhoneVoice
    lead: str  # noise tag before the words ('' if none)
    tail: str  # noise tag after them
    speech: bool
    margin: bool = False  # line silence around the words (a lone answer alone is shorter than a click)

    def build(self) -> bytes:
        from callbot.tts.channel import PHONE_RATE, phone_channel

        rng = np.random.default_rng(int.from_bytes(hashlib.blake2b(self.key.encode()).digest()[:8], "big"))
        if self.speech:
            from callbot.tts.espeak import Utterance, synthesize_fresh

            voice = self.voice
            pcm, rate = synthesize_fresh(
                [Utterance(self.text, voice.rate, voice.pitch, f"ko+{voice.variant}")]
            )[0]
        else:  # a short tone inside the telephone band (the 16 kHz stubs' 150-300 Hz would be filtered out)
            rate = sample_audio.SAMPLE_RATE
            t = np.arange(int(rng.uniform(*sample_audio.STUB_MS) * rate / 1000)) / rate
            pcm = np.rint(16000 * np.sin(2 * np.pi * rng.uniform(500, 1500) * t)).astype(np.int16)
        if self.margin:  # 0.15-0.4 s before and after: a turn recorded from the line, not cut at the word
            pcm = np.concatenate([np.zeros(int(rng.uniform(0.15, 0.4) * rate), pcm.dtype), pcm])
            pcm = np.concatenate([pcm, np.zeros(int(rng.uniform(0.15, 0.4) * rate), pcm.dtype)])
        y = line_conditions(pcm.astype(np.float64) / 32768.0, rate, self.lead, self.tail, rng)
        narrow, _ = phone_channel(y, rate)
        samples = np.clip(np.rint(narrow.astype(np.float64) * 32767), -32768, 32767).astype(np.int16)
        return sample_audio.wav_bytes(samples, PHONE_RATE)


def line_conditions(y: np.ndarray, rate: int, lead: str, tail: str, rng: np.random.Generator) -> np.ndarray:
    """A caller's level (changing mid-utterance), tagged noises at the edges, line hiss and mains hum."""
    gain = rng.uniform(0.12, 0.4)  # espeak-ng peaks near full scale; +6 dB below stays unclipped
    step = 10 ** (rng.uniform(-6, 6) / 20)  # a level change: the handset moves
    at, ramp = int(rng.uniform(0.3, 0.7) * y.size), max(1, int(0.05 * rate))
    envelope = np.ones_like(y)
    envelope[at:] = step
    envelope[at : at + ramp] = np.linspace(1.0, step, min(ramp, max(0, y.size - at)))
    y = y * gain * envelope
    level = float(np.sqrt(np.mean(y**2))) if y.size else 0.0

    def burst(tag: str) -> np.ndarray:
        if not tag:
            return np.zeros(0)
        n = int(rng.uniform(0.15, 0.35) * rate)
        shape = np.hanning(n) * (0.4 if tag == "b" else 1.0)  # breath is softer than a noise
        return rng.normal(0.0, max(level, 1e-3), n) * shape

    y = np.concatenate([burst(lead), y, burst(tail)])
    snr = 10 ** (rng.uniform(15, 35) / 20)
    t = np.arange(y.size) / rate
    hum = 0.2 * np.sin(2 * np.pi * 60.0 * t + rng.uniform(0, 2 * np.pi))
    return y + (rng.normal(0.0, 1.0, y.size) + hum) * max(level, 1e-3) / snr


def _build_clip(clip: PhoneClip) -> bytes:
    return clip.build()


def _clips(sessions: list[Session], speech: bool) -> list[tuple[Session, int, str, PhoneClip]]:
    answers = frozenset(corpus().short_answers)
    out = []
    for s in sessions:
        for index, (speaker, transcript) in enumerate(s.turns, start=1):
            words = transcript.split(" ")
            lead = words[0][0] if _TAG.fullmatch(words[0]) else ""
            tail = words[-1][0] if len(words) > 1 and _TAG.fullmatch(words[-1]) else ""
            clip = PhoneClip(
                f"{s.id}_{index:04d}",
                spoken(transcript),
                s.voices[speaker],
                lead,
                tail,
                speech,
                transcript in answers,
            )
            out.append((s, index, transcript, clip))
    return out


# ---- tree -----------------------------------------------------------------------------------------


def _gender(variant: str) -> str:
    """여 or 남, from the espeak-ng variant file's ``gender`` line (no line: espeak-ng's male default)."""
    import espeakng_loader

    path = os.path.join(espeakng_loader.get_data_path(), "voices", "!v", variant)
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if parts[:1] == ["gender"] and len(parts) > 1:
                    return "여" if parts[1].lower() == "female" else "남"
    except OSError:
        pass
    return "남"


def session_json(s: Session, durations: list[float], c: PhoneCorpus) -> dict[str, Any]:
    """The session label: speakers (id = voice id), and one dialog per utterance."""
    rng = random.Random(f"phone-speakers:{s.id}")
    speakers = [
        {
            "id": v.id,
            "type": SPEAKER_TYPES[i],
            "gender": _gender(v.variant),
            "age": rng.choice(("20대", "30대", "40대", "50대", "60대")),
            "telephone_network": rng.choice(("유선", "무선", "인터넷")),
        }
        for i, v in enumerate(s.voices)
    ]
    dialogs = [
        {
            "speaker": s.voices[speaker].id,
            "audioPath": f"{s.folder()}/{index:04d}.wav",
            "duration": round(duration, 3),
            "text": transcript,
        }
        for index, ((speaker, transcript), duration) in enumerate(
            zip(s.turns, durations, strict=True), start=1
        )
    ]
    info = {"category": c.domains[s.domain][0], "subcategory": s.subcategory, "speakers": speakers}
    return {"dataSet": {"typeInfo": info, "dialogs": dialogs}}


@dataclass
class PhoneReport:
    out: Path
    sessions: Counter[str] = field(default_factory=Counter)  # per split
    utterances: Counter[str] = field(default_factory=Counter)
    archives: int = 0
    seconds: float = 0.0


def _write_group(
    base: Path, tag: str, domain: str, members: list[Session], params: SampleParams, report: PhoneReport
) -> None:
    """One TS/TL (or VS/VL) archive pair of a domain."""
    from callbot.sample.interview import fork_map
    from callbot.tts.channel import PHONE_RATE

    text_source = corpus()
    source = ArchiveWriter(base / SOURCE_DIR / f"{tag}S_{domain}.zip")
    labels = ArchiveWriter(base / LABEL_DIR / f"{tag}L_{domain}.zip")
    clips = _clips(members, params.audio == "speech")
    workers = params.workers or os.cpu_count() or 1
    durations: dict[str, list[float]] = {}
    quirky = not params.clean and tag == "T"
    with fork_map(
        _build_clip, [clip for *_, clip in clips], workers, speech=params.audio == "speech", chunk=8
    ) as built:
        for (session, index, transcript, _), data in zip(clips, built, strict=True):
            name = f"{session.folder()}/{index:04d}"
            source.add(f"{name}.wav", data)
            text = transcript.encode("utf-8")
            if quirky and index == 1 and session is members[0]:
                text = b"\xef\xbb\xbf" + text  # quirk: a BOM, as Windows editors write it
            elif quirky and index == 1 and session is members[-1]:
                text = transcript.encode("cp949")  # quirk: KsponSpeech-style CP949 transcript
            labels.add(f"{name}.txt", text)
            durations.setdefault(session.id, []).append((len(data) - 44) / 2 / PHONE_RATE)
            report.utterances[session.split] += 1
    for session in members:
        label = session_json(session, durations[session.id], text_source)
        data = json.dumps(label, ensure_ascii=False, indent=1)
        labels.add(f"{session.folder()}/{session.id}.json", data.encode("utf-8"))
    source.close(params.part_size)
    labels.close(params.part_size)
    report.archives += 2
    report.sessions[members[0].split] += len(members)


def write_phone_tree(params: SampleParams) -> Path:
    """Write the phone-line dataset folder under ``params.out``; returns that folder.

    Only ``<out>/007.저음질 전화망 음성인식 데이터`` is replaced (built beside it, then renamed).
    """
    from callbot.console import summary

    started = time.perf_counter()
    report = PhoneReport(out=Path(params.out) / DATASET_DIR)

    def write_group(tmp: Path, split: str, domain: str, members: list[Session]) -> None:
        _write_group(tmp / DATA_DIR / SPLIT_DIRS[split], split[0], domain, members, params, report)

    groups = group_by_split_domain(build_sessions(params))
    final = write_dataset_tree(Path(params.out), DATASET_DIR, groups, write_group)
    report.seconds = time.perf_counter() - started
    summary(
        "sample",
        f"phone: {sum(report.sessions.values())} sessions (Training {report.sessions['Training']}, "
        f"Validation {report.sessions['Validation']}), {sum(report.utterances.values())} utterances "
        f"({params.audio}, 8 kHz line) in {report.archives} archives -> {final} in {report.seconds:.1f} s",
    )
    return final
