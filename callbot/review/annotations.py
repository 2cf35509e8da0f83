"""Reading Label Studio's JSON export: who annotated what, and what the reviewers decided.

Shared by `callbot review import` (which turns accepted work into corrections) and `callbot review
report` (which measures the labellers). An annotation by a user listed in ``review.reviewers`` is a
verdict (검수: accept or reject, optionally with the reviewer's own fixes); any other is a label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FIELDS = ("transcript", "emotion", "intent", "answer")


@dataclass(frozen=True)
class Annotation:
    id: int
    user: str  # e-mail
    values: dict[str, str]  # transcript, emotion, intent, answer, verdict: whatever was filled in
    lead_time: float  # seconds spent on the task
    created_at: str


@dataclass(frozen=True)
class Task:
    id: int
    data: dict[str, Any]
    labels: list[Annotation] = field(default_factory=list)  # labellers' annotations
    verdicts: list[Annotation] = field(default_factory=list)  # reviewers' annotations


def values_of(result: list[dict[str, Any]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for region in result or []:
        name, value = region.get("from_name"), region.get("value") or {}
        if value.get("text"):
            values[name] = " ".join(str(t) for t in value["text"]).strip()
        elif value.get("choices"):
            values[name] = str(value["choices"][0])
    return values


def parse_tasks(exported: list[dict[str, Any]], users: dict[int, str], reviewers: list[str]) -> list[Task]:
    """Label Studio's export -> tasks with labels and verdicts apart; cancelled (skipped) ones dropped."""
    reviewer_set = {r.lower() for r in reviewers}
    tasks = []
    for raw in exported:
        labels, verdicts = [], []
        for ann in raw.get("annotations") or []:
            if ann.get("was_cancelled"):
                continue
            who = ann.get("completed_by")
            email = who.get("email") if isinstance(who, dict) else users.get(int(who), f"user:{who}")
            annotation = Annotation(
                id=int(ann["id"]),
                user=str(email),
                values=values_of(ann.get("result") or []),
                lead_time=float(ann.get("lead_time") or 0.0),
                created_at=str(ann.get("created_at") or ""),
            )
            (verdicts if annotation.user.lower() in reviewer_set else labels).append(annotation)
        tasks.append(Task(int(raw["id"]), dict(raw.get("data") or {}), labels, verdicts))
    return tasks


def verdict_of(task: Task) -> tuple[str | None, str | None]:
    """(accept | reject | None when not reviewed, an issue when the reviewers contradict each other)."""
    said = {v.values.get("verdict") for v in task.verdicts}
    if not task.verdicts:
        return None, None
    if None in said:
        return None, f"task {task.id}: a reviewer's annotation has no 검수 verdict (accept or reject)"
    if len(said) > 1:
        return None, f"task {task.id}: reviewers disagree ({', '.join(sorted(s for s in said if s))})"
    return said.pop(), None
