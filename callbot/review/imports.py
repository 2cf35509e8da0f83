"""`callbot review import`: reviewer-accepted annotations -> ``data/corrections/corrections.jsonl``.

Only a task a reviewer accepted becomes a correction. The final value of each field is the
reviewer's own when they filled it in, else the labellers' when they agree; labellers who disagree
with no reviewer value to settle it are a conflict. Bad input is reported and skipped, never applied:
an item that no longer exists, a transcript without Hangul, a label outside its set, contradicting
verdicts, and two accepted tasks that correct the same utterance differently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import write_json, write_text
from callbot.contracts import CORRECTIONS_FILE
from callbot.prepare.schema import EMOTIONS, INTENTS
from callbot.review.annotations import FIELDS, Task, parse_tasks, verdict_of

if TYPE_CHECKING:
    from callbot.review.client import LabelStudio
    from callbot.review.params import ReviewParams

HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
LABEL_SETS = {"emotion": EMOTIONS, "intent": INTENTS}
TARGET = {"transcript": "text_raw", "emotion": "emotion", "intent": "intent"}


@dataclass
class ImportResult:
    tasks: int = 0
    accepted: int = 0
    rejected: int = 0
    pending: int = 0
    unchanged: int = 0  # accepted, but the data already said so
    corrections: list[dict[str, Any]] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)  # reported and skipped
    new_examples: int = 0  # from handed-over calls (MINOR)
    fixes: int = 0  # of existing utterances (PATCH)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "corrections"} | {
            "corrections_written": len(self.corrections)
        }


def _same(text: str) -> str:
    return " ".join(text.split())


def settle(task: Task) -> tuple[dict[str, str], str | None]:
    """The accepted value of every field filled in, or a conflict."""
    reviewer = task.verdicts[0].values
    settled: dict[str, str] = {}
    for name in FIELDS:
        if reviewer.get(name):
            settled[name] = _same(reviewer[name])
            continue
        given = {_same(a.values[name]) for a in task.labels if a.values.get(name)}
        if len(given) > 1:
            return (
                {},
                f"task {task.id}: labellers disagree on {name} ({' | '.join(sorted(given))}) and the reviewer gave none",
            )
        if given:
            settled[name] = given.pop()
    return settled, None


def check(task: Task, values: dict[str, str], known: set[str]) -> str | None:
    uid, kind = str(task.data.get("utterance_id") or ""), task.data.get("kind")
    if kind != "call" and uid not in known:
        return f"task {task.id}: utterance {uid!r} no longer exists in the prepared data"
    if "transcript" in values and not HANGUL.search(values["transcript"]):
        return f"task {task.id}: transcript {values['transcript']!r} has no Hangul"
    for name, allowed in LABEL_SETS.items():
        if name in values and values[name] not in allowed:
            return f"task {task.id}: {name} {values[name]!r} is not one of {', '.join(allowed)}"
    if kind == "call" and not HANGUL.search(values.get("answer", "")):
        return f"task {task.id}: a handed-over call needs the scripted answer the reviewer chose (in Korean)"
    return None


def _accepted_values(task: Task, known: set[str], result: ImportResult) -> dict[str, str] | None:
    """The settled, checked values of an accepted task; None (counted or reported in ``result``) for
    a task that is pending, rejected, contradictory or fails its checks."""
    verdict, issue = verdict_of(task)
    if issue:
        result.issues.append(issue)
        return None
    if verdict is None:
        result.pending += 1
        return None
    if verdict == "reject":
        result.rejected += 1
        return None
    result.accepted += 1
    values, issue = settle(task)
    issue = issue or check(task, values, known)
    if issue:
        result.issues.append(issue)
        return None
    return values


def _correction(task: Task, values: dict[str, str], now: str) -> dict[str, Any] | None:
    """The corrections entry for an accepted task: the fields its values change (all of a handed-over
    call, a new ARS example for prepare's ReviewedCalls); None when an existing item is unchanged."""
    data = task.data
    current = {
        "text_raw": data.get("current_text", ""),
        **{k: data.get(f"current_{k}", "") for k in LABEL_SETS},
    }
    changed = {
        TARGET[k]: v for k, v in values.items() if k in TARGET and _same(str(current[TARGET[k]] or "")) != v
    }
    if not changed and data.get("kind") != "call":
        return None
    entry = {
        "utterance_id": str(data["utterance_id"]),
        "kind": data.get("kind"),
        "fields": changed,
        "new": data.get("kind") == "call",
        "task_id": task.id,
        "labelled_by": sorted({a.user for a in task.labels}),
        "reviewed_by": task.verdicts[0].user,
        "reviewed_at": task.verdicts[0].created_at,
        "imported_at": now,
    }
    if entry["new"]:
        entry["transcript"] = values.get("transcript") or _same(str(data.get("current_text") or ""))
        entry["answer"] = values.get("answer")
    return entry


def _one_per_utterance(by_utterance: dict[str, list[dict[str, Any]]], result: ImportResult) -> None:
    """Keep each utterance's correction once; tasks that correct one utterance differently are
    reported, and none of them is applied."""
    for uid, entries in sorted(by_utterance.items()):
        distinct = {
            json.dumps([e["fields"], e.get("answer")], sort_keys=True, ensure_ascii=False) for e in entries
        }
        if len(distinct) > 1:
            tasks_ = ", ".join(str(e["task_id"]) for e in entries)
            result.issues.append(
                f"utterance {uid}: accepted tasks {tasks_} correct it differently; settle it in one task"
            )
            continue
        result.corrections.append(entries[0])
        if entries[0]["new"]:
            result.new_examples += 1
        else:
            result.fixes += 1


def decide(tasks: list[Task], known: set[str], now: str) -> ImportResult:
    """The corrections the reviewed tasks make, with counts and the issues that kept tasks out."""
    result = ImportResult(tasks=len(tasks))
    by_utterance: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        values = _accepted_values(task, known, result)
        if values is None:
            continue
        entry = _correction(task, values, now)
        if entry is None:
            result.unchanged += 1
            continue
        by_utterance.setdefault(entry["utterance_id"], []).append(entry)
    _one_per_utterance(by_utterance, result)
    return result


def known_ids(prepared: Path) -> set[str]:
    """Utterances a correction may apply to: the records and what prepare/validate quarantined."""
    from callbot.review.pick import _read_jsonl, read_records

    ids = set(read_records(prepared, prepared))
    for name in ("quarantine.jsonl", "quarantine_validate.jsonl"):
        ids |= {str(r.get("utterance_id") or r.get("utterance")) for r in _read_jsonl(prepared / name)}
    return ids - {"None"}


def _essence(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry.get("task_id"), entry.get("fields"), entry.get("transcript"), entry.get("answer"))


def write_corrections(directory: Path, entries: list[dict[str, Any]]) -> Path:
    """Merge ``entries`` into ``corrections.jsonl`` (a later review of an utterance replaces the earlier)."""
    path = directory / CORRECTIONS_FILE
    merged: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                old = json.loads(line)
                merged[str(old["utterance_id"])] = old
    before = dict(merged)
    for entry in entries:
        held = merged.get(entry["utterance_id"])
        if held is not None and _essence(held) == _essence(entry):
            continue  # the same review imported again: keep its first import time, change no byte
        merged[entry["utterance_id"]] = entry
    if merged == before and path.is_file():
        return path  # nothing new: the file (a DVC-tracked prepare dependency) stays as it was
    write_text(path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for _, e in sorted(merged.items())))
    return path


def run_import(params: ReviewParams, client: LabelStudio, root: Path = Path()) -> ImportResult:
    from callbot.console import summary

    project = client.project(params.project)
    if project is None:
        raise ValueError(
            f"no Label Studio project {params.project!r} at {client.url}; run `callbot review export` first"
        )
    tasks = parse_tasks(client.tasks(project["id"]), client.users(), params.reviewers)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    result = decide(tasks, known_ids(root / params.prepared), now)
    out = root / params.corrections
    out.mkdir(parents=True, exist_ok=True)
    if result.corrections:
        write_corrections(out, result.corrections)
    write_json(out / "import.json", result.as_json())
    skipped = f"; {len(result.issues)} skipped: " + " / ".join(result.issues[:3]) if result.issues else ""
    summary(
        "review import",
        f"{result.tasks} tasks: {result.accepted} accepted, {result.rejected} rejected, {result.pending} not reviewed; "
        f"{result.fixes} fixes + {result.new_examples} new examples -> {out / CORRECTIONS_FILE}{skipped}",
    )
    return result
