"""`callbot evaluate-stt`: base vs fine-tuned Whisper on the test split, overall and by speaker slice.

CER with spaces ignored is the Korean headline (spacing is inconsistent even between human
transcribers); CER with spaces and WER are reported beside it. The interview data is hiring data,
so the fine-tuned model's CER is broken down by occupation, gender, age range and experience, and
the largest gap between slices of one attribute is gated: a model that mishears one group fails.
Test utterances are transcribed whole, through the same windowing the service uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import write_json
from callbot.console import summary
from callbot.contracts import SttMetrics, write_stt_metrics
from callbot.stt.data import (
    STTDataError,
    load_split,
    read_audio,
    seen_in_training,
)
from callbot.stt.report import (  # re-exported: callers import them from here
    EvaluationResult as EvaluationResult,
)
from callbot.stt.report import (
    _base_source as _base_source,
)
from callbot.stt.report import (
    backend_report as backend_report,
)
from callbot.stt.report import (
    nearest_training_text as nearest_training_text,
)
from callbot.stt.report import (
    plot_slices as plot_slices,
)
from callbot.stt.report import (
    reference_report as reference_report,
)
from callbot.stt.report import (
    slice_report as slice_report,
)
from callbot.stt.report import (
    transcribe_all as transcribe_all,
)
from callbot.subset import spread
from callbot.text.metrics import error_rates

if TYPE_CHECKING:
    from callbot.stt.params import STTParams


@dataclass
class _Decoded:
    """The test utterances' transcripts: the fine-tuned model on every one; the untrained base and the
    decoder alone (None elsewhere) on the evenly spread comparison subset ``sub``."""

    refs: list[str]
    audios: list[Any]
    sub: list[int]
    tuned: Any  # the fine-tuned Transcriber
    tuned_hyps: list[str]
    base_hyps: list[str | None]
    alone_hyps: list[str | None]
    decoding: dict[str, Any]
    kwargs: dict[str, Any]

    def at_sub(self, items: list[Any]) -> list[Any]:
        return [items[i] for i in self.sub]


def evaluate_stt(
    params: STTParams, prepared: Path | None = None, out: Path | None = None, report: Path | None = None
) -> EvaluationResult:
    """Score base and fine-tuned models on ``<prepared>/stt`` test; write ``<report>/metrics.json``."""
    from callbot.stt.ctc_model import is_ctc_dir
    from callbot.threads import set_torch_threads

    prepared = Path(prepared or params.prepared)
    out = Path(out or params.out)
    report = Path(report or params.report)
    set_torch_threads(params.threads)
    if is_ctc_dir(out / "model"):  # stt.recipe: ctc exported the jamo CTC model
        from callbot.stt.ctc_evaluate import evaluate_ctc

        return evaluate_ctc(params, prepared, out, report)
    if not (out / "model" / "config.json").is_file():
        raise STTDataError(f"{out}/model: no fine-tuned model; run `callbot train-stt` first")
    utterances, gated = load_split(prepared, "test", params.max_eval_utterances)
    utterances = [u for u in utterances if u.text.strip()]
    if not utterances:
        raise STTDataError(
            f"{prepared}/stt: the test split has no utterance with a reference; nothing to score"
        )
    decoded = _decode(params, out, utterances)
    scores = _score(params, prepared, out, utterances, decoded)
    metrics = _metrics(params, utterances, gated, decoded, scores)
    write_stt_metrics(report / "metrics.json", SttMetrics.model_validate(metrics))
    write_json(report / "cer_by_slice.json", scores.rows)
    write_json(report / "predictions.json", _samples(utterances, decoded, params.prediction_samples))
    plot_slices(scores.rows, report / "cer_by_slice.png", scores.fine["cer"])
    summary("evaluate-stt", _summary_line(scores, decoded, params))
    failures = scores.failures
    return EvaluationResult(
        metrics, not failures, failures, blocking=bool(failures) and params.gate == "fail"
    )


def _decode(params: STTParams, out: Path, utterances: list[Any]) -> _Decoded:
    """Transcribe: the base on the subset, the fine-tuned model on all, the decoder alone (a CTC head)
    on the subset."""
    from callbot.stt.infer import HFTranscriber, load_transcriber

    audios = [read_audio(u.audio_path, u.audio_bytes) for u in utterances]
    kwargs = {
        "overlap_s": params.overlap_s,
        "batch_size": params.eval_batch_size,
        "silence_db": params.silence_db,
        "min_pause_s": params.min_pause_s,
    }
    source = _base_source(out)
    base_model = (
        load_transcriber(Path(source), backend="hf", **kwargs)
        if Path(source).exists()
        else HFTranscriber(Path(source), **kwargs)  # a hub id (full profile), from the local cache
    )
    # the fine-tuned model's figures use every test utterance; what it is compared with (the untrained
    # base, the decoder alone, the other backends, the reference model) an evenly spread subset
    sub = spread(len(utterances), params.compare_max_utterances)
    sub_audios = [audios[i] for i in sub]
    sub_base = transcribe_all(base_model, sub_audios, "base", params.eval_batch_size)
    tuned = load_transcriber(out, **kwargs)
    tuned_hyps = transcribe_all(tuned, audios, f"fine-tuned ({tuned.backend})", params.eval_batch_size)
    decoded = _Decoded(
        [u.text for u in utterances], audios, sub, tuned, tuned_hyps,
        _on_subset(len(utterances), sub, sub_base), [None] * len(utterances), {"joint_ctc_weight": 0.0}, kwargs,
    )  # fmt: skip
    if tuned.ctc is not None:  # what the CTC head adds: the decoder alone, same model
        attention = load_transcriber(out, use_ctc=False, **kwargs)
        sub_alone = transcribe_all(attention, sub_audios, "attention only", params.eval_batch_size)
        decoded.alone_hyps = _on_subset(len(utterances), sub, sub_alone)
        alone = error_rates(decoded.at_sub(decoded.refs), sub_alone)
        decoded.decoding = {
            "joint_ctc_weight": tuned.ctc.decode_weight,
            "attention_only": _rounded(alone),
            "joint_same_utterances": _rounded(
                error_rates(decoded.at_sub(decoded.refs), decoded.at_sub(tuned_hyps))
            ),
        }
    return decoded


def _on_subset(n: int, sub: list[int], hyps: list[str]) -> list[str | None]:
    """``hyps`` of the subset placed at their utterances' indices, None elsewhere."""
    placed: list[str | None] = [None] * n
    for i, h in zip(sub, hyps, strict=True):
        placed[i] = h
    return placed


