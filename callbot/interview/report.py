"""reports/interview: metrics.json (DVC metrics) and report.md, beside the dataset page's references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callbot.atomic import write_json, write_text

# The AI-Hub interview page (dataSetSn 71592), its model table: on the real 84,134 label files.
PAGE_EMOTION_ACCURACY = 0.9519  # KoBERT, emotion (positive/negative/neutral), test accuracy
PAGE_ROUGE_RECALL = 0.6776  # KoBART summaries, ROUGE recall (the page names no n-gram order or tokeniser)
PAGE_ROUGE_PRECISION = 0.6434


def _heads(task: dict[str, Any]) -> list[str]:
    rows = []
    for name, result in task.items():
        v, t = result["validation"], result["test"]
        label = f"majority ({result['label']})" if name == "majority" else f"{name} (C={result['C']:g})"
        rows.append(
            f"| {label} | {v['macro_f1']} | {v['accuracy']} | {t['macro_f1']} | {t['accuracy']} "
            f"| {t['accuracy_seen']} | {t['accuracy_unseen']} |"
        )
    return rows


def _summaries(summary: dict[str, Any]) -> list[str]:
    rows = []
    for name, result in summary.items():
        t = result["test"]
        rows.append(
            f"| {name} (share {result['share']:g}) | {result['validation']['rouge_l']} | {t['rouge_l']} "
            f"| {t['rouge_1_recall']} | {t['rouge_1_precision']} | {t['rouge_2']} "
            f"| {t['rouge_l_seen']} | {t['rouge_l_unseen']} |"
        )
    return rows


def _classification(metrics: dict[str, Any]) -> list[str]:
    lines = []
    for task in ("emotion", "intent"):
        lines += [
            f"## {task.capitalize()}",
            "",
            "| model | val macro-F1 | val acc | test macro-F1 | test acc | test acc seen | test acc unseen |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            *_heads(metrics[task]),
            "",
        ]
    return lines


def markdown(metrics: dict[str, Any]) -> str:
    """The figures beside their baselines and the page's references, with what they can and cannot say."""
    data = metrics["data"]
    lines = [
        "# Interview analysis (callbot interview)",
        "",
        "**These are synthetic sample data** (callbot/sample: template sentences with slot values), not the",
        "AI-Hub release: the figures test the pipeline, they say nothing about real interview answers.",
        "",
        "Answers: " + ", ".join(f"{k} {v}" for k, v in data["answers"].items()) + "; unseen wording (a sentence "
        "no train answer has word for word): " + ", ".join(f"{k} {v}" for k, v in data["unseen"].items()) + ".",
        "The generator never holds out the emotion sentences (one per answer, from a fixed list), and an",
        "answer's intent is its topic, whose sentence templates are mostly shared with train: seen and",
        "unseen test answers share templates with train, unseen ones add a held-out sentence or value.",
        "",
        f"Page references (real data): KoBERT emotion accuracy {PAGE_EMOTION_ACCURACY}; KoBART summary ROUGE",
        f"recall {PAGE_ROUGE_RECALL}, precision {PAGE_ROUGE_PRECISION} (the page names no n-gram order or",
        "tokeniser; ours are Hangul-character ROUGE, callbot/llm/rouge.py, so the two are not comparable).",
        "",
        *_classification(metrics),
        "On template sentences char n-grams can match the wording exactly, which the mean of frozen",
        "sentence embeddings does not: read the TF-IDF rows with that in mind.",
        "",
        "## Extractive summary (character ROUGE against the labelled summary)",
        "",
        "| method | val ROUGE-L | test ROUGE-L | test R-1 recall | test R-1 precision | test ROUGE-2 | test R-L seen | test R-L unseen |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *_summaries(metrics["summary"]),
        "",
        "C and the kept share (of the answer's sentences; 0 keeps one) were chosen on validation, shares",
        "below 1 only (a summary is shorter than its answer); test was scored once with them. The whole",
        "answer is no summary: its row shows what dropping sentences costs against these references.",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def summary_line(metrics: dict[str, Any]) -> str:
    parts = []
    for task in ("emotion", "intent"):
        found = metrics[task]
        heads = ", ".join(f"{n} {r['test']['macro_f1']}" for n, r in found.items())
        parts.append(f"{task} test macro-F1 {heads}")
    s = metrics["summary"]
    parts.append(
        f"summary test ROUGE-L centroid {s['centroid']['test']['rouge_l']}, lead {s['lead']['test']['rouge_l']}"
    )
    return "; ".join(parts)


def write_reports(report: Path, metrics: dict[str, Any]) -> None:
    report.mkdir(parents=True, exist_ok=True)
    write_json(report / "metrics.json", metrics)
    write_text(report / "report.md", markdown(metrics))
