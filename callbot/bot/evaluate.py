"""`callbot evaluate-bot`: the product's measure, the call, on questions and voices unseen in training.

Every held-out spoken caller question of the call-centre set (validation and test) goes through the
code the Bento runs: the audio (as recorded, and through a G.711 telephone channel at 8 kHz) is
brought to 16 kHz, transcribed by the served STT export, and answered by each LLM candidate's
:class:`callbot.llm.infer.Responder` (router + guard). An in-scope question succeeds with its
scripted answer, an out-of-scope one with a handover; any other scripted answer is a *wrong answer*,
the outcome a public-health line must avoid.

Each turn goes through the dialogue policy (:mod:`callbot.dialogue.policy`): answer, confirm or hand
over. When the bot confirms, the caller's yes/no is synthesised like the question (espeak-ng, the
same voice, the same channel), transcribed by the same STT, and true to the caller's intent, so a
call takes one to three turns. Per candidate the policy's thresholds are calibrated on validation
to ``bot.wrong_answer_target`` (:mod:`callbot.bot.scoring`) and the test split is scored once with
them. Figures are split by channel, by whether the caller's voice and wording occur in training,
and by intent. Baselines from the same run: retrieval alone (nearest training question, no LLM),
always handing over, and each candidate on the reference text (what a perfect STT would give).

This stage picks no winner: ``callbot select`` does, once, from these validation figures.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.atomic import write_json, write_text
from callbot.bot.scoring import HANDOVER, RIGHT, Scored, Table, calibrate
from callbot.console import progress, summary
from callbot.contracts import BotMetrics, write_bot_metrics
from callbot.dialogue.policy import (
    NO_PHRASES,
    NOT_ANSWERS,
    YES_PHRASES,
    Screen,
    Thresholds,
    grammar_answer,
    screen,
    yes_no,
)
from callbot.intent import Ranking
from callbot.prepare.adapters import datasets_feeding
from callbot.text.normalize import normalise

if TYPE_CHECKING:
    from callbot.bot.params import BotParams, PolicyParams
    from callbot.llm.infer import Responder

CHANNEL_NAMES = {16000: "16k", 8000: "8k"}
_COLUMNS = (
    "utterance_id", "interview_id", "dataset", "domain", "speaker", "role", "turn", "text", "text_raw",
    "intent_expression", "audio_path", "split",
)  # fmt: skip


class BotEvalError(ValueError):
    """An input of evaluate-bot is missing or unusable; the message names it and the stage to run."""


@dataclass(frozen=True)
class CallItem:
    """One held-out spoken caller question and what the bot should do with it."""

    utterance_id: str
    split: str
    audio: Path
    reference: str  # the normalised transcript (CER reference)
    question: str  # the caller's words as labelled
    intent: str
    answer: str  # the counsellor's scripted answer in the data
    voice: str
    seen_voice: bool
    seen_wording: bool


@dataclass(frozen=True)
class Turn:
    """One item heard on one channel: the transcript, how sure the STT was, how the caller's yes/no is heard."""

    item: CallItem
    channel: int
    transcript: str
    stt_s: float
    min_word: float | None = None  # lowest word confidence (None: the STT gives none)
    heard_yes: bool | None = True  # the caller's "yes" in their voice on this channel, as the bot parses it
    heard_no: bool | None = False
    # closed-set scores (callbot.stt.grammar) of that yes and no, and of this question clip itself (no
    # answer: a negative of the calibration); None where the STT has no CTC posteriors (Whisper)
    text_yes: bool | None = True  # the same yes and no parsed from the free transcript (the baseline)
    text_no: bool | None = False
    yes_scores: dict[str, Any] | None = None
    no_scores: dict[str, Any] | None = None
    own_scores: dict[str, Any] | None = None


@dataclass(frozen=True)
class Ranked:
    """A turn through one responder: the intent it would act on, that intent's answer, and the policy inputs."""

    turn: Turn
    scored: Scored
    top: str
    choice: str  # the top intent's scripted answer ("" for none)
    reason: str | None  # the input screen's handover reason
    llm_s: float


def _optional(table: Any, name: str) -> list[Any]:
    return table[name].to_pylist() if name in table.column_names else [None] * table.num_rows


def asked(
    turns: list[dict[str, Any]], exclude: list[str], excluded: set[str]
) -> list[tuple[dict[str, Any], str]]:
    """A dialogue's spoken caller questions, each with the counsellor's next answer."""
    turns.sort(key=lambda r: r["turn"])
    out = []
    for i, row in enumerate(turns):
        if row["speaker"] != "customer" or row["role"] != "question" or not row["audio_path"]:
            continue
        if (row["intent_expression"] or "") in exclude:
            continue
        answer = next((r["text_raw"] for r in turns[i + 1 :] if r["speaker"] == "agent"), None)
        if answer and row["utterance_id"] not in excluded:
            out.append((row, answer))
    return out


