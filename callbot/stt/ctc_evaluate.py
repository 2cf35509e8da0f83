"""`callbot evaluate-stt` for the jamo CTC model: CER by dataset, channel and voice, seen vs unseen.

Every test clip is transcribed twice: as stored (resampled to 16 kHz) and after the 8 kHz G.711
telephone line. Each is decoded by the served decoder (greedy, or beam search with the jamo
LM, as train-stt chose on validation) and greedily from the same forward pass, so the LM's gain stands
beside its baseline (``decoding.by_decoder``). Each figure stands beside the two baselines of the same run: the empty transcript
and the nearest training transcript (an oracle that recites; a model that does not beat it is not
listening). The untrained "base" of a CTC model is no model at all, so ``base`` is the empty output.
whisper-base's zero-shot reference runs on a handful of clips only (``stt.reference_max_utterances``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callbot.atomic import write_json
from callbot.console import summary
from callbot.contracts import SttMetrics, write_stt_metrics
from callbot.stt.data import STTDataError, Utterance, load_split, read_audio, seen_in_training, through_line
from callbot.stt.report import (
    EvaluationResult,
    nearest_training_text,
    plot_slices,
    reference_report,
    slice_report,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from callbot.stt.infer import TranscriptResult
    from callbot.stt.params import STTParams

CHANNELS = ("16k", "line")


def _cer(refs: Sequence[str], hyps: Sequence[str], index: Sequence[int]) -> float:
    from callbot.text.metrics import cer

    return round(cer([refs[i] for i in index], [hyps[i] for i in index], spaces=False), 4)


def group_report(
    groups: dict[str, list[int]], refs: Sequence[str], hyps: dict[str, list[str]], nearest: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Per group: utterances, CER on each channel and the nearest-training-text baseline on the same clips."""
    return {
        name: {
            "utterances": len(index),
            **{f"cer_{c}": _cer(refs, hyps[c], index) for c in CHANNELS},
            "nearest_training_text_cer": _cer(refs, nearest, index),
        }
        for name, index in sorted(groups.items())
        if index
    }


