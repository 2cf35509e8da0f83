"""reports/intent: metrics.json (DVC metrics), curve.json (the validation policy curve), report.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callbot.atomic import write_json, write_text


def _row(name: str, scores: dict[str, dict[str, Any]]) -> str:
    v, t = scores["validation"], scores["test"]
    return (
        f"| {name} | {v['accuracy']} | {v['unseen']} | {v['in_scope_unseen']} "
        f"| {t['accuracy']} | {t['unseen']} | {t['in_scope_unseen']} |"
    )


def markdown(metrics: dict[str, Any], curve: list[dict[str, float]]) -> str:
    """The report a reader checks: candidates beside baselines, calibration, policy, test once."""
    test, policy = metrics["test"], metrics["policy"]
    lines = [
        "# Intent model (train-intent)",
        "",
        f"Chosen on validation accuracy on unseen wording: **{metrics['encoder']}, C={metrics['C']:g}**. "
        "A question is right when its top intent is its own, or both are out of scope (범위외).",
        "",
        "Columns: all questions, those whose wording is unseen in training, and unseen in-scope ones",
        "(top-1 intent, no handover threshold). Out-of-scope questions include unscripted KDCA topics",
        "(범위외:스크립트없음) that training never had: only the threshold below hands them over.",
        "",
        "| candidate | val | val unseen | val in-scope unseen | test | test unseen | test in-scope unseen |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(_row(f"baseline: {n}", s) for n, s in metrics["baselines"].items()),
        *(_row(n, s) for n, s in metrics["candidates"].items()),
        "",
        "Test columns of the candidates are for reading only: the choice used validation.",
        "",
        f"Temperature {metrics['temperature']} (validation ECE {metrics['ece_before']} -> {metrics['ece_after']}; "
        f"test {test['ece_before']} -> {test['ece_after']}).",
        "",
        f"Suggested handover policy (validation): answer only when the top is in scope, its probability "
        f">= {policy['threshold']} and its margin >= {policy['margin']}. Validation: {policy['validation']}.",
        f"Test (scored once): success {test['success']}, wrong {test['wrong']}, out-of-scope handed over "
        f"{test['oos_recall']}; by kind: {test['oos_recall_by_kind']}.",
        "",
        "## Validation curve (in-scope success, wrong answers, out-of-scope recall)",
        "",
        "| threshold | margin | success | wrong | oos recall |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {p['threshold']} | {p['margin']} | {p['success']} | {p['wrong']} | {p['oos_recall']} |"
            for p in curve
        ),
    ]
    return "\n".join(lines) + "\n"


def write_reports(report: Path, metrics: dict[str, Any], curve: list[dict[str, float]]) -> None:
    report.mkdir(parents=True, exist_ok=True)
    write_json(report / "metrics.json", metrics)
    write_json(report / "curve.json", curve)
    write_text(report / "report.md", markdown(metrics, curve))
