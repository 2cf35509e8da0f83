"""The parts of an STT evaluation report both recipes share: slices, baselines, the reference model.

The Whisper evaluation (:mod:`callbot.stt.evaluate`) and the jamo CTC one
(:mod:`callbot.stt.ctc_evaluate`) both build on this module, so neither imports the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import writing
from callbot.console import progress
from callbot.stt.data import (
    SLICE_COLUMNS,
    STTDataError,
    Utterance,
)

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
    from callbot.basenames import BaseMissingError, is_package, resolve_package
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