def _groups(utterances: Sequence[Utterance], key: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, u in enumerate(utterances):
        value = u.meta.get(key)
        name = "unknown" if not value else str(value).split("-")[0] if key == "voice" else str(value)
        out.setdefault(name, []).append(i)
    return out


def confidence_report(results: Sequence[TranscriptResult], refs: Sequence[str]) -> dict[str, Any]:
    """Mean word confidence of words that occur in the reference and of those that do not."""
    right: list[float] = []
    wrong: list[float] = []
    for result, ref in zip(results, refs, strict=True):
        known = set(ref.split())
        for word in result.words:
            (right if word.text in known else wrong).append(word.confidence)
    mean = lambda xs: round(sum(xs) / len(xs), 4) if xs else None  # noqa: E731
    return {
        "words_in_reference": len(right),
        "mean_confidence_in_reference": mean(right),
        "words_not_in_reference": len(wrong),
        "mean_confidence_not_in_reference": mean(wrong),
    }


def _transcribe(
    params: STTParams, out: Path, audios: list[Any]
) -> tuple[dict[str, dict[str, list[str]]], list[Any], str]:
    """Per decoder (greedy, and the served one when it differs) transcripts on both channels from one
    forward pass; the served decoder's 16 kHz results (with word confidences); its name."""
    from callbot.console import progress
    from callbot.stt.infer import load_transcriber

    model = load_transcriber(out, batch_size=params.eval_batch_size)
    served = model.decoding
    decoders = tuple(dict.fromkeys((served, "greedy")))
    results: dict[str, dict[str, list[Any]]] = {d: {c: [] for c in CHANNELS} for d in decoders}
    with progress() as bar:
        task = bar.add_task(f"evaluate-stt (ctc {served}, 16 kHz and line)", total=2 * len(audios))
        for lo in range(0, len(audios), params.eval_batch_size):
            chunk = audios[lo : lo + params.eval_batch_size]
            for channel, clips in (("16k", chunk), ("line", [through_line(a) for a in chunk])):
                for name, found in model.transcribe_decoders(clips, decoders).items():
                    results[name][channel].extend(found)
            bar.advance(task, 2 * len(chunk))
    texts = {d: {c: [r.text for r in results[d][c]] for c in CHANNELS} for d in decoders}
    return texts, results[served]["16k"], served


def decoding_report(
    hyps: dict[str, dict[str, list[str]]], refs: list[str], seen: list[bool], nearest: list[str], served: str
) -> dict[str, Any]:
    """Every decoder's CER by seen/unseen and channel on the same clips: the LM's gain beside greedy."""
    groups = {
        "unseen": [i for i, s in enumerate(seen) if not s],
        "seen": [i for i, s in enumerate(seen) if s],
    }
    by_decoder = {name: group_report(groups, refs, h, nearest) for name, h in hyps.items()}
    report: dict[str, Any] = {"served": served, "greedy_ctc": served == "greedy", "by_decoder": by_decoder}
    if served != "greedy":
        report["unseen_gain_over_greedy"] = {
            c: round(by_decoder["greedy"]["unseen"][f"cer_{c}"] - by_decoder[served]["unseen"][f"cer_{c}"], 4)
            for c in CHANNELS
            if "unseen" in by_decoder[served]
        }
    return report


def _test_set(params: STTParams, prepared: Path) -> tuple[list[Utterance], int, list[Utterance]]:
    utterances, gated = load_split(prepared, "test", params.max_eval_utterances)
    utterances = [u for u in utterances if u.text.strip()]
    if not utterances:
        raise STTDataError(
            f"{prepared}/stt: the test split has no utterance with a reference; nothing to score"
        )
    train, _ = load_split(prepared, "train", allow_failed_gate=params.allow_failed_gate)
    return utterances, gated, train


def _figures(
    refs: list[str], hyps: dict[str, list[str]], nearest: list[str], seen: list[bool]
) -> dict[str, Any]:
    """Headline figures: overall per channel, seen/unseen per channel, baselines."""
    from callbot.text.metrics import error_rates

    rates = {c: {k: round(v, 4) for k, v in error_rates(refs, hyps[c]).items()} for c in CHANNELS}
    empty = {k: round(v, 4) for k, v in error_rates(refs, [""] * len(refs)).items()}
    by_seen = group_report(
        {"unseen": [i for i, s in enumerate(seen) if not s], "seen": [i for i, s in enumerate(seen) if s]},
        refs,
        hyps,
        nearest,
    )
    return {
        "base": empty,
        "base_is": "empty output (a CTC model trained from scratch has no base to compare)",
        "fine_tuned": rates["16k"],
        "fine_tuned_line": rates["line"],
        "cer_improvement": round(empty["cer"] - rates["16k"]["cer"], 4),
        "unseen_cer": by_seen.get("unseen", {}).get("cer_16k", rates["16k"]["cer"]),
        "unseen_cer_line": by_seen.get("unseen", {}).get("cer_line", rates["line"]["cer"]),
        "by_seen": by_seen,
        "baselines": {
            "empty_output": empty,
            "nearest_training_text": {k: round(v, 4) for k, v in error_rates(refs, nearest).items()},
        },
    }


def _gates(params: STTParams, metrics: dict[str, Any], worst: dict[str, Any]) -> list[str]:
    failures = []
    for key in ("unseen_cer", "unseen_cer_line"):
        if metrics[key] > params.max_cer:
            failures.append(
                f"CER on unseen sentences ({key}) {metrics[key]:.4f} > stt.max_cer {params.max_cer}"
            )
    if worst["gap"] > params.max_slice_gap:
        failures.append(
            f"CER gap {worst['gap']:.4f} between {worst['attribute']} {worst['high']} and {worst['low']} "
            f"> stt.max_slice_gap {params.max_slice_gap}"
        )
    return failures


def evaluate_ctc(params: STTParams, prepared: Path, out: Path, report: Path) -> EvaluationResult:
    """Score the CTC export in ``out`` on ``<prepared>/stt`` test; write ``<report>/metrics.json``."""
    utterances, gated, train = _test_set(params, prepared)
    audios = [read_audio(u.audio_path, u.audio_bytes) for u in utterances]
    refs = [u.text for u in utterances]
    all_hyps, results, served = _transcribe(params, out, audios)
    hyps = all_hyps[served]
    seen = seen_in_training(utterances, train)
    nearest = nearest_training_text(refs, [u.text for u in train])
    metrics: dict[str, Any] = {
        "recipe": "ctc",
        "test_utterances": len(utterances),
        "excluded_by_gate": gated,
        "serve_backend": "ctc",
        **_figures(refs, hyps, nearest, seen),
        "by_dataset": group_report(_groups(utterances, "dataset"), refs, hyps, nearest),
        "by_voice": group_report(_groups(utterances, "voice"), refs, hyps, nearest),
        "confidence": confidence_report(results, refs),
        "decoding": {**decoding_report(all_hyps, refs, seen, nearest, served), "joint_ctc_weight": 0.0},
        "backends": {},
        "distinct_transcripts": len(set(hyps["16k"])),
        "distinct_references": len(set(refs)),
    }
    metrics["beats_nearest_training_text"] = metrics["unseen_cer"] < metrics["by_seen"].get("unseen", {}).get(
        "nearest_training_text_cer", 1.0
    )
    kwargs = {
        "batch_size": params.eval_batch_size,
        "silence_db": params.silence_db,
        "min_pause_s": params.min_pause_s,
    }
    unseen_first = sorted(range(len(utterances)), key=lambda i: seen[i])
    metrics["reference"] = reference_report(
        params,
        [audios[i] for i in unseen_first],
        [refs[i] for i in unseen_first],
        [hyps["16k"][i] for i in unseen_first],
        kwargs,
        [seen[i] for i in unseen_first],
    )
    rows, worst = slice_report(utterances, hyps["16k"], params.min_slice_size)
    failures = _gates(params, metrics, worst)
    metrics |= {
        "slice_gap": worst,
        "failures": failures,
        "gates": {
            "max_cer": params.max_cer,
            "max_slice_gap": params.max_slice_gap,
            "passed": not failures,
            "mode": params.gate,
        },
    }
    _write(report, metrics, rows, utterances, hyps, results, params)
    summary("evaluate-stt", _summary_line(metrics, params))
    return EvaluationResult(
        metrics, not failures, failures, blocking=bool(failures) and params.gate == "fail"
    )


def _write(
    report: Path,
    metrics: dict[str, Any],
    rows: list[dict[str, Any]],
    utterances: Sequence[Utterance],
    hyps: dict[str, list[str]],
    results: Sequence[Any],
    params: STTParams,
) -> None:
    write_stt_metrics(report / "metrics.json", SttMetrics.model_validate(metrics))
    write_json(report / "cer_by_slice.json", rows)
    samples = [
        {
            "utterance_id": u.utterance_id,
            "reference": u.text,
            "fine_tuned": hyps["16k"][i],
            "line": hyps["line"][i],
            "words": [{"text": w.text, "confidence": w.confidence} for w in results[i].words],
        }
        for i, u in enumerate(utterances[: params.prediction_samples])
    ]
    write_json(report / "predictions.json", samples)
    plot_slices(rows, report / "cer_by_slice.png", metrics["fine_tuned"]["cer"])


def _summary_line(m: dict[str, Any], params: STTParams) -> str:
    unseen = m["by_seen"].get("unseen", {})
    ref = m["reference"].get("unseen") or {}
    ref_text = (
        f"; zero-shot {m['reference']['model']} {ref['zero_shot_cer']:.3f} vs {ref['fine_tuned_cer']:.3f} "
        f"on {ref['utterances']} unseen"
        if ref
        else ""
    )
    datasets = ", ".join(f"{k} {v['cer_16k']:.3f}/{v['cer_line']:.3f}" for k, v in m["by_dataset"].items())
    verdict = "passed" if not m["failures"] else "FAILED: " + "; ".join(m["failures"])
    if m["failures"] and params.gate == "warn":
        verdict += " (stt.gate is warn: reported, not blocking)"
    greedy = m["decoding"]["by_decoder"]["greedy"].get("unseen", {})
    decoder = m["decoding"]["served"]
    if decoder != "greedy" and greedy:
        decoder += f" (greedy {greedy['cer_16k']:.3f} / {greedy['cer_line']:.3f})"
    return (
        f"jamo CTC, {decoder}: CER (spaces ignored) unseen sentences {m['unseen_cer']:.3f} at 16 kHz / "
        f"{m['unseen_cer_line']:.3f} on the 8 kHz line ({unseen.get('utterances', 0)} utterances; nearest training "
        f"text {unseen.get('nearest_training_text_cer', float('nan')):.3f}, empty 1.0); all {m['fine_tuned']['cer']:.3f} / "
        f"{m['fine_tuned_line']['cer']:.3f}; by dataset (16 kHz/line) {datasets}{ref_text}; "
        f"{m['test_utterances']} test utterances; {verdict}"
    )
