"""`callbot evaluate-stt`: base vs fine-tuned Whisper on the test split, overall and by speaker slice.

CER with spaces ignored is the Korean headline (spacing is inconsistent even between human
transcribers); CER with spaces and WER are reported beside it. The interview data is hiring data,
so the fine-tuned model's CER is broken down by occupation, gender, age range and experience, and
the largest gap between slices of one attribute is gated: a model that mishears one group fails.
Test utterances are transcribed whole, through the same windowing the service uses.
"""

from __future__ import annotations

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

if TYPE_CHECKING:
    from callbot.stt.params import STTParams


def evaluate_stt(
    params: STTParams, prepared: Path | None = None, out: Path | None = None, report: Path | None = None
) -> EvaluationResult:
    """Score base and fine-tuned models on ``<prepared>/stt`` test; write ``<report>/metrics.json``."""
    from callbot.stt.ctc_model import is_ctc_dir
    from callbot.stt.infer import HFTranscriber, load_transcriber
    from callbot.text.metrics import disagreement, error_rates
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
    audios = [read_audio(u.audio_path, u.audio_bytes) for u in utterances]
    refs = [u.text for u in utterances]
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
    sub_audios, sub_refs = [audios[i] for i in sub], [refs[i] for i in sub]
    sub_base = transcribe_all(base_model, sub_audios, "base", params.eval_batch_size)
    tuned = load_transcriber(out, **kwargs)
    tuned_hyps = transcribe_all(tuned, audios, f"fine-tuned ({tuned.backend})", params.eval_batch_size)
    sub_tuned = [tuned_hyps[i] for i in sub]

    base, fine = error_rates(sub_refs, sub_base), error_rates(refs, tuned_hyps)
    fine_sub = error_rates(sub_refs, sub_tuned)
    base_hyps: list[str | None] = [None] * len(utterances)
    for i, h in zip(sub, sub_base, strict=True):
        base_hyps[i] = h
    decoding: dict[str, Any] = {"joint_ctc_weight": 0.0}
    alone_hyps: list[str | None] = [None] * len(utterances)
    if tuned.ctc is not None:  # what the CTC head adds: the decoder alone, same model
        attention = load_transcriber(out, use_ctc=False, **kwargs)
        sub_alone = transcribe_all(attention, sub_audios, "attention only", params.eval_batch_size)
        for i, h in zip(sub, sub_alone, strict=True):
            alone_hyps[i] = h
        alone = error_rates(sub_refs, sub_alone)
        decoding = {
            "joint_ctc_weight": tuned.ctc.decode_weight,
            "attention_only": {k: round(v, 4) for k, v in alone.items()},
            "joint_same_utterances": {k: round(v, 4) for k, v in fine_sub.items()},
        }
    train, _ = load_split(prepared, "train")
    seen = seen_in_training(utterances, train)
    by_seen: dict[str, Any] = {}
    for name, flag in (("unseen", False), ("seen", True)):
        picked = [i for i, s in enumerate(seen) if s is flag]
        if picked:
            rates = error_rates([refs[i] for i in picked], [tuned_hyps[i] for i in picked])
            by_seen[name] = {"utterances": len(picked), **{k: round(v, 4) for k, v in rates.items()}}
    nearest = nearest_training_text(refs, [u.text for u in train])
    baselines = {
        "empty_output": {k: round(v, 4) for k, v in error_rates(refs, [""] * len(refs)).items()},
        "nearest_training_text": {k: round(v, 4) for k, v in error_rates(refs, nearest).items()},
    }
    headline = by_seen.get("unseen", {}).get("cer", fine["cer"])
    backends = backend_report(
        out, sub_audios, sub_refs, tuned, fine_sub["cer"], kwargs, params.eval_batch_size
    )
    reference = reference_report(params, sub_audios, sub_refs, sub_tuned, kwargs, [seen[i] for i in sub])
    rows, worst = slice_report(utterances, tuned_hyps, params.min_slice_size)
    distinct_refs = len(set(refs))
    distinct_hyps = len({h for h in tuned_hyps})
    failures: list[str] = []
    if headline > params.max_cer:
        failures.append(f"fine-tuned CER on unseen sentences {headline:.4f} > stt.max_cer {params.max_cer}")
    if worst["gap"] > params.max_slice_gap:
        failures.append(
            f"CER gap {worst['gap']:.4f} between {worst['attribute']} {worst['high']} and {worst['low']} "
            f"> stt.max_slice_gap {params.max_slice_gap}"
        )
    metrics: dict[str, Any] = {
        "test_utterances": len(utterances),
        "excluded_by_gate": gated,
        "serve_backend": tuned.backend,
        "comparison_utterances": len(
            sub
        ),  # base, decoder alone, backends, reference: this evenly spread subset
        "base": {k: round(v, 4) for k, v in base.items()},
        "fine_tuned": {k: round(v, 4) for k, v in fine.items()},
        "cer_improvement": round(base["cer"] - fine_sub["cer"], 4),  # on the same subset
        "unseen_cer": round(headline, 4),  # the headline: test utterances with a sentence not in training
        "by_seen": by_seen,
        "baselines": baselines,
        "beats_nearest_training_text": fine["cer"] < baselines["nearest_training_text"]["cer"],
        "decoding": decoding,
        "backends": backends,
        "reference": reference,
        "distinct_transcripts": distinct_hyps,
        "distinct_references": distinct_refs,
        "slice_gap": worst,
        "gates": {
            "max_cer": params.max_cer,
            "max_slice_gap": params.max_slice_gap,
            "passed": not failures,
            "mode": params.gate,
        },
        "failures": failures,
    }
    # the first samples, and every utterance whose two decoders disagree (callbot review export picks
    # those for a person); confidence = 1 - CER between them (the decoders expose no probabilities)
    samples = [
        {
            "utterance_id": u.utterance_id,
            "reference": u.text,
            "base": b,
            "fine_tuned": t,
            "attention_only": a,
            "confidence": None if a is None else round(1.0 - disagreement(t, a), 4),
        }
        for i, (u, b, t, a) in enumerate(zip(utterances, base_hyps, tuned_hyps, alone_hyps, strict=True))
        if i < params.prediction_samples or (a is not None and a != t)
    ]
    write_stt_metrics(report / "metrics.json", SttMetrics.model_validate(metrics))
    write_json(report / "cer_by_slice.json", rows)
    write_json(report / "predictions.json", samples)
    plot_slices(rows, report / "cer_by_slice.png", fine["cer"])
    verdict = "passed" if not failures else "FAILED: " + "; ".join(failures)
    if failures and params.gate == "warn":
        verdict += " (stt.gate is warn: reported, not blocking)"
    joint = (
        f"; joint CTC decoding, the decoder alone {decoding['attention_only']['cer']:.3f}"
        if "attention_only" in decoding
        else ""
    )
    seen_text = ", ".join(f"{k} {v['cer']:.3f} ({v['utterances']})" for k, v in by_seen.items())
    ref_unseen = reference.get("unseen") or {}
    ref_text = (
        f"; zero-shot {reference['model']} {ref_unseen['zero_shot_cer']:.3f} vs this model "
        f"{ref_unseen['fine_tuned_cer']:.3f} on {ref_unseen['utterances']} unseen"
        if ref_unseen
        else ""
    )
    summary(
        "evaluate-stt",
        f"CER {fine['cer']:.3f} (untrained base {base['cer']:.3f} -> {fine_sub['cer']:.3f} on {len(sub)} "
        f"compared; spaces ignored{joint}; {seen_text}{ref_text}; nearest training "
        f"text {baselines['nearest_training_text']['cer']:.3f}, empty 1.0), WER {fine['wer']:.3f}, "
        f"largest slice gap {worst['gap']:.3f} ({worst['attribute']}), {len(utterances)} test utterances; {verdict}",
    )
    return EvaluationResult(
        metrics, not failures, failures, blocking=bool(failures) and params.gate == "fail"
    )