def load_items(params: BotParams) -> dict[str, list[CallItem]]:
    """Validation and test caller questions with audio, their expected answers, seen/unseen flags."""
    import pyarrow.parquet as pq

    from callbot.quality.verdict import gate_exclusions

    prepared = Path(params.prepared)
    records = prepared / "records.parquet"
    if not records.is_file():
        raise BotEvalError(f"{records}: not found; run `callbot prepare` first")
    table = pq.read_table(records)
    missing = [c for c in _COLUMNS if c not in table.column_names]
    if missing:
        raise BotEvalError(f"{records}: column(s) {', '.join(missing)} missing; rerun `callbot prepare`")
    rows = table.select(list(_COLUMNS)).to_pylist()
    for row, voice in zip(rows, _optional(table, "voice"), strict=True):
        row["voice"] = voice or ""
    excluded = gate_exclusions(prepared, allow_failed=False, override="llm.allow_failed_gate")
    dialogues: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["dataset"] in datasets_feeding("ars") and row["domain"] in params.domains:
            dialogues[row["interview_id"]].append(row)
    questions = [q for turns in dialogues.values() for q in asked(turns, params.exclude_intents, excluded)]
    train = [r for r, _ in questions if r["split"] == "train"]
    seen_words = {normalise(r["text_raw"]) for r in train}
    seen_voices = {r["voice"] for r in train if r["voice"]}
    raw = Path(params.raw)
    items: dict[str, list[CallItem]] = {"validation": [], "test": []}
    for row, answer in sorted(questions, key=lambda q: q[0]["utterance_id"]):
        if row["split"] not in items:
            continue
        items[row["split"]].append(
            CallItem(
                row["utterance_id"], row["split"], raw / row["audio_path"], row["text"] or "",
                row["text_raw"], row["intent_expression"] or "", answer.strip(), row["voice"],
                row["voice"] in seen_voices, normalise(row["text_raw"]) in seen_words,
            )
        )  # fmt: skip
    if params.max_items > 0:  # evenly spread: a cap still covers every dialogue range, not only the first ids
        from callbot.subset import spread

        items = {
            split: [found[i] for i in spread(len(found), params.max_items)] for split, found in items.items()
        }
    for split, found in items.items():
        if not found:
            raise BotEvalError(
                f"{records}: no {split} caller question with audio in {params.domains}; "
                "rerun `callbot sample --dataset callcenter` and `callbot prepare`"
            )
    return items


def line_audio(path: Path, channel: int) -> np.ndarray:
    """The caller's clip as the service gets it: 16 kHz float32, through the phone line when 8000."""
    import soundfile as sf

    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise BotEvalError(f"{path}: unreadable audio ({exc}); rerun `callbot ingest`") from None
    return on_line(samples.mean(axis=1), rate, channel)


def on_line(samples: np.ndarray, rate: int, channel: int) -> np.ndarray:
    """Audio at ``rate`` -> 16 kHz float32, through the G.711 telephone channel first when ``channel`` is 8000."""
    from callbot.audio import to_stt_rate
    from callbot.tts.channel import phone_channel

    if channel == 8000:
        samples, rate = phone_channel(samples, rate)
    return to_stt_rate(samples, rate)


def voice_of(name: str) -> tuple[str, int, int]:
    """espeak-ng (voice, rate, pitch) of a record's ``voice`` (e.g. ``m1-r160-p65``); the default voice if unparsed."""
    import re

    found = re.fullmatch(r"([a-z]+\d*)-r(\d+)-p(\d+)", name or "")
    if not found:
        return "ko", 175, 50
    return f"ko+{found[1]}", int(found[2]), int(found[3])


def hear_reply(
    transcriber: Any, clip: np.ndarray, text: str = "", voice: str = "", channel: int = 0
) -> tuple[bool | None, dict[str, Any] | None]:
    """A reply to the confirm question as the service hears it: the free transcript parsed by ``yes_no``
    (what decides where the STT has no CTC posteriors, and the baseline elsewhere) and the closed-set
    scores (the yes/no is decided from them once the thresholds are calibrated), None for Whisper.

    The scores carry the free transcript (``heard``) and its ``yes_no`` (``parsed``) beside the clip's
    ``text``, ``voice`` and ``channel``: the calibration weighs both ways of hearing on the same clips,
    and the report names each clip either way took as a false yes."""
    result, scores = transcriber.hear_confirm(clip, YES_PHRASES, NO_PHRASES)
    parsed = yes_no(result.text)
    if scores is None:
        return parsed, None
    said = {"text": text, "voice": voice, "channel": channel, "heard": result.text, "parsed": parsed}
    return parsed, {**scores.to_json(), **said}