def _rounded(rates: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in rates.items()}


def _by_seen(refs: list[str], hyps: list[str], seen: list[bool]) -> dict[str, Any]:
    """CER/WER apart for test sentences not in training (the headline) and those that are."""
    by_seen: dict[str, Any] = {}
    for name, flag in (("unseen", False), ("seen", True)):
        picked = [i for i, s in enumerate(seen) if s is flag]
        if picked:
            rates = error_rates([refs[i] for i in picked], [hyps[i] for i in picked])
            by_seen[name] = {"utterances": len(picked), **_rounded(rates)}
    return by_seen


def _gate_failures(params: STTParams, headline: float, worst: dict[str, Any]) -> list[str]:
    failures: list[str] = []
    if headline > params.max_cer:
        failures.append(f"fine-tuned CER on unseen sentences {headline:.4f} > stt.max_cer {params.max_cer}")
    if worst["gap"] > params.max_slice_gap:
        failures.append(
            f"CER gap {worst['gap']:.4f} between {worst['attribute']} {worst['high']} and {worst['low']} "
            f"> stt.max_slice_gap {params.max_slice_gap}"
        )
    return failures


@dataclass
class _Scores:
    """What the evaluation found, unrounded (metrics.json rounds; the summary line formats)."""

    base: dict[str, float]  # the untrained base, on the subset
    fine: dict[str, float]  # the fine-tuned model, on every utterance
    fine_sub: dict[str, float]  # the fine-tuned model, on the subset
    by_seen: dict[str, Any]
    baselines: dict[str, Any]
    headline: float
    backends: dict[str, Any]
    reference: dict[str, Any]
    rows: list[dict[str, Any]]  # cer_by_slice.json
    worst: dict[str, Any]
    failures: list[str]


