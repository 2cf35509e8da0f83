"""`callbot evaluate-stt`: base vs fine-tuned Whisper on the test split, overall and by speaker slice.

CER with spaces ignored is the Korean headline (spacing is inconsistent even between human
transcribers); CER with spaces and WER are reported beside it. The interview data is hiring data,
so the fine-tuned model's CER is broken down by occupation, gender, age range and experience, and
the largest gap between slices of one attribute is gated: a model that mishears one group fails.
Test utterances are transcribed whole, through the same windowing the service uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import write_json, writing
from callbot.console import progress, summary
from callbot.contracts import SttMetrics, write_stt_metrics
from callbot.stt.data import (
    SLICE_COLUMNS,
    STTDataError,
    Utterance,
    load_split,
    read_audio,
    seen_in_training,
)
from callbot.subset import spread

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from callbot.stt.infer import Transcriber
    from callbot.stt.params import STTParams


@dataclass(frozen=True)
class EvaluationResult:
    metrics: dict[str, Any]
    passed: bool
    failures: list[str]
    blocking: bool = False  # failed and `stt.gate: fail`: the CLI exits 1 and the flow stops


def transcribe_all(
    transcriber: Transcriber, audios: Sequence[np.ndarray], label: str, batch: int
) -> list[str]:
    texts: list[str] = []
    with progress() as bar:
        task = bar.add_task(label, total=len(audios))
        for lo in range(0, len(audios), batch):
            texts.extend(r.text for r in transcriber.transcribe_batch(list(audios[lo : lo + batch])))
            bar.advance(task, min(batch, len(audios) - lo))
    return texts


def slice_report(
    utterances: Sequence[Utterance], hyps: Sequence[str], min_size: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """CER (spaces ignored) per slice value of each attribute, and the largest gated gap."""
    from callbot.text.metrics import cer

    rows: list[dict[str, Any]] = []
    worst: dict[str, Any] = {"attribute": None, "gap": 0.0, "low": None, "high": None}
    for column in SLICE_COLUMNS:
        groups: dict[str, list[int]] = {}
        for i, utt in enumerate(utterances):
            value = utt.slices.get(column)
            groups.setdefault("unknown" if value is None else str(value), []).append(i)
        gated: list[dict[str, Any]] = []
        for value, index in sorted(groups.items()):
            refs = [utterances[i].text for i in index]
            row = {
                "attribute": column,
                "slice": value,
                "n": len(index),
                "cer": round(cer(refs, [hyps[i] for i in index], spaces=False), 4),
                "gated": len(index) >= min_size,
            }
            rows.append(row)
            if row["gated"]:
                gated.append(row)
        if len(gated) >= 2:
            low = min(gated, key=lambda r: r["cer"])
            high = max(gated, key=lambda r: r["cer"])
            gap = round(high["cer"] - low["cer"], 4)
            if gap > worst["gap"] or worst["attribute"] is None:
                worst = {"attribute": column, "gap": gap, "low": low["slice"], "high": high["slice"]}
    return rows, worst


def plot_slices(rows: list[dict[str, Any]], path: Path, overall: float) -> None:
    """A bar per slice, grouped by attribute, with the overall CER as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['attribute']}\n{r['slice']} (n={r['n']})" for r in rows]
    colors = [f"C{SLICE_COLUMNS.index(r['attribute'])}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(rows)), 4.0))
    ax.bar(range(len(rows)), [r["cer"] for r in rows], color=colors)
    ax.axhline(overall, color="black", linestyle="--", linewidth=1, label=f"overall {overall:.3f}")
    ax.set_xticks(range(len(rows)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("CER (spaces ignored)")
    ax.set_title("Fine-tuned STT: CER by speaker slice (test split)")
    ax.legend()
    fig.tight_layout()
    with writing(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")  # the temp name has no .png to go by
    plt.close(fig)


def nearest_training_text(refs: list[str], train_texts: list[str]) -> list[str]:
    """The no-listening baseline: each reference replaced by the closest training transcript (an oracle:
    it looks at the reference). A model that does not beat it recites instead of hearing."""
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    choices = sorted({t.replace(" ", "") for t in train_texts if t.strip()})
    if not choices:
        return [""] * len(refs)
    return [
        str(process.extractOne(r.replace(" ", ""), choices, scorer=Levenshtein.normalized_distance)[0])
        for r in refs
    ]


def _base_source(out: Path) -> str:
    record = out / "train.json"
    if not record.is_file():
        raise STTDataError(f"{record}: not found; run `callbot train-stt` first")
    data = json.loads(record.read_text(encoding="utf-8"))
    return str(data["base_dir"])


def backend_report(
    out: Path,
    audios: Sequence[np.ndarray],
    refs: list[str],
    served: Transcriber,
    served_cer: float,
    kwargs: dict[str, Any],
    batch: int,
) -> dict[str, Any]:
    """Held-out CER of every exported backend (each decodes as it would serve: CTranslate2 without the
    CTC head) beside its measured speed, and the one to serve (:func:`choose_backend`)."""
    from callbot.stt.export import BACKEND_CER_TOLERANCE, choose_backend
    from callbot.stt.infer import load_transcriber
    from callbot.text.metrics import cer

    export = out / "export.json"
    if not export.is_file():
        return {}
    timings = json.loads(export.read_text(encoding="utf-8")).get("timings", {})
    cers = {served.backend: served_cer}
    for name in timings:
        if name not in cers:
            model = load_transcriber(out, backend=name, **kwargs)
            cers[name] = cer(refs, transcribe_all(model, audios, f"backend {name}", batch), spaces=False)
    return {
        "cer": {k: round(v, 4) for k, v in cers.items()},
        "rtf": {k: v.get("rtf") for k, v in timings.items()},
        "tolerance": BACKEND_CER_TOLERANCE,
        "choice": choose_backend(cers, timings) if timings else served.backend,
    }


def reference_report(
    params: STTParams,
    audios: Sequence[np.ndarray],
    refs: list[str],
    tuned_hyps: list[str],
    kwargs: dict[str, Any],
    seen: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Zero-shot CER of ``stt.reference_model`` (a real pretrained Whisper) on the first of ``audios``,
    with the fine-tuned model's CER on the same ones, so the gap between them is visible; with ``seen``
    (sentences all in training) also both on the unseen ones alone, the STT's headline set."""
    from callbot.bases.names import BaseMissingError, is_package, resolve_package
    from callbot.stt.infer import load_transcriber
    from callbot.text.metrics import error_rates

    if not params.reference_model:
        return {"skipped": "stt.reference_model is empty"}
    try:
        path = (
            resolve_package(params.reference_model, "stt.reference_model")
            if is_package(params.reference_model)
            else Path(params.reference_model)
        )
    except BaseMissingError as exc:
        return {"model": params.reference_model, "skipped": str(exc)}
    n = min(len(audios), params.reference_max_utterances)
    model = load_transcriber(path, backend="hf", **{**kwargs, "overlap_s": None})
    hyps = transcribe_all(model, audios[:n], f"zero-shot {params.reference_model}", params.eval_batch_size)
    zero_shot, tuned = error_rates(refs[:n], hyps), error_rates(refs[:n], tuned_hyps[:n])
    unseen: dict[str, Any] = {}
    picked = [i for i in range(n) if seen is not None and not seen[i]]
    if picked:
        unseen = {
            "utterances": len(picked),
            "zero_shot_cer": round(
                error_rates([refs[i] for i in picked], [hyps[i] for i in picked])["cer"], 4
            ),
            "fine_tuned_cer": round(
                error_rates([refs[i] for i in picked], [tuned_hyps[i] for i in picked])["cer"], 4
            ),
        }
    return {
        "model": params.reference_model,
        "utterances": n,
        "zero_shot": {k: round(v, 4) for k, v in zero_shot.items()},
        "fine_tuned_same_utterances": {k: round(v, 4) for k, v in tuned.items()},
        "unseen": unseen,
        "samples": [{"reference": r, "zero_shot": h} for r, h in list(zip(refs, hyps, strict=False))[:3]],
    }


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