def replies_heard(
    transcriber: Any, policy: PolicyParams, voice: str, channel: int, negatives: bool = False
) -> list[Any]:
    """How the bot hears a caller's yes and no in ``voice`` on ``channel``: synthesised, sent down the
    line, heard as a confirm reply: (heard yes, heard no, yes scores, no scores, not-answer scores);
    the short words that are no answer are spoken only for the calibration (``negatives``)."""
    from callbot.tts.espeak import Utterance, synthesize_fresh

    name, rate, pitch = voice_of(voice)
    texts = [policy.caller_yes, policy.caller_no, *(NOT_ANSWERS if negatives else ())]
    clips = synthesize_fresh([Utterance(t, rate, pitch, name) for t in texts])  # same clip every run
    heard = [
        hear_reply(
            transcriber, on_line(0.5 * samples.astype(np.float32) / 32768.0, sr, channel), t, voice, channel
        )
        for t, (samples, sr) in zip(texts, clips, strict=True)
    ]
    return [heard[0][0], heard[1][0], heard[0][1], heard[1][1], [h[1] for h in heard[2:]]]


def noise_scores(transcriber: Any, channel: int) -> list[dict[str, Any]]:
    """Closed-set scores of silence, hiss and hum (no answer), for the calibration's negatives."""
    rng = np.random.default_rng(0)
    n = np.arange(16000)
    clips = {"(silence)": np.zeros(16000), "(hiss)": 0.02 * rng.standard_normal(16000),
             "(loud hiss)": 0.1 * rng.standard_normal(32000),
             "(hum)": 0.1 * np.sin(2 * np.pi * 120 * n / 16000) + 0.01 * rng.standard_normal(16000)}  # fmt: skip
    found = [
        hear_reply(transcriber, on_line(c.astype(np.float32), 16000, channel), text, "", channel)[1]
        for text, c in clips.items()
    ]
    return [f for f in found if f is not None]


def calibrate_heard(
    val: list[Turn], test: list[Turn], negatives: list[dict[str, Any]], margins: Sequence[float]
) -> tuple[list[Turn], list[Turn], tuple[float | None, float], tuple[float, float] | None]:
    """The closed-set thresholds on validation (no false yes on its not-answer clips and questions), and
    every turn's heard yes/no decided with them; turns without scores (Whisper) keep the parsed text.
    Returns the turns, the (threshold, margin) that decides ((None, 0.0): the words) and the closed
    set's calibration even where the words win (None for Whisper; the report weighs both with it)."""
    from callbot.bot.scoring import calibrate_grammar

    def pair(s: dict[str, Any]) -> tuple[float, float]:
        return float(s["yes"]["deficit"]), float(s["no"]["deficit"])

    scored = [t for t in val if t.yes_scores and t.no_scores]
    if not scored:  # Whisper: no closed set, the replies stay parsed from the words
        return val, test, (None, 0.0), None
    replies = {(t.item.voice, t.channel): t for t in scored}.values()  # one yes and no per voice and channel
    positives = [(*pair(t.yes_scores), True) for t in replies] + [
        (*pair(t.no_scores), False) for t in replies
    ]
    owns = [t.own_scores for t in scored if t.own_scores]
    tau, margin, accuracy = calibrate_grammar(positives, [pair(s) for s in [*negatives, *owns]], margins)
    if words_win(list(replies), [*negatives, *owns], accuracy):
        return val, test, (None, 0.0), (tau, margin)  # the free transcript's words decide, as for Whisper
    rules = Thresholds(grammar=tau, grammar_margin=margin)

    def decided(turn: Turn) -> Turn:
        if not (turn.yes_scores and turn.no_scores):
            return turn
        yes, no = (grammar_answer(s, rules) for s in (turn.yes_scores, turn.no_scores))
        return replace(turn, heard_yes=yes, heard_no=no, text_yes=turn.heard_yes, text_no=turn.heard_no)

    return [decided(t) for t in val], [decided(t) for t in test], (tau, margin), (tau, margin)


def words_win(replies: list[Turn], negatives: list[dict[str, Any]], closed_set_accuracy: float) -> bool:
    """Whether the free transcript parsed by ``yes_no`` hears validation's yes and no better than the
    calibrated closed set, with no false yes either (no "no" and no not-answer clip parsed as yes).

    Why: the closed set is bounded by its hardest negative; once the STT hears a lone 네 itself (its
    training data has short answers), its words can be both safer and more often right."""
    right = [t.heard_yes is True for t in replies] + [t.heard_no is False for t in replies]
    false_yes = sum(t.heard_no is True for t in replies) + sum(s.get("parsed") is True for s in negatives)
    return bool(right) and false_yes == 0 and float(np.mean(right)) > closed_set_accuracy