def _score(params: STTParams, prepared: Path, out: Path, utterances: list[Any], d: _Decoded) -> _Scores:
    """Every figure beside its baselines (empty output, the nearest training sentence), the other
    backends and the reference model on the subset, the slices, the gates."""
    refs, sub_refs, sub_audios = d.refs, d.at_sub(d.refs), d.at_sub(d.audios)
    sub_tuned = d.at_sub(d.tuned_hyps)
    base = error_rates(sub_refs, d.at_sub(d.base_hyps))
    fine, fine_sub = error_rates(refs, d.tuned_hyps), error_rates(sub_refs, sub_tuned)
    train, _ = load_split(prepared, "train")
    seen = seen_in_training(utterances, train)
    by_seen = _by_seen(refs, d.tuned_hyps, seen)
    nearest = nearest_training_text(refs, [u.text for u in train])
    baselines = {
        "empty_output": _rounded(error_rates(refs, [""] * len(refs))),
        "nearest_training_text": _rounded(error_rates(refs, nearest)),
    }
    headline = by_seen.get("unseen", {}).get("cer", fine["cer"])
    batch = params.eval_batch_size
    backends = backend_report(out, sub_audios, sub_refs, d.tuned, fine_sub["cer"], d.kwargs, batch)
    reference = reference_report(params, sub_audios, sub_refs, sub_tuned, d.kwargs, d.at_sub(seen))
    rows, worst = slice_report(utterances, d.tuned_hyps, params.min_slice_size)
    failures = _gate_failures(params, headline, worst)
    return _Scores(
        base, fine, fine_sub, by_seen, baselines, headline, backends, reference, rows, worst, failures
    )


def _metrics(
    params: STTParams, utterances: list[Any], gated: Any, d: _Decoded, sc: _Scores
) -> dict[str, Any]:
    """metrics.json's content."""
    return {
        "test_utterances": len(utterances),
        "excluded_by_gate": gated,
        "serve_backend": d.tuned.backend,
        "comparison_utterances": len(d.sub),  # base, decoder alone, backends, reference: this subset
        "base": _rounded(sc.base),
        "fine_tuned": _rounded(sc.fine),
        "cer_improvement": round(sc.base["cer"] - sc.fine_sub["cer"], 4),  # on the same subset
        "unseen_cer": round(sc.headline, 4),  # the headline: test utterances with a sentence not in training
        "by_seen": sc.by_seen,
        "baselines": sc.baselines,
        "beats_nearest_training_text": sc.fine["cer"] < sc.baselines["nearest_training_text"]["cer"],
        "decoding": d.decoding,
        "backends": sc.backends,
        "reference": sc.reference,
        "distinct_transcripts": len(set(d.tuned_hyps)),
        "distinct_references": len(set(d.refs)),
        "slice_gap": sc.worst,
        "gates": {
            "max_cer": params.max_cer,
            "max_slice_gap": params.max_slice_gap,
            "passed": not sc.failures,
            "mode": params.gate,
        },
        "failures": sc.failures,
    }


def _samples(utterances: list[Any], d: _Decoded, first: int) -> list[dict[str, Any]]:
    """The first samples, and every utterance whose two decoders disagree (callbot review export picks
    those for a person); confidence = 1 - CER between them (the decoders expose no probabilities)."""
    from callbot.text.metrics import disagreement

    return [
        {
            "utterance_id": u.utterance_id,
            "reference": u.text,
            "base": b,
            "fine_tuned": t,
            "attention_only": a,
            "confidence": None if a is None else round(1.0 - disagreement(t, a), 4),
        }
        for i, (u, b, t, a) in enumerate(
            zip(utterances, d.base_hyps, d.tuned_hyps, d.alone_hyps, strict=True)
        )
        if i < first or (a is not None and a != t)
    ]


def _summary_line(sc: _Scores, d: _Decoded, params: STTParams) -> str:
    verdict = "passed" if not sc.failures else "FAILED: " + "; ".join(sc.failures)
    if sc.failures and params.gate == "warn":
        verdict += " (stt.gate is warn: reported, not blocking)"
    joint = (
        f"; joint CTC decoding, the decoder alone {d.decoding['attention_only']['cer']:.3f}"
        if "attention_only" in d.decoding
        else ""
    )
    seen_text = ", ".join(f"{k} {v['cer']:.3f} ({v['utterances']})" for k, v in sc.by_seen.items())
    ref_unseen = sc.reference.get("unseen") or {}
    ref_text = (
        f"; zero-shot {sc.reference['model']} {ref_unseen['zero_shot_cer']:.3f} vs this model "
        f"{ref_unseen['fine_tuned_cer']:.3f} on {ref_unseen['utterances']} unseen"
        if ref_unseen
        else ""
    )
    fine, worst = sc.fine, sc.worst
    return (
        f"CER {fine['cer']:.3f} (untrained base {sc.base['cer']:.3f} -> {sc.fine_sub['cer']:.3f} on {len(d.sub)} "
        f"compared; spaces ignored{joint}; {seen_text}{ref_text}; nearest training "
        f"text {sc.baselines['nearest_training_text']['cer']:.3f}, empty 1.0), WER {fine['wer']:.3f}, "
        f"largest slice gap {worst['gap']:.3f} ({worst['attribute']}), {len(d.refs)} test utterances; {verdict}"
    )
