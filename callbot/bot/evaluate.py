"""`callbot evaluate-bot`: the product's measure, the call, on questions and voices unseen in training.

Every held-out spoken caller question of the call-centre set (validation and test) goes through the
code the Bento runs: the audio (as recorded, and through a G.711 telephone channel at 8 kHz) is
brought to 16 kHz, transcribed by the served STT export, and answered by each LLM candidate's
:class:`callbot.llm.infer.Responder` (router + guard). An in-scope question succeeds with its
scripted answer, an out-of-scope one with a handover; any other scripted answer is a *wrong answer*,
the outcome a public-health line must avoid.

Per candidate the handover threshold is calibrated on validation to ``bot.wrong_answer_target`` and
the test split is scored once with it. Figures are split by channel, by whether the caller's voice
and wording occur in training, and by intent; the headline is unseen wording in an unseen voice.
Baselines from the same run: retrieval alone (nearest training question, no LLM), always handing
over, and each candidate on the reference text (what a perfect STT would give).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.atomic import write_json, write_text
from callbot.console import progress, summary
from callbot.contracts import BotMetrics, write_bot_metrics
from callbot.llm.router import HANDOVER, RIGHT, calibrate, outcome, rates
from callbot.text.normalize import normalise

if TYPE_CHECKING:
    from callbot.bot.params import BotParams
    from callbot.llm.infer import ReplyResult, Responder

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


@dataclass
class Turn:
    """One item on one channel through one responder: what it chose, how sure, how long it took."""

    item: CallItem
    channel: int
    transcript: str
    stt_s: float
    reply: str = ""
    reason: str | None = None
    confidence: float = 1.0
    outcome: str = HANDOVER
    llm_s: float = 0.0


def _optional(table: Any, name: str) -> list[Any]:
    return table[name].to_pylist() if name in table.column_names else [None] * table.num_rows


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
        if row["dataset"] == "callcenter" and row["domain"] in params.domains:
            dialogues[row["interview_id"]].append(row)
    questions: list[tuple[dict[str, Any], str]] = []
    for turns in dialogues.values():
        turns.sort(key=lambda r: r["turn"])
        for i, row in enumerate(turns):
            if row["speaker"] != "customer" or row["role"] != "question" or not row["audio_path"]:
                continue
            if (row["intent_expression"] or "") in params.exclude_intents:
                continue
            answer = next((r["text_raw"] for r in turns[i + 1 :] if r["speaker"] == "agent"), None)
            if answer and row["utterance_id"] not in excluded:
                questions.append((row, answer))
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

    from callbot.audio import to_stt_rate
    from callbot.tts.channel import phone_channel

    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise BotEvalError(f"{path}: unreadable audio ({exc}); rerun `callbot ingest`") from None
    samples = samples.mean(axis=1)
    if channel == 8000:
        samples, rate = phone_channel(samples, rate)
    return to_stt_rate(samples, rate)


def transcribe(params: BotParams, items: list[CallItem]) -> list[Turn]:
    """Every item on every channel, one clip per call (as a caller is served), timed."""
    from callbot.stt.infer import load_transcriber

    stt = Path(params.stt)
    if not (stt / "model" / "config.json").is_file():
        raise BotEvalError(f"{stt}/model: no STT model; run `callbot train-stt` first")
    transcriber = load_transcriber(stt, batch_size=1)
    turns: list[Turn] = []
    with progress() as bar:
        task = bar.add_task("evaluate-bot: transcribe", total=len(items) * len(params.channels))
        for item in items:
            for channel in params.channels:
                clip = line_audio(item.audio, channel)
                started = time.perf_counter()
                text = transcriber.transcribe(clip).text.strip()
                turns.append(Turn(item, channel, text, time.perf_counter() - started))
                bar.advance(task)
    return turns


def _score(result: ReplyResult, item: CallItem, handover_answers: set[str]) -> tuple[float, str]:
    """(confidence, outcome) of a reply made at threshold 0: what acting on the choice gives."""
    in_scope = item.answer not in handover_answers
    chosen_handover = result.raw == "" or result.raw in handover_answers
    confidence = (
        1.0 if result.confidence is None else result.confidence
    )  # empty/not Korean: always handed over
    return confidence, outcome(chosen_handover, result.raw == item.answer, in_scope)


def answer(responder: Responder, turns: list[Turn], *, llm: bool = True, text: bool = False) -> list[Turn]:
    """Each turn answered by ``responder`` (threshold 0: the raw choice), on the transcript or the reference."""
    assert responder.router is not None
    handover_answers = {e.answer for e in responder.router.script.entries if e.handover}
    saved, responder.threshold = responder.threshold, 0.0
    out = []
    try:
        for turn in turns:
            words = turn.item.question if text else turn.transcript
            started = time.perf_counter()
            result = responder.reply(words, use_llm=llm)  # llm=False: the nearest-question baseline
            elapsed = time.perf_counter() - started
            confidence, result_outcome = _score(result, turn.item, handover_answers)
            out.append(
                Turn(turn.item, turn.channel, turn.transcript, turn.stt_s, result.raw or result.text,
                     result.reason, confidence, result_outcome, elapsed)
            )  # fmt: skip
    finally:
        responder.threshold = saved
    return out


def _in_scope(turn: Turn, handover_answers: set[str]) -> bool:
    return turn.item.answer not in handover_answers


def figures(turns: list[Turn], threshold: float, handover_answers: set[str]) -> dict[str, Any]:
    """Success, wrong-answer and handover rates overall and by channel, voice, wording, intent."""

    def block(selected: list[Turn]) -> dict[str, Any]:
        scope = [_in_scope(t, handover_answers) for t in selected]
        r = rates([t.confidence for t in selected], [t.outcome for t in selected], scope, threshold)
        oos = [t for t, s in zip(selected, scope, strict=True) if not s]
        if oos:
            r["out_of_scope_handover"] = rates(
                [t.confidence for t in oos], [t.outcome for t in oos], [False] * len(oos), threshold
            )["success"]
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}

    result: dict[str, Any] = {"all": block(turns)}
    for channel in sorted({t.channel for t in turns}, reverse=True):
        name = CHANNEL_NAMES.get(channel, str(channel))
        on = [t for t in turns if t.channel == channel]
        result[name] = block(on)
        unseen = [t for t in on if not t.item.seen_wording and not t.item.seen_voice]
        result[f"{name}_unseen_wording_unseen_voice"] = block(unseen)
    for key, label in (("seen_wording", "wording"), ("seen_voice", "voice")):
        for flag in (False, True):
            chosen = [t for t in turns if getattr(t.item, key) is flag]
            result[f"{label}_{'seen' if flag else 'unseen'}"] = block(chosen)
    by_intent: dict[str, list[Turn]] = defaultdict(list)
    for t in turns:
        by_intent[t.item.intent or "(none)"].append(t)
    result["by_intent"] = {name: block(group)["success"] for name, group in sorted(by_intent.items())}
    return result


def latency(turns: list[Turn]) -> dict[str, float]:
    """STT + LLM + guard seconds per turn: median and 95th percentile."""
    totals = sorted(t.stt_s + t.llm_s for t in turns)
    if not totals:
        return {"median_s": 0.0, "p95_s": 0.0}
    return {
        "median_s": round(statistics.median(totals), 4),
        "p95_s": round(totals[min(len(totals) - 1, int(0.95 * len(totals)))], 4),
        "stt_median_s": round(statistics.median(t.stt_s for t in turns), 4),
        "llm_median_s": round(statistics.median(t.llm_s for t in turns), 4),
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
    responder: Responder, val: list[Turn], test: list[Turn], target: float, *, llm: bool = True
) -> tuple[dict[str, Any], list[Turn], float]:
    assert responder.router is not None
    handover_answers = {e.answer for e in responder.router.script.entries if e.handover}
    val_turns, test_turns = answer(responder, val, llm=llm), answer(responder, test, llm=llm)
    scope = [_in_scope(t, handover_answers) for t in val_turns]
    threshold, _ = calibrate([t.confidence for t in val_turns], [t.outcome for t in val_turns], scope, target)
    report = {
        "threshold": round(threshold, 6),
        "validation": figures(val_turns, threshold, handover_answers),
        "test": figures(test_turns, threshold, handover_answers),
        "latency": latency(test_turns),
    }
    return report, test_turns, threshold


def run_evaluate_bot(params: BotParams) -> dict[str, Any]:
    """Score every candidate end to end; write ``<report>/metrics.json``, ``calibration.json``, ``turns.jsonl``."""
    from callbot.llm.infer import load_responder
    from callbot.threads import set_torch_threads

    started = time.perf_counter()
    set_torch_threads(params.threads)
    items = load_items(params)
    report = Path(params.report)
    val = transcribe(params, items["validation"])
    test = transcribe(params, items["test"])
    candidates: dict[str, Any] = {}
    calibration: dict[str, float] = {}
    lines: list[str] = []
    baselines: dict[str, Any] = {}
    for directory in candidate_dirs(Path(params.llm)):
        name = directory.name
        responder = load_responder(directory / "merged")
        if responder.router is None:
            raise BotEvalError(f"{directory}/merged: no router.json; rerun `callbot train-llm`")
        result, test_turns, threshold = _evaluate(responder, val, test, params.wrong_answer_target)
        handover_answers = {e.answer for e in responder.router.script.entries if e.handover}
        text_turns = answer(responder, test, text=True)
        result["test_reference_text"] = figures(text_turns, threshold, handover_answers)["all"]
        candidates[name] = result
        calibration[name] = result["threshold"]
        for t in test_turns:
            lines.append(json.dumps({
                "candidate": name, "utterance_id": t.item.utterance_id, "channel": t.channel,
                "intent": t.item.intent, "question": t.item.question, "transcript": t.transcript,
                "expected": t.item.answer, "choice": t.reply, "reason": t.reason,
                "confidence": round(t.confidence, 4), "answered": t.confidence >= threshold,
                "outcome": t.outcome if t.confidence >= threshold else HANDOVER,
                "seen_wording": t.item.seen_wording, "seen_voice": t.item.seen_voice,
            }, ensure_ascii=False))  # fmt: skip
        if not baselines:  # the script is the same for every candidate: one retrieval baseline
            retrieval, _, _ = _evaluate(responder, val, test, params.wrong_answer_target, llm=False)
            handover_all = figures(
                [Turn(t.item, t.channel, t.transcript, t.stt_s, confidence=0.0) for t in test],
                1.0,
                handover_answers,
            )
            baselines = {
                "retrieval": retrieval,
                "always_handover": {
                    "test": {k: handover_all[k] for k in ("all", "16k", "8k") if k in handover_all}
                },
            }
        del responder
    eligible = {
        n: c for n, c in candidates.items() if c["validation"]["all"]["wrong"] <= params.max_wrong_answer
    }
    best = max(eligible or candidates, key=lambda n: (candidates[n]["validation"]["all"]["success"], n))
    metrics = {
        "best": best,
        "items": {split: len(found) for split, found in items.items()},
        "channels": params.channels,
        "wrong_answer_target": params.wrong_answer_target,
        "headline": _headline(candidates[best]),
        "stt_cer": {"validation": stt_figures(val), "test": stt_figures(test)},
        "candidates": candidates,
        "baselines": baselines,
        "beats_retrieval": candidates[best]["test"]["all"]["success"]
        > baselines["retrieval"]["test"]["all"]["success"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_bot_metrics(report / "metrics.json", BotMetrics.model_validate(metrics))
    write_json(report / "calibration.json", {"target": params.wrong_answer_target, "thresholds": calibration})
    write_text(report / "turns.jsonl", "\n".join(lines) + "\n")
    h = {k: "n/a" if v is None else f"{v:.3f}" for k, v in metrics["headline"].items()}
    base = baselines["retrieval"]["test"]["all"]
    summary(
        "evaluate-bot",
        f"{best}: task success {h['task_success']} on test (unseen wording+voice: 16k "
        f"{h['unseen_16k']}, 8k {h['unseen_8k']}), wrong {h['wrong_answer_rate']}, "
        f"out-of-scope handed over {h['out_of_scope_handover']}, call CER 16k "
        f"{metrics['stt_cer']['test'].get('16k', 'n/a')}, median turn {h['median_latency_s']}s; "
        f"retrieval baseline {base['success']:.3f} (wrong {base['wrong']:.3f}); "
        f"{sum(len(v) for v in items.values())} questions x {len(params.channels)} channels -> {report}",
    )
    return metrics


def _headline(result: dict[str, Any]) -> dict[str, float]:
    test = result["test"]
    return {
        "task_success": test["all"]["success"],
        "wrong_answer_rate": test["all"]["wrong"],
        "handover_rate": test["all"]["handover"],
        "out_of_scope_handover": test["all"].get("out_of_scope_handover"),
        "unseen_16k": test.get("16k_unseen_wording_unseen_voice", {}).get("success"),
        "unseen_8k": test.get("8k_unseen_wording_unseen_voice", {}).get("success"),
        "median_latency_s": result["latency"]["median_s"],
    }


__all__ = ["RIGHT", "BotEvalError", "load_items", "run_evaluate_bot"]