def confirm_figures(
    turns: list[Turn],
    grammar: tuple[float | None, float],
    negatives: list[dict[str, Any]],
    closed: tuple[float, float] | None,
    caller_no: str,
) -> dict[str, Any]:
    """How the caller's yes and no are heard per voice and channel: as the bot hears them (the closed set
    where it scores, else the words) beside the free transcript parsed by ``yes_no`` (the baseline), and
    every clip either way took as a false yes (``negatives``: the split's not-answer clips besides its
    questions; ``closed``: the closed set's calibration; ``caller_no``: what the caller's no says)."""
    replies = list({(t.item.voice, t.channel): t for t in turns}.values())
    held = [*negatives, *(t.own_scores for t in turns if t.own_scores)]

    def share(values: list[bool]) -> float | None:
        return round(float(np.mean(values)), 4) if values else None

    return {
        "voices_channels": len(replies),
        "yes_heard": share([t.heard_yes is True for t in replies]),
        "yes_heard_text": share([t.text_yes is True for t in replies]),
        "no_heard": share([t.heard_no is False for t in replies]),
        "no_heard_text": share([t.text_no is False for t in replies]),
        "no_heard_as_yes": sum(t.heard_no is True for t in replies),
        "no_heard_as_yes_text": sum(t.text_no is True for t in replies),
        "decided_by": "words" if grammar[0] is None else "closed set",
        "grammar": None if grammar[0] is None else round(grammar[0], 6),
        "grammar_margin": grammar[1],
        "negatives": len(held),
        "false_yes": false_yeses([no_clip(t, caller_no) for t in replies] + held, closed),
    }


FALSE_YES_KEPT = 5  # clips named per way of hearing and split (the count is of all)


def no_clip(turn: Turn, caller_no: str) -> dict[str, Any]:
    """The caller's no in ``turn``'s voice and channel as a heard clip: its closed-set scores (none for
    Whisper) and its free transcript's ``yes_no``."""
    said = {"text": caller_no, "voice": turn.item.voice, "channel": turn.channel, "parsed": turn.text_no}
    return {**(turn.no_scores or {}), **said}


def false_yeses(clips: list[dict[str, Any]], closed: tuple[float, float] | None) -> dict[str, Any]:
    """The clips that are no yes (the caller's no, not-answer clips, questions) each way of hearing took
    as yes: the free transcript's ``yes_no`` (``words``) and the closed set under its calibration
    (``closed_set``; None where the STT has no posteriors). Why: the block says which way decides and
    how often each is right; these say which clip made the other unsafe, and what was heard in it."""
    words = [c for c in clips if c.get("parsed") is True]
    out: dict[str, Any] = {"words": _named(words), "closed_set": None}
    if closed is not None:
        rules = Thresholds(grammar=closed[0], grammar_margin=closed[1])
        taken = [c for c in clips if "yes" in c and grammar_answer(c, rules) is True]
        out["closed_set"] = {**_named(taken), "grammar": round(closed[0], 6), "grammar_margin": closed[1]}
    return out


def _named(clips: list[dict[str, Any]]) -> dict[str, Any]:
    def named(c: dict[str, Any]) -> dict[str, Any]:
        out = {k: c.get(k) for k in ("text", "voice", "channel", "heard")}
        # the best yes and no phrase, each deficit per frame to the free decode
        if "yes" in c and np.isfinite([c["yes"]["deficit"], c["no"]["deficit"]]).all():
            out["yes"], out["no"] = c["yes"], c["no"]
        return out

    return {"count": len(clips), "clips": [named(c) for c in clips[:FALSE_YES_KEPT]]}


