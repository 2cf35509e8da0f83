"""The product's acceptance test: callers' questions worded outside this project, typed and spoken.

Why: evaluate-bot scores the generator's own held-out wording, which shares the generator's habits.
This set (``data/acceptance.yaml``) was written by hand, never feeds training, tuning or selection,
and is spoken in voices no sample generator uses, so its numbers say what a new caller gets.

The bot is given as callables (:class:`Bot`), so the same scoring runs over HTTP against a served
Bento (``benchmarks/acceptance_bench.py``) or in process. A confirm turn ("…찾으시는 건가요?") is
answered truthfully, typed or spoken like the question, and the call counts its turns. Every figure
stands beside a baseline from the same run: always hand over (replies), empty transcript (STT).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "AcceptanceError",
    "AcceptanceSet",
    "Bot",
    "Call",
    "Question",
    "Reply",
    "Script",
    "Voice",
    "load_set",
    "read_reply",
    "run_acceptance",
]

SET_FILE = Path(__file__).parent / "data" / "acceptance.yaml"
HANDOVER = "handover"  # `expect` of a question with no script; also an action and an outcome
RIGHT, WRONG = "right", "wrong"
ACTIONS = ("answer", "confirm", HANDOVER)
YES, NO = "네", "아니요"
MAX_TURNS = 3  # a call still confirming after this many turns is counted as handed over
CHANNELS = ("16k", "8k")
SPEECH_RATE = 16000
VOICE_GAIN = 0.45  # as the sample generators: espeak-ng peaks near full scale
_DIGIT = re.compile(r"\d")


class AcceptanceError(ValueError):
    """The acceptance set or a bot's reply is not what the scorer can judge; the message says where."""


@dataclass(frozen=True)
class Question:
    """A caller's question: typed ``text``, spoken ``say`` (the STT reference), the right intent."""

    text: str
    expect: str  # an intent name of callcenter.yaml, or HANDOVER
    say: str

    @property
    def in_scope(self) -> bool:
        return self.expect != HANDOVER


@dataclass(frozen=True)
class Voice:
    """An espeak-ng speaker: ``ko`` or ``ko+<variant>``, words per minute, pitch."""

    voice: str
    rate: int
    pitch: int

    @property
    def id(self) -> str:
        return f"{self.voice.replace(' ', '_')}-r{self.rate}-p{self.pitch}"


@dataclass(frozen=True)
class AcceptanceSet:
    questions: tuple[Question, ...]
    sentences: tuple[str, ...]
    voices: tuple[Voice, ...]


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AcceptanceError(f"{where}: expected non-empty text, got {value!r}")
    return value.strip()


def _spoken(value: Any, where: str) -> str:
    text = _text(value, where)
    if _DIGIT.search(text):
        raise AcceptanceError(f"{where}: {text!r} holds digits; write numbers as Korean words (add `say`)")
    return text


def _question(raw: Any, where: str) -> Question:
    if not isinstance(raw, dict) or not {"text", "expect"} <= raw.keys():
        raise AcceptanceError(f"{where}: expected a mapping with text and expect (and optional say)")
    unknown = sorted(set(raw) - {"text", "expect", "say"})
    if unknown:
        raise AcceptanceError(f"{where}: unknown key(s) {unknown}; use text, expect, say")
    text = _text(raw["text"], f"{where}.text")
    say = _spoken(raw.get("say", text), f"{where}.say" if "say" in raw else f"{where}.text")
    return Question(text=text, expect=_text(raw["expect"], f"{where}.expect"), say=say)


