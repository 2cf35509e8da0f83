"""`callbot evaluate-llm`: every task scored on the test split, base (zero-shot) beside fine-tuned.

Scoring the pretrained base with the same prompts is what shows that LoRA helped. ROUGE is on
characters (see :mod:`callbot.llm.rouge`); emotion and intent outputs are mapped to the first label
they name; perplexity is over assistant tokens only, like the training loss.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.console import progress, summary
from callbot.contracts import LlmReport, write_llm_report
from callbot.llm.guard import check_reply
from callbot.llm.model import resolve_base
from callbot.llm.rouge import corpus_rouge
from callbot.llm.train import (
    TRAIN_FILE,
    chat_example,
    dataset_version,
    for_candidate,
    load_llm_dataset,
)
from callbot.threads import set_torch_threads

if TYPE_CHECKING:
    from datasets import Dataset

    from callbot.llm.infer import Responder
    from callbot.llm.params import CandidateParams, LLMParams

# Published reference figures from the dataset page (seed 000), reported beside ours.
KOBART_SUMMARY_ROUGE_RECALL = 67.76
KOBART_SUMMARY_ROUGE_PRECISION = 64.34
KOBERT_EMOTION_ACCURACY = 95.19


def normalise_answer(text: str) -> str:
    """Exact match ignores surrounding blanks and repeated spaces, nothing else."""
    return " ".join(text.split())


def to_label(output: str, labels: list[str]) -> str:
    """The label a free-text answer names first (``"긍정, positive"`` -> ``positive``), else the text."""
    lowered = output.lower()
    hits = [(lowered.find(label.lower()), label) for label in labels if label.lower() in lowered]
    return min(hits)[1] if hits else output.strip()


def macro_f1(predictions: list[str], references: list[str], labels: list[str]) -> float:
    """Unweighted mean of per-label F1 over the labels present in the references."""
    scores = []
    for label in labels:
        tp = sum(p == label and r == label for p, r in zip(predictions, references, strict=True))
        fp = sum(p == label and r != label for p, r in zip(predictions, references, strict=True))
        fn = sum(p != label and r == label for p, r in zip(predictions, references, strict=True))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def perplexity(responder: Responder, rows: Dataset, max_length: int, batch_size: int) -> float:
    """exp(mean NLL) of the reference answers given their prompts (assistant tokens only; the vocabulary
    head only where an assistant token is predicted, :func:`callbot.llm.scoring.labelled_nll`)."""
    from callbot.llm.collate import Collator
    from callbot.llm.scoring import labelled_nll

    examples = [chat_example(responder.tokenizer, m, max_length) for m in rows["messages"]]
    if not examples:
        return float("nan")
    collate = Collator(responder.tokenizer.pad_token_id)
    total, count = 0.0, 0
    for start in range(0, len(examples), batch_size):
        nll, tokens = labelled_nll(responder.model, collate(examples[start : start + batch_size]))
        total += nll
        count += tokens
    return math.exp(total / count) if count else float("nan")


def _subset(rows: Dataset, task: str, limit: int) -> Dataset:
    picked = [i for i, t in enumerate(rows["task"]) if t == task][:limit]
    return rows.select(picked)


def _exact(outputs: list[str], refs: list[str]) -> list[bool]:
    return [normalise_answer(o) == normalise_answer(r) for o, r in zip(outputs, refs, strict=True)]


def _ars_metrics(
    outputs: list[str], refs: list[str], messages: list[Any], train_prompts: set[str], responder: Responder
) -> dict[str, float]:
    """ARS answers: exact match, apart for prompts seen in training and unseen ones, and how often
    the guard would have replaced the reply."""
    metrics: dict[str, float] = {}
    exact = _exact(outputs, refs)
    metrics["ars_exact_match"] = round(sum(exact) / len(exact), 4)
    seen_prompt = [_prompt_key(m) in train_prompts for m in messages]
    for name, flag in (("unseen", False), ("seen", True)):
        hits = [e for e, s in zip(exact, seen_prompt, strict=True) if s is flag]
        if hits:
            metrics[f"ars_{name}_prompt_exact_match"] = round(sum(hits) / len(hits), 4)
    guarded = [check_reply(o, responder.guard, responder.script) is not None for o in outputs]
    metrics["ars_guarded_rate"] = round(sum(guarded) / len(guarded), 4)
    return metrics


def _task_metrics(
    task: str,
    outputs: list[str],
    refs: list[str],
    messages: list[Any],
    train_prompts: set[str],
    responder: Responder,
) -> dict[str, float]:
    """One task's scores: ROUGE for the free-text tasks (F only for ARS), the ARS figures, and
    accuracy (and macro F1 for emotion) for the label tasks, over the labels the references use."""
    metrics: dict[str, float] = {}
    if task in ("ars", "summary"):
        for name, value in corpus_rouge(outputs, refs).items():
            if task == "ars" and name.endswith(("_precision", "_recall")):
                continue
            metrics[f"{task}_{name}"] = round(value, 4)
    if task == "ars":
        metrics.update(_ars_metrics(outputs, refs, messages, train_prompts, responder))
    if task in ("emotion", "intent"):
        labels = sorted(set(refs))
        predicted = [to_label(o, labels) for o in outputs]
        metrics[f"{task}_accuracy"] = round(
            sum(p == r for p, r in zip(predicted, refs, strict=True)) / len(refs), 4
        )
        if task == "emotion":
            metrics["emotion_macro_f1"] = round(macro_f1(predicted, refs, labels), 4)
    return metrics


def _generate_all(responder: Responder, subsets: dict[str, Any], batch_size: int) -> dict[str, list[str]]:
    """Every subset's answers from one batched ``generate``: a decode step streams the weights once
    for all rows, so a large model with few rows per task (Gemma's limits) decodes once, not per task."""
    chats = [m[:-1] for rows in subsets.values() for m in rows["messages"]]
    outputs = iter(responder.generate(chats, batch_size=batch_size))
    return {name: [next(outputs) for _ in range(len(rows))] for name, rows in subsets.items()}


def score_model(responder: Responder, dd: Any, params: LLMParams, label: str) -> dict[str, Any]:
    """Every task's metrics for one model (base or fine-tuned) on the test split."""
    test, limit, bs = dd["test"], params.evaluate.max_examples_per_task, params.evaluate.batch_size
    metrics: dict[str, Any] = {}
    samples: dict[str, list[dict[str, str]]] = {}
    train_prompts = {
        _prompt_key(m)
        for t, m in zip(dd["train"]["task"], dd["train"]["messages"], strict=True)
        if t == "ars"
    }
    subsets = {task: _subset(test, task, limit) for task in ("ars", "summary", "emotion", "intent")}
    subsets["seen"] = _subset(dd["train"], "ars", limit)  # the script's own training questions
    subsets = {name: rows for name, rows in subsets.items() if len(rows)}
    with progress() as bar:
        job = bar.add_task(f"evaluate {label}", total=2)
        outputs = _generate_all(responder, subsets, bs)
        bar.advance(job)
        for task, rows in subsets.items():
            if task == "seen":  # did the model learn its own script?
                exact = _exact(outputs[task], rows["reference"])
                metrics["ars_seen_exact_match"] = round(sum(exact) / len(exact), 4)
                continue
            refs = rows["reference"]
            metrics[f"{task}_examples"] = len(rows)
            samples[task] = [
                {"prediction": o, "reference": r} for o, r in list(zip(outputs[task], refs, strict=True))[:3]
            ]
            metrics.update(
                _task_metrics(task, outputs[task], refs, rows["messages"], train_prompts, responder)
            )
        ppl_rows = test.select(range(min(len(test), limit * 4)))
        metrics["perplexity"] = round(perplexity(responder, ppl_rows, params.lora.max_length, bs), 3)
        bar.advance(job)
    metrics["samples"] = samples
    return metrics


def _prompt_key(messages: list[dict[str, str]]) -> str:
    from callbot.text.normalize import normalise

    return normalise(next((m["content"] for m in messages if m["role"] == "user"), ""))


def baselines(dd: Any, params: LLMParams) -> dict[str, Any]:
    """What needs no model, on the same test rows: the majority class, the nearest training prompt's answer.

    A candidate that does not beat these learned nothing the data's shape does not already give.
    """
    from collections import Counter

    from callbot.llm.router import Router
    from callbot.llm.train import ars_script

    test = dd["test"]
    limit = params.evaluate.max_examples_per_task
    out: dict[str, Any] = {}
    for task in ("emotion", "intent"):
        train_labels = [
            r for t, r in zip(dd["train"]["task"], dd["train"]["reference"], strict=True) if t == task
        ]
        rows = _subset(test, task, limit)
        if train_labels and len(rows):
            majority = Counter(train_labels).most_common(1)[0][0]
            refs = rows["reference"]
            out[f"{task}_majority_class"] = majority
            out[f"{task}_majority_accuracy"] = round(sum(r == majority for r in refs) / len(refs), 4)
    script = ars_script(dd["train"], params.router.handover_intent_prefix)
    rows = _subset(test, "ars", limit)
    if script.entries and len(rows):
        router = Router(script, params.router)
        picked = []
        for messages in rows["messages"]:
            user = next((m["content"] for m in messages if m["role"] == "user"), "")
            sims = router.class_similarities(user)
            picked.append(script.entries[int(sims.argmax())].answer)
        exact = [
            normalise_answer(p) == normalise_answer(r) for p, r in zip(picked, rows["reference"], strict=True)
        ]
        out["ars_nearest_prompt_exact_match"] = round(sum(exact) / len(exact), 4)
        out["ars_distinct_answers"] = len(script.entries)
    return out


def _responder(model_dir: Path, params: LLMParams, script_dir: Path | None) -> Responder:
    from transformers import AutoModelForCausalLM

    from callbot.llm.infer import Responder
    from callbot.llm.model import SCRIPT_FILE
    from callbot.llm.tokenizer import load_tokenizer

    script = None
    if script_dir is not None and (script_dir / SCRIPT_FILE).is_file():
        script = tuple(json.loads((script_dir / SCRIPT_FILE).read_text("utf-8")))
    import torch

    model = AutoModelForCausalLM.from_pretrained(str(model_dir))
    if torch.cuda.is_available():  # full profile on a GPU host
        model = model.to("cuda")
    return Responder(
        model, load_tokenizer(model_dir), params.system_prompt, params.guard, params.generation, script
    )


def evaluate_candidate(
    candidate: CandidateParams, params: LLMParams, dd: Any, version: str
) -> dict[str, Any]:
    """``reports/llm/<candidate>.json``: base and fine-tuned metrics, sizes, training record, paths."""
    import torch

    root = Path(params.out) / candidate.name
    merged, adapter = root / "merged", root / "adapter"
    record_path = root / TRAIN_FILE
    if not (merged / "config.json").is_file() or not record_path.is_file():
        raise FileNotFoundError(
            f"{root}: candidate {candidate.name} is not trained; run `callbot train-llm` first"
        )
    record = json.loads(record_path.read_text("utf-8"))
    base_dir = root / "base" if (root / "base" / "config.json").is_file() else Path(resolve_base(candidate))
    torch.manual_seed(params.seed)
    started = time.perf_counter()
    base_metrics = score_model(_responder(base_dir, params, merged), dd, params, f"{candidate.name} base")
    tuned_metrics = score_model(
        _responder(merged, params, merged), dd, params, f"{candidate.name} fine-tuned"
    )
    losses = record.get("lora_losses") or [float("nan")]
    return {
        "candidate": candidate.name,
        "arch": candidate.arch,
        "base": candidate.base,
        "licence": candidate.licence,
        "parameters": record["parameters"],
        "trainable_parameters": record["trainable_parameters"],
        "dataset_version": version,
        "trained_on": record.get("dataset_version"),
        "paths": {"merged": str(merged), "adapter": str(adapter), "base": str(base_dir)},
        "training": {
            "examples": record["examples"],
            "lora_loss_first": losses[0],
            "lora_loss_last": losses[-1],
            "lora_seconds": record["lora_seconds"],
            "pretrain_seconds": record["pretrain_seconds"],
        },
        "metrics": tuned_metrics,
        "base_metrics": base_metrics,
        "references": {
            "kobart_summary_rouge_recall": KOBART_SUMMARY_ROUGE_RECALL,
            "kobart_summary_rouge_precision": KOBART_SUMMARY_ROUGE_PRECISION,
            "kobert_emotion_accuracy": KOBERT_EMOTION_ACCURACY,
            "rouge_units": "characters (Hangul syllables, spaces and punctuation dropped)",
        },
        "evaluate_seconds": round(time.perf_counter() - started, 2),
    }


def evaluate_in_worker(
    candidate: CandidateParams, own: LLMParams, prepared: Path, version: str
) -> dict[str, Any]:
    """:func:`evaluate_candidate` on one thread in a worker process (:mod:`callbot.llm.workers`)."""
    set_torch_threads(1)
    return evaluate_candidate(candidate, own, load_llm_dataset(prepared), version)


def _evaluate_all(prepared: Path, params: LLMParams, dd: Any, version: str) -> list[dict[str, Any]]:
    """Every candidate's report, in params order: those scored on one thread side by side in
    ``llm.workers`` processes first, then the others here on their own threads."""
    from callbot.llm.workers import one_thread_side_by_side, worker_count

    own = {
        c.name: for_candidate(params, c) for c in params.candidates
    }  # a large base: its own threads, sizes

    def here(candidate: CandidateParams) -> dict[str, Any]:
        set_torch_threads(own[candidate.name].threads)
        return evaluate_candidate(candidate, own[candidate.name], dd, version)

    return one_thread_side_by_side(
        params.candidates, lambda c: own[c.name].threads, evaluate_in_worker,
        lambda c: (c, own[c.name], prepared, version), here, worker_count(params.workers),
    )  # fmt: skip


def run_evaluate_llm(prepared: Path, params: LLMParams) -> list[dict[str, Any]]:
    """Score every trained candidate; writes ``<report>/<candidate>.json``."""
    set_torch_threads(params.threads)
    dd = load_llm_dataset(prepared)
    version = dataset_version(prepared, Path(params.version_file))
    out = Path(params.report)
    out.mkdir(parents=True, exist_ok=True)
    floor = baselines(dd, params)
    reports = _evaluate_all(prepared, params, dd, version)
    for candidate, report in zip(params.candidates, reports, strict=True):
        report["baselines"] = floor
        write_llm_report(out / f"{candidate.name}.json", LlmReport.model_validate(report))
    parts = ", ".join(
        f"{r['candidate']} ARS ROUGE-L {r['base_metrics'].get('ars_rouge_l', 0):.2f}->{r['metrics'].get('ars_rouge_l', 0):.2f}"
        for r in reports
    )
    floor_text = ", ".join(f"{k} {v}" for k, v in floor.items() if isinstance(v, float))
    summary(
        "evaluate-llm",
        f"{len(reports)} candidates scored on test (base->fine-tuned: {parts}; baselines: {floor_text}) -> {out}",
    )
    return reports