def transcribe(params: BotParams, items: list[CallItem]) -> tuple[list[Turn], list[dict[str, Any]]]:
    """Every item on every channel, one clip per call (as a caller is served), timed; yes/no per voice
    heard once. Validation clips are also scored as confirm replies (no answer: the calibration's
    negatives, with other short words in each voice and noise), returned beside the turns."""
    from callbot.stt.infer import load_transcriber

    stt = Path(params.stt)
    if not (stt / "model" / "config.json").is_file():
        raise BotEvalError(f"{stt}/model: no STT model; run `callbot train-stt` first")
    transcriber = load_transcriber(stt, batch_size=1)
    validation = bool(items) and items[0].split == "validation"
    replies: dict[tuple[str, int], list[Any]] = {}
    turns: list[Turn] = []
    negatives = [s for c in params.channels for s in noise_scores(transcriber, c)] if validation else []
    with progress() as bar:
        task = bar.add_task("evaluate-bot: transcribe", total=len(items) * len(params.channels))
        for item in items:
            for channel in params.channels:
                clip = line_audio(item.audio, channel)
                started = time.perf_counter()
                result = transcriber.transcribe(clip)
                elapsed = time.perf_counter() - started
                key = (item.voice, channel)
                if key not in replies:
                    replies[key] = replies_heard(transcriber, params.policy, item.voice, channel, validation)
                    negatives += [s for s in replies[key][4] if s is not None] if validation else []
                own = (
                    hear_reply(transcriber, clip, item.question, item.voice, channel)[1]
                    if validation
                    else None
                )
                low = min((w.confidence for w in result.words), default=None)
                yes, no, yes_scores, no_scores, _ = replies[key]
                turns.append(
                    Turn(
                        item,
                        channel,
                        result.text.strip(),
                        elapsed,
                        low,
                        yes,
                        no,
                        yes,
                        no,
                        yes_scores,
                        no_scores,
                        own,
                    )
                )
                bar.advance(task)
    return turns, negatives


@dataclass(frozen=True)
class System:
    """What ranks the caller's words in a call (the router with or without the LLM, or the intent model alone)."""

    rank: Callable[[str], Ranking]
    answer_for: Callable[[str], str]  # an intent's scripted answer ("" when it has none)
    rules: Screen
    prefix: str  # out-of-scope intents start with it
    handover_answers: frozenset[str]  # the scripted answers that are the handover itself
    # words ranked ahead in worker processes (callbot.bot.rescore) -> the seconds it took there: the
    # first turn with these words is charged them, as if ranked here; later ones are memo hits, as before
    cost: dict[str, float] = field(default_factory=dict)


def responder_system(responder: Responder, llm: bool = True) -> System:
    """The served responder's ranking: retrieval, rescored by the LLM when ``llm``."""
    assert responder.router is not None
    return System(
        lambda words: responder.rank(words, None, use_llm=llm),
        responder.answer_for,
        responder.screen,
        responder.router.params.handover_intent_prefix,
        frozenset(e.answer for e in responder.router.script.entries if e.handover),
    )


def intent_system(model: Any, like: System) -> System:
    """The intent model alone (no LLM) under the same input checks and script as ``like``."""
    return System(
        lambda words: model.rank([words])[0], lambda intent: model.answers.get(intent, ""),
        like.rules, like.prefix, like.handover_answers,
    )  # fmt: skip


def rank_turns(system: System, turns: list[Turn], *, text: bool = False) -> list[Ranked]:
    """Each turn ranked by ``system`` (on the transcript, or the reference words) with what acting on it gives."""
    out = []
    for turn in turns:
        words = turn.item.question if text else turn.transcript
        in_scope = turn.item.answer not in system.handover_answers
        heard = (True, False) if text else (turn.heard_yes, turn.heard_no)
        started = time.perf_counter()
        reason = screen(words, system.rules)
        if reason is not None:  # not a question: handed over whatever the thresholds
            scored = Scored(0.0, 0.0, True, False, in_scope, None, *heard)
            out.append(Ranked(turn, scored, "", "", reason, time.perf_counter() - started))
            continue
        ranking = system.rank(words)
        choice = system.answer_for(ranking.top)
        elapsed = time.perf_counter() - started + system.cost.pop(words, 0.0)
        scored = Scored(
            ranking.confidence, ranking.margin, bool(system.prefix) and ranking.top.startswith(system.prefix),
            choice == turn.item.answer, in_scope, None if text else turn.min_word, *heard,
        )  # fmt: skip
        out.append(Ranked(turn, scored, ranking.top, choice, None, elapsed))
    return out


def _block(selected: list[Ranked], thresholds: Thresholds) -> dict[str, Any]:
    r: dict[str, Any] = Table([x.scored for x in selected]).rates(thresholds)
    oos = [x.scored for x in selected if not x.scored.in_scope]
    if oos:
        r["out_of_scope_handover"] = Table(oos).rates(thresholds)["success"]
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}


def figures(ranked: list[Ranked], thresholds: Thresholds) -> dict[str, Any]:
    """Success, wrong answers, handovers, confirms and turns per call: overall, by channel, voice, wording, intent."""
    result: dict[str, Any] = {"all": _block(ranked, thresholds)}
    for channel in sorted({x.turn.channel for x in ranked}, reverse=True):
        name = CHANNEL_NAMES.get(channel, str(channel))
        on = [x for x in ranked if x.turn.channel == channel]
        result[name] = _block(on, thresholds)
        unseen = [x for x in on if not x.turn.item.seen_wording and not x.turn.item.seen_voice]
        result[f"{name}_unseen_wording_unseen_voice"] = _block(unseen, thresholds)
    for key, label in (("seen_wording", "wording"), ("seen_voice", "voice")):
        for flag in (False, True):
            chosen = [x for x in ranked if getattr(x.turn.item, key) is flag]
            result[f"{label}_{'seen' if flag else 'unseen'}"] = _block(chosen, thresholds)
    by_intent: dict[str, list[Ranked]] = defaultdict(list)
    for x in ranked:
        by_intent[x.turn.item.intent or "(none)"].append(x)
    result["by_intent"] = {n: _block(group, thresholds)["success"] for n, group in sorted(by_intent.items())}
    return result