def _voice(raw: Any, where: str) -> Voice:
    from callbot.tts.espeak import PITCH_RANGE, RATE_RANGE

    if not isinstance(raw, dict) or set(raw) != {"voice", "rate", "pitch"}:
        raise AcceptanceError(f"{where}: expected exactly voice, rate, pitch")
    for key, (low, high) in (("rate", RATE_RANGE), ("pitch", PITCH_RANGE)):
        value = raw[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise AcceptanceError(f"{where}.{key}: expected an integer in {low}..{high}, got {value!r}")
    voice = _text(raw["voice"], f"{where}.voice")
    if voice != "ko" and not voice.startswith("ko+"):
        raise AcceptanceError(f"{where}.voice: expected ko or ko+<variant>, got {voice!r}")
    return Voice(voice, raw["rate"], raw["pitch"])


def _items(data: dict[str, Any], key: str, source: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise AcceptanceError(f"{source}: {key}: expected a non-empty list")
    return value


def parse_set(data: Any, source: str = str(SET_FILE)) -> AcceptanceSet:
    """Check a loaded acceptance file; every error names the file and the item."""
    if not isinstance(data, dict):
        raise AcceptanceError(f"{source}: expected a mapping with voices, questions, sentences")
    questions = tuple(
        _question(raw, f"{source}: questions[{i}]") for i, raw in enumerate(_items(data, "questions", source))
    )
    sentences = tuple(
        _spoken(raw, f"{source}: sentences[{i}]") for i, raw in enumerate(_items(data, "sentences", source))
    )
    voices = tuple(
        _voice(raw, f"{source}: voices[{i}]") for i, raw in enumerate(_items(data, "voices", source))
    )
    seen: set[str] = set()
    for i, q in enumerate(questions):
        if q.text in seen:
            raise AcceptanceError(f"{source}: questions[{i}]: {q.text!r} appears twice")
        seen.add(q.text)
    return AcceptanceSet(questions, sentences, voices)


def load_set(path: Path | None = None) -> AcceptanceSet:
    """The acceptance file (default: the packaged ``data/acceptance.yaml``), checked."""
    import yaml

    path = path or SET_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AcceptanceError(f"{path}: cannot read the acceptance set ({exc})") from exc
    except yaml.YAMLError as exc:
        raise AcceptanceError(f"{path}: not valid YAML ({exc})") from exc
    return parse_set(data, str(path))


@dataclass(frozen=True)
class Script:
    """What the right answers sound like: each intent's scripted answer, and the transfer sentence."""

    answers: dict[str, str]
    transfer: str


def callcenter_script(path: Path | None = None) -> Script:
    """The scripted answers of every in-scope intent of the call-centre corpus."""
    from callbot.sample.callcenter import load_corpus

    c = load_corpus(path)
    answers = {i.name: i.answer for intents in c.domains.values() for i in intents}
    return Script(answers=answers, transfer=c.transfer)


def check_intents(s: AcceptanceSet, script: Script) -> None:
    """Refuse a set whose expected intents the corpus does not have (a renamed intent, a typo)."""
    unknown = [
        (i, q.expect) for i, q in enumerate(s.questions) if q.in_scope and q.expect not in script.answers
    ]
    if unknown:
        where = ", ".join(f"questions[{i}] expects {name!r}" for i, name in unknown)
        raise AcceptanceError(f"{where}: no such intent in callcenter.yaml; use its `name` or {HANDOVER!r}")


# ---- speech ---------------------------------------------------------------------------------------


def speak(text: str, voice: Voice) -> np.ndarray:
    """``text`` spoken by ``voice``: int16 at 16 kHz, the same samples on every run."""
    from callbot.tts.espeak import Utterance, resample, synthesize_fresh

    (audio, rate) = synthesize_fresh([Utterance(text, voice.rate, voice.pitch, voice.voice)])[0]
    return resample(audio, rate, SPEECH_RATE, VOICE_GAIN)


def on_channel(samples16k: np.ndarray, channel: str) -> tuple[np.ndarray, int]:
    """The audio a caller's words arrive as: 16 kHz as spoken, or through the G.711 8 kHz line."""
    if channel == "16k":
        return samples16k, SPEECH_RATE
    if channel != "8k":
        raise ValueError(f"unknown channel {channel!r}; expected one of {CHANNELS}")
    from callbot.tts.channel import phone_channel

    line, rate = phone_channel(samples16k, SPEECH_RATE)
    return np.clip(np.rint(line * 32767.0), -32768, 32767).astype(np.int16), rate


# ---- replies and calls ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What a /reply answer means to the caller, whichever version of the payload carried it."""

    action: str  # answer | confirm | handover
    intents: tuple[str, ...]
    text: str
    payload: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def read_reply(payload: Any) -> Reply:
    """Read a /reply payload defensively: ``action`` if it has one, else ``guarded`` means handover.

    ``intent`` may be one name or several ``|``-joined (an answer shared by intents).
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        raise AcceptanceError(f"/reply answered {str(payload)[:200]!r}; expected a JSON object with `text`")
    action = payload.get("action")
    if action not in ACTIONS:
        action = HANDOVER if payload.get("guarded") else "answer"
    intent = payload.get("intent")
    names = intent if isinstance(intent, list) else str(intent or "").split("|")
    return Reply(action, tuple(str(n).strip() for n in names if str(n).strip()), payload["text"], payload)


def judge(question: Question, reply: Reply, script: Script) -> str:
    """``right``, ``wrong`` or ``handover``; for a no-script question a handover is right.

    What the caller hears decides: the expected script is right, another script is wrong whatever
    ``intent`` claims; only a text that is no script (a generated answer) is judged by ``intent``.
    """
    handed_over = reply.action == HANDOVER or reply.text.strip() == script.transfer
    if not question.in_scope:
        return RIGHT if handed_over else WRONG
    if handed_over:
        return HANDOVER
    if script.answers.get(question.expect, "\0") in reply.text:
        return RIGHT
    if any(answer in reply.text for answer in script.answers.values()):
        return WRONG
    return RIGHT if question.expect in reply.intents else WRONG


def truthful(question: Question, reply: Reply) -> str:
    """The caller's honest yes/no to a confirm turn: yes only when it names the caller's intent."""
    if not reply.intents:
        raise AcceptanceError(
            f"a confirm turn ({reply.text[:60]!r}) without `intent`: the caller cannot answer it truthfully"
        )
    return YES if question.expect in reply.intents else NO


def assistant_turn(reply: Reply) -> dict[str, Any]:
    """The bot's turn as /reply wants it back in `history`: its words with their signature."""
    turn = {"role": "assistant", "content": reply.text}
    if "signature" in reply.payload:
        turn["signature"] = reply.payload["signature"]
    return turn


@dataclass(frozen=True)
class Call:
    outcome: str
    turns: int
    heard: tuple[str, ...]  # what the bot got each turn (the transcripts, when spoken)
    final: Reply


ReplyFn = Callable[[str, list[dict[str, Any]]], dict[str, Any]]


def run_call(
    question: Question, first: str, reply: ReplyFn, answer: Callable[[str], str], script: Script
) -> Call:
    """One call: ``first`` (typed text or transcript) to the bot, then each confirm answered truthfully.

    ``answer`` turns the caller's 네/아니요 into what the bot receives (itself when typed; spoken and
    transcribed when the call is spoken). Still confirming after MAX_TURNS counts as a handover.
    """
    heard, history = [first], []
    result = read_reply(reply(first, []))
    while result.action == "confirm" and len(heard) < MAX_TURNS:
        history += [{"role": "user", "content": heard[-1]}, assistant_turn(result)]
        heard.append(answer(truthful(question, result)))
        result = read_reply(reply(heard[-1], list(history)))
    if result.action == "confirm":
        result = Reply(HANDOVER, result.intents, result.text, result.payload)
    return Call(judge(question, result, script), len(heard), tuple(heard), result)


# ---- figures --------------------------------------------------------------------------------------


def summarise(questions: Sequence[Question], outcomes: Sequence[str], turns: Sequence[int]) -> dict[str, Any]:
    """Counts and rates: in-scope right / wrong / handover, no-script handed over, turns per call."""
    if not len(questions) == len(outcomes) == len(turns) or not questions:
        raise ValueError(f"{len(questions)} questions, {len(outcomes)} outcomes, {len(turns)} turn counts")
    inside = [o for q, o in zip(questions, outcomes, strict=True) if q.in_scope]
    outside = [o for q, o in zip(questions, outcomes, strict=True) if not q.in_scope]

    def share(count: int, total: int) -> float | None:
        return round(count / total, 4) if total else None

    return {
        "calls": len(questions),
        "in_scope": len(inside),
        "right": inside.count(RIGHT),
        "wrong": inside.count(WRONG),
        "handover": inside.count(HANDOVER),
        "success": share(inside.count(RIGHT), len(inside)),
        "no_script": len(outside),
        "no_script_handed_over": share(outside.count(RIGHT), len(outside)),
        "wrong_answer_rate": share(inside.count(WRONG) + outside.count(WRONG), len(questions)),
        "mean_turns": round(sum(turns) / len(turns), 3),
        "two_turn_calls": sum(t > 1 for t in turns),
    }


def always_handover(questions: Sequence[Question]) -> dict[str, Any]:
    """The baseline bot that hands every call over, scored by the same bookkeeping."""
    outcomes = [HANDOVER if q.in_scope else RIGHT for q in questions]
    return summarise(questions, outcomes, [1] * len(questions))


def reference(text: str) -> str:
    """The STT reference and hypothesis form: normalised, numbers as words, no punctuation."""
    from callbot.text.normalize import normalize_text

    return normalize_text(text, dual_form="pronunciation", drop_fillers=False, numbers_as_words=True)


def stt_cer(refs: Sequence[str], hyps: Sequence[str]) -> dict[str, float]:
    """CER (spaces ignored) of the transcripts and of the empty transcript, the floor any STT must beat."""
    from callbot.text.metrics import cer

    refs_n, hyps_n = [reference(r) for r in refs], [reference(h) for h in hyps]
    return {
        "cer": round(cer(refs_n, hyps_n, spaces=False), 4),
        "empty_transcript_cer": round(cer(refs_n, [""] * len(refs_n), spaces=False), 4),
        "utterances": len(refs_n),
    }


# ---- the run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bot:
    """The product as the caller meets it: ``transcribe(samples, rate) -> text``, ``reply(text, history)``."""

    transcribe: Callable[[np.ndarray, int], str]
    reply: ReplyFn


def run_typed(s: AcceptanceSet, bot: Bot, script: Script) -> tuple[dict[str, Any], list[Call]]:
    """Every question typed to the bot (a confirm answered by typing 네/아니요)."""
    calls = [run_call(q, q.text, bot.reply, lambda yes_no: yes_no, script) for q in s.questions]
    return summarise(s.questions, [c.outcome for c in calls], [c.turns for c in calls]), calls


def run_spoken(
    s: AcceptanceSet, bot: Bot, script: Script, voice: Voice, channel: str
) -> tuple[list[Call], list[str]]:
    """Every question spoken by ``voice`` on ``channel`` (so is a confirm's 네/아니요), and every
    everyday sentence transcribed: the calls, and the sentences' transcripts."""

    def hear(text: str) -> str:
        return bot.transcribe(*on_channel(speak(text, voice), channel))

    calls = [run_call(q, hear(q.say), bot.reply, hear, script) for q in s.questions]
    return calls, [hear(sentence) for sentence in s.sentences]


def spoken_figures(s: AcceptanceSet, calls: list[Call], heard: list[str]) -> dict[str, Any]:
    """Reply figures and STT CER (questions, everyday sentences) of one or more spoken runs."""
    copies = len(calls) // len(s.questions)
    questions = list(s.questions) * copies
    return {
        "replies": summarise(questions, [c.outcome for c in calls], [c.turns for c in calls]),
        "stt_questions": stt_cer([q.say for q in questions], [c.heard[0] for c in calls]),
        "stt_sentences": stt_cer(list(s.sentences) * copies, heard),
    }


def run_acceptance(
    s: AcceptanceSet, bot: Bot, script: Script, channels: Iterable[str] = CHANNELS, spoken: bool = True
) -> dict[str, Any]:
    """The whole acceptance run: typed, then spoken per channel and voice, with baselines beside."""
    check_intents(s, script)
    typed, typed_calls = run_typed(s, bot, script)
    result: dict[str, Any] = {
        "items": {
            "questions": len(s.questions),
            "in_scope": sum(q.in_scope for q in s.questions),
            "no_script": sum(not q.in_scope for q in s.questions),
            "sentences": len(s.sentences),
            "voices": [v.id for v in s.voices],
        },
        "typed": typed,
        "baseline_always_handover": always_handover(s.questions),
        "spoken": {},
        "per_item": [
            {"text": q.text, "expect": q.expect, "typed": c.outcome, "turns": c.turns, "spoken": {}}
            for q, c in zip(s.questions, typed_calls, strict=True)
        ],
    }
    for channel in channels if spoken else ():
        runs = {v.id: run_spoken(s, bot, script, v, channel) for v in s.voices}
        pooled_calls = [c for calls, _ in runs.values() for c in calls]
        pooled_heard = [h for _, heard in runs.values() for h in heard]
        result["spoken"][channel] = {
            "all": spoken_figures(s, pooled_calls, pooled_heard),
            "by_voice": {vid: spoken_figures(s, calls, heard) for vid, (calls, heard) in runs.items()},
        }
        for vid, (calls, _) in runs.items():
            for item, call in zip(result["per_item"], calls, strict=True):
                item["spoken"][f"{channel}/{vid}"] = {"outcome": call.outcome, "heard": list(call.heard)}
    return result


# ---- how far outside the project the set is --------------------------------------------------------


def corpus_texts(folder: Path | None = None) -> list[str]:
    """Every string of every sample corpus file (templates, slot values, word lists, answers)."""
    import yaml

    folder = folder or Path(__file__).resolve().parents[1] / "sample" / "data"
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(key)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted(folder.glob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


def corpus_overlap(sentences: Iterable[str], texts: Sequence[str]) -> dict[str, int]:
    """How many words (eojeol) of ``sentences`` occur as a word of any corpus text, and how many
    occur anywhere inside one (a stricter count: 아이 inside 아이가)."""
    from callbot.text.normalize import normalise

    words = [normalise(w) for s in sentences for w in s.split()]
    words = [w for w in words if w]
    vocabulary = {normalise(w) for t in texts for w in t.split()}
    joined = "\n".join(normalise(t) for t in texts)
    return {
        "words": len(words),
        "as_a_corpus_word": sum(w in vocabulary for w in words),
        "inside_a_corpus_text": sum(w in joined for w in words),
    }
