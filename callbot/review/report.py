"""`callbot review report`: inspection (검수) figures per labeller, from the review project.

Per labeller: tasks annotated, time per task (Label Studio's lead time), throughput (tasks per hour
of labelling time), reviewed tasks, rejections and the rejection rate (반려율); agreement where two
labellers did the same clip: CER between their transcripts (spaces ignored, callbot.text.metrics) and
Cohen's kappa of their emotion and intent labels. Written as ``report.json`` and ``report.html``
under ``review.report``; inside a Prefect run it is also posted as a table artifact.
"""

from __future__ import annotations

import html
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import write_json, write_text
from callbot.review.annotations import Task, parse_tasks, verdict_of

if TYPE_CHECKING:
    from callbot.review.client import LabelStudio
    from callbot.review.params import ReviewParams


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """Cohen's kappa of two raters over the same items; None without items; 1.0 when both always agree
    on a single category (chance agreement is then 1 and the usual formula is undefined)."""
    if len(a) != len(b):
        raise ValueError("kappa needs the two raters' labels of the same items")
    if not a:
        return None
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    categories = set(a) | set(b)
    expected = sum((a.count(c) / n) * (b.count(c) / n) for c in categories)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _new_annotator() -> dict[str, Any]:
    return {"tasks": 0, "seconds": 0.0, "reviewed": 0, "rejected": 0, "pair_cers": []}


def _count_annotations(task: Task, verdict: str | None, stats: dict[str, dict[str, Any]]) -> None:
    """Add the task to each of its annotators' counts: tasks, time spent, and the review's verdict."""
    for ann in task.labels:
        row = stats[ann.user]
        row["tasks"] += 1
        row["seconds"] += ann.lead_time
        if verdict is not None:
            row["reviewed"] += 1
            row["rejected"] += verdict == "reject"


def _compare_annotators(
    task: Task,
    stats: dict[str, dict[str, Any]],
    pairs: dict[str, tuple[list[str], list[str]]],
    cers: list[float],
) -> None:
    """For every two annotators of the task: their transcripts' disagreement (CER, also kept per
    annotator) and their paired emotion / intent labels for Cohen's kappa."""
    from callbot.text.metrics import disagreement

    for first, second in combinations(sorted(task.labels, key=lambda x: x.user), 2):
        if first.user == second.user:
            continue
        one, two = first.values.get("transcript"), second.values.get("transcript")
        if one and two:
            value = disagreement(one, two)
            cers.append(value)
            stats[first.user]["pair_cers"].append(value)
            stats[second.user]["pair_cers"].append(value)
        for name, (left, right) in pairs.items():
            if first.values.get(name) and second.values.get(name):
                left.append(first.values[name])
                right.append(second.values[name])


def _annotator_rows(stats: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per annotator (by name): pace, review outcome and transcript CER against the others."""
    annotators = []
    for user, row in sorted(stats.items()):
        seconds, n = row["seconds"], row["tasks"]
        annotators.append(
            {
                "annotator": user,
                "tasks": n,
                "seconds_per_task": _round(seconds / n if n else None, 2),
                "tasks_per_hour": _round(n / (seconds / 3600) if seconds else None, 1),
                "reviewed": row["reviewed"],
                "rejected": row["rejected"],
                "rejection_rate": _round(row["rejected"] / row["reviewed"] if row["reviewed"] else None),
                "transcript_cer_vs_others": _round(
                    sum(row["pair_cers"]) / len(row["pair_cers"]) if row["pair_cers"] else None
                ),
            }
        )
    return annotators


def build_report(tasks: list[Task]) -> dict[str, Any]:
    """Review totals, agreement between annotators (transcript CER, label kappas) and per-annotator rows."""
    stats: dict[str, dict[str, Any]] = defaultdict(_new_annotator)
    pairs: dict[str, tuple[list[str], list[str]]] = {"emotion": ([], []), "intent": ([], [])}
    cers: list[float] = []
    reviewed = rejected = 0
    for task in tasks:
        verdict, _ = verdict_of(task)
        if verdict is not None:
            reviewed += 1
            rejected += verdict == "reject"
        _count_annotations(task, verdict, stats)
        _compare_annotators(task, stats, pairs, cers)
    return {
        "tasks": len(tasks),
        "annotated_tasks": sum(bool(t.labels) for t in tasks),
        "reviewed": reviewed,
        "rejected": rejected,
        "rejection_rate": _round(rejected / reviewed if reviewed else None),
        "agreement": {
            "double_transcribed": len(cers),
            "transcript_cer": _round(sum(cers) / len(cers) if cers else None),
            **{f"{name}_kappa": _round(cohen_kappa(*pair)) for name, pair in pairs.items()},
            **{f"{name}_pairs": len(pair[0]) for name, pair in pairs.items()},
        },
        "annotators": _annotator_rows(stats),
    }


def render_html(report: dict[str, Any]) -> str:
    def cell(value: Any) -> str:
        return "–" if value is None else html.escape(str(value))

    columns = list(report["annotators"][0]) if report["annotators"] else ["annotator"]
    rows = "".join(
        "<tr>" + "".join(f"<td>{cell(r[c])}</td>" for c in columns) + "</tr>" for r in report["annotators"]
    )
    agreement = "".join(f"<li>{html.escape(k)}: {cell(v)}</li>" for k, v in report["agreement"].items())
    return (
        "<!doctype html><html lang='ko'><meta charset='utf-8'><title>callbot review (검수)</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style>"
        f"<h1>검수 report</h1><p>{report['tasks']} tasks, {report['annotated_tasks']} annotated, "
        f"{report['reviewed']} reviewed, {report['rejected']} rejected: 반려율 {cell(report['rejection_rate'])}</p>"
        f"<h2>Agreement</h2><ul>{agreement}</ul><h2>Annotators</h2><table><tr>"
        + "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        + f"</tr>{rows}</table></html>\n"
    )


def publish(report: dict[str, Any]) -> bool:
    """A Prefect table artifact when called inside a flow or task run; False outside one."""
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        return False
    from prefect.artifacts import create_table_artifact

    create_table_artifact(
        report["annotators"] or [{"annotator": "-"}],
        key="review-inspection",
        description=(
            f"검수: {report['reviewed']} reviewed, 반려율 {report['rejection_rate']}; transcript CER between "
            f"labellers {report['agreement']['transcript_cer']}, emotion kappa {report['agreement']['emotion_kappa']}"
        ),
    )
    return True


def run_report(params: ReviewParams, client: LabelStudio, root: Path = Path()) -> dict[str, Any]:
    from callbot.console import summary

    project = client.project(params.project)
    if project is None:
        raise ValueError(
            f"no Label Studio project {params.project!r} at {client.url}; run `callbot review export` first"
        )
    report = build_report(parse_tasks(client.tasks(project["id"]), client.users(), params.reviewers))
    out = root / params.report
    write_json(out / "report.json", report)
    write_text(out / "report.html", render_html(report))
    publish(report)
    agreement = report["agreement"]
    summary(
        "review report",
        f"{report['reviewed']} reviewed, 반려율 {report['rejection_rate']}; transcript CER between labellers "
        f"{agreement['transcript_cer']} ({agreement['double_transcribed']} clips), emotion kappa "
        f"{agreement['emotion_kappa']}, intent kappa {agreement['intent_kappa']} -> {out}",
    )
    return report