def latency(ranked: list[Ranked]) -> dict[str, float]:
    """STT + ranking seconds per turn: median and 95th percentile."""
    totals = sorted(x.turn.stt_s + x.llm_s for x in ranked)
    if not totals:
        return {"median_s": 0.0, "p95_s": 0.0}
    return {
        "median_s": round(statistics.median(totals), 4),
        "p95_s": round(totals[min(len(totals) - 1, int(0.95 * len(totals)))], 4),
        "stt_median_s": round(statistics.median(x.turn.stt_s for x in ranked), 4),
        "llm_median_s": round(statistics.median(x.llm_s for x in ranked), 4),
    }


def stt_figures(turns: list[Turn]) -> dict[str, Any]:
    """CER of the call questions (spaces ignored) by channel and by seen/unseen wording."""
    from callbot.text.metrics import error_rates

    out: dict[str, Any] = {}
    for channel in sorted({t.channel for t in turns}, reverse=True):
        on = [t for t in turns if t.channel == channel]
        name = CHANNEL_NAMES.get(channel, str(channel))
        out[name] = round(error_rates([t.item.reference for t in on], [t.transcript for t in on])["cer"], 4)
        for flag in (False, True):
            chosen = [t for t in on if t.item.seen_wording is flag]
            if chosen:
                cer = error_rates([t.item.reference for t in chosen], [t.transcript for t in chosen])["cer"]
                out[f"{name}_wording_{'seen' if flag else 'unseen'}"] = round(cer, 4)
    return out


def candidate_dirs(llm: Path) -> list[Path]:
    """``<llm>/<candidate>`` for every candidate with a merged model (``<candidate>/merged/config.json``)."""
    dirs = sorted(p.parent.parent for p in Path(llm).glob("*/merged/config.json"))
    if not dirs:
        raise BotEvalError(f"{llm}: no trained candidate (<candidate>/merged); run `callbot train-llm` first")
    return dirs


def _evaluate(
    system: System,
    val: list[Turn],
    test: list[Turn],
    params: BotParams,
    answer_floor: float = 0.0,
    grammar: tuple[float | None, float] = (None, 0.0),
) -> tuple[dict[str, Any], list[Ranked], Thresholds]:
    """Calibrate the policy on validation (answering no lower than ``answer_floor``), score test once with it."""
    p = params.policy
    val_ranked, test_ranked = rank_turns(system, val), rank_turns(system, test)
    thresholds, _ = calibrate(
        [x.scored for x in val_ranked], params.wrong_answer_target, p.confirm_cost, p.margins, p.word_cuts,
        answer_floor,
    )  # fmt: skip
    thresholds = replace(thresholds, grammar=grammar[0], grammar_margin=grammar[1])
    report = {
        "threshold": round(thresholds.answer, 6),
        "policy": thresholds.to_json(),
        "validation": figures(val_ranked, thresholds),
        "test": figures(test_ranked, thresholds),
        "latency": latency(test_ranked),
    }
    return report, test_ranked, thresholds


def turn_lines(name: str, ranked: list[Ranked], thresholds: Thresholds) -> list[str]:
    """turns.jsonl: one line per test turn, what the policy did with it and why."""
    table = Table([x.scored for x in ranked])
    answer, confirm = table.actions(thresholds)
    lines = []
    for x, a, c in zip(ranked, answer, confirm, strict=True):
        t = x.turn
        lines.append(json.dumps({
            "candidate": name, "utterance_id": t.item.utterance_id, "channel": t.channel,
            "intent": t.item.intent, "question": t.item.question, "transcript": t.transcript,
            "expected": t.item.answer, "top": x.top, "choice": x.choice, "reason": x.reason,
            "confidence": round(x.scored.confidence, 4), "margin": round(x.scored.margin, 4),
            "action": "answer" if a else "confirm" if c else HANDOVER,
            "seen_wording": t.item.seen_wording, "seen_voice": t.item.seen_voice,
        }, ensure_ascii=False))  # fmt: skip
    return lines


def _baselines(
    responder: Responder,
    val: list[Turn],
    test: list[Turn],
    params: BotParams,
    grammar: tuple[float | None, float],
) -> dict[str, Any]:
    """Retrieval alone (no LLM), the intent model alone (when trained), each under its own calibrated
    policy (with the closed-set confirm reply's ``grammar``) and with its headline, and always handing over."""
    retrieval = responder_system(responder, llm=False)
    out: dict[str, Any] = {"retrieval": _evaluate(retrieval, val, test, params, grammar=grammar)[0]}
    model = intent_model(params)
    if model is not None:
        system = intent_system(model, retrieval)
        floor = model.threshold if params.policy.intent_floor else 0.0
        result, _, thresholds = _evaluate(system, val, test, params, floor, grammar)
        result["test_reference_text"] = figures(rank_turns(system, test, text=True), thresholds)["all"]
        out["intent"] = {**result, "headline": headline(result), "screen": screen_settings(params)}
    never = Thresholds(np.inf, 0.0, np.inf, 0.0)
    handover_all = figures(rank_turns(retrieval, test), never)
    out["always_handover"] = {"test": {k: handover_all[k] for k in ("all", "16k", "8k") if k in handover_all}}
    return out


def intent_model(params: BotParams) -> Any:
    """The trained intent model (``bot.intent``), or None when the stage has not run ("" = not used)."""
    if not params.intent or not (Path(params.intent) / "intent.json").is_file():
        return None
    from callbot.intent.model import load

    return load(Path(params.intent))


def score_candidate(
    directory: Path,
    val: list[Turn],
    test: list[Turn],
    params: BotParams,
    grammar: tuple[float | None, float] = (None, 0.0),
) -> tuple[dict[str, Any], list[str], Responder]:
    """One candidate end to end: calibrated on validation, test scored once, and on the reference text.
    ``grammar``: the closed-set confirm reply's (threshold, margin), shipped in the candidate's policy."""
    from callbot.llm.infer import load_responder

    responder = load_responder(directory / "merged")
    if responder.router is None:
        raise BotEvalError(f"{directory}/merged: no router.json; rerun `callbot train-llm`")
    system = responder_system(responder)
    rank_ahead(system, responder, directory / "merged", val, test, params)
    result, test_ranked, thresholds = _evaluate(system, val, test, params, grammar=grammar)
    result["test_reference_text"] = figures(rank_turns(system, test, text=True), thresholds)["all"]
    result["headline"] = headline(result)
    result["summary"] = score_summaries(
        responder, [t for t in val if t.channel == params.channels[0]], params
    )
    return result, turn_lines(directory.name, test_ranked, thresholds), responder


def rank_ahead(
    system: System,
    responder: Responder,
    model_dir: Path,
    val: list[Turn],
    test: list[Turn],
    params: BotParams,
) -> None:
    """A candidate of ``bot.rescoring_min_parameters`` or more ranks every words :func:`_evaluate` will
    meet in ``bot.rescoring_workers`` single-thread processes first (:mod:`callbot.bot.rescore`)."""
    from callbot.bot.rescore import prefill
    from callbot.llm.model import count_parameters
    from callbot.llm.workers import worker_count

    workers = worker_count(params.rescoring_workers)
    if workers < 2 or count_parameters(responder.model)[0] < params.rescoring_min_parameters:
        return
    said = [t.transcript for t in (*val, *test)] + [t.item.question for t in test]
    words = [w for w in said if screen(w, system.rules) is None]
    system.cost.update(prefill(responder, model_dir, words, workers))


def summary_reference(item: CallItem) -> str:
    """What a counsellor needs to read: the caller's intent as the generator labelled it (its kind, when out of scope)."""
    return item.intent.split(":", 1)[-1].strip() or item.question


def score_summaries(responder: Responder, turns: list[Turn], params: BotParams) -> dict[str, Any]:
    """The LLM's one-line handover summary against the extractive baseline (the caller's first sentence):
    character ROUGE-L F1 against :func:`summary_reference`, on ``bot.policy.summary_items`` validation calls.
    The Bento uses the LLM's summary only where it scores higher (``llm``)."""
    from callbot.dialogue.policy import first_sentence
    from callbot.llm.rouge import rouge_l
    from callbot.subset import spread

    p = params.policy
    chosen = [turns[i] for i in spread(len(turns), p.summary_items)] if p.summary_items > 0 else []
    llm, base, seconds = [], [], []
    for turn in chosen:
        reference, said = summary_reference(turn.item), [turn.transcript]
        started = time.perf_counter()
        line = responder.summarise(said, p.summary_prompt, p.summary_max_new_tokens)
        seconds.append(time.perf_counter() - started)
        llm.append(rouge_l(line, reference).f1)
        base.append(rouge_l(first_sentence(said), reference).f1)
    llm_f1 = round(statistics.fmean(llm), 4) if llm else 0.0
    base_f1 = round(statistics.fmean(base), 4) if base else 0.0
    return {
        "llm_rouge_l": llm_f1, "extractive_rouge_l": base_f1, "items": len(chosen),
        "llm_median_s": round(statistics.median(seconds), 4) if seconds else 0.0, "llm": llm_f1 > base_f1,
        "prompt": p.summary_prompt, "max_new_tokens": p.summary_max_new_tokens,
    }  # fmt: skip


def screen_settings(params: BotParams) -> dict[str, Any]:
    """The input checks shipped beside the calibrated thresholds (the served responder reads both)."""
    p = params.policy
    return {
        "repeat_min_words": p.repeat_min_words,
        "max_repeat_share": p.max_repeat_share,
        "injection_markers": list(p.injection_markers),
    }


def run_evaluate_bot(params: BotParams) -> dict[str, Any]:
    """Score every candidate end to end; write ``<report>/metrics.json``, ``calibration.json``, ``turns.jsonl``."""
    from callbot.threads import set_torch_threads

    started = time.perf_counter()
    set_torch_threads(params.threads)
    items = load_items(params)
    report = Path(params.report)
    (val, negatives), (test, _) = transcribe(params, items["validation"]), transcribe(params, items["test"])
    val, test, grammar, closed = calibrate_heard(val, test, negatives, params.policy.grammar_margins)
    candidates: dict[str, Any] = {}
    lines: list[str] = []
    baselines: dict[str, Any] = {}
    for directory in candidate_dirs(Path(params.llm)):
        result, found, responder = score_candidate(directory, val, test, params, grammar)
        candidates[directory.name] = {**result, "screen": screen_settings(params)}
        lines += found
        baselines = baselines or _baselines(responder, val, test, params, grammar)  # one script: one baseline
        del responder
    metrics = {
        "items": {split: len(found) for split, found in items.items()},
        "channels": params.channels,
        "wrong_answer_target": params.wrong_answer_target,
        "intent_model": params.intent if "intent" in baselines else None,
        "stt_cer": {"validation": stt_figures(val), "test": stt_figures(test)},
        "confirm_reply": {  # validation calibrates the closed set (no false yes on its negatives); test scored once
            # (the threshold comes from validation; test has no not-answer clips of its own)
            split: confirm_figures(found, grammar, held, closed, params.policy.caller_no)
            for split, found, held in (("validation", val, negatives), ("test", test, []))
        },
        "candidates": candidates,
        "baselines": baselines,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_bot_metrics(report / "metrics.json", BotMetrics.model_validate(metrics))
    write_json(
        report / "calibration.json",
        {"target": params.wrong_answer_target, "policies": {n: c["policy"] for n, c in candidates.items()}},
    )
    write_text(report / "turns.jsonl", "\n".join(lines) + "\n")
    _print(metrics, report)
    return metrics


def _print(metrics: dict[str, Any], report: Path) -> None:
    """One line per candidate: its validation figures (select picks from these) beside retrieval's."""
    base = metrics["baselines"]["retrieval"]["validation"]["all"]
    rows = "; ".join(
        f"{n}: val success {c['validation']['all']['success']:.3f} wrong {c['validation']['all']['wrong']:.3f} "
        f"turns {c['validation']['all']['turns']:.2f}"
        for n, c in metrics["candidates"].items()
    )
    summary(
        "evaluate-bot",
        f"{rows}; retrieval baseline val success {base['success']:.3f} (wrong {base['wrong']:.3f}); "
        f"{sum(metrics['items'].values())} questions x {len(metrics['channels'])} channels -> {report} "
        "(the winner is chosen by `callbot select`)",
    )


def headline(result: dict[str, Any]) -> dict[str, float | None]:
    """The figures a candidate is known by: test task success, wrong answers, handovers, unseen slices, turns."""
    test = result["test"]
    return {
        "task_success": test["all"]["success"],
        "wrong_answer_rate": test["all"]["wrong"],
        "handover_rate": test["all"]["handover"],
        "turns_per_call": test["all"]["turns"],
        "out_of_scope_handover": test["all"].get("out_of_scope_handover"),
        "unseen_16k": test.get("16k_unseen_wording_unseen_voice", {}).get("success"),
        "unseen_8k": test.get("8k_unseen_wording_unseen_voice", {}).get("success"),
        "validation_task_success": result["validation"]["all"]["success"],
        "validation_wrong_answer_rate": result["validation"]["all"]["wrong"],
        "median_latency_s": result["latency"]["median_s"],
    }


__all__ = ["RIGHT", "BotEvalError", "headline", "load_items", "run_evaluate_bot"]
