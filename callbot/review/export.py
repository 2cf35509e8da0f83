"""`callbot review export`: the ranked items -> tasks of the Label Studio review project.

Each task shows the clip and what the data holds now, and is pre-annotated with the model's output
(the joint transcript, cleanlab's suggested label), so a labeller corrects rather than types. A task
already in the project (same ``key``) is not loaded twice: the scheduled flow can export every day.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.prepare.schema import EMOTIONS, INTENTS

if TYPE_CHECKING:
    from callbot.review.client import LabelStudio
    from callbot.review.params import ReviewParams
    from callbot.review.pick import Item

VERDICTS = ("accept", "reject")
MODEL_VERSION = "callbot"


def _choices(name: str, values: tuple[str, ...], to: str = "audio") -> str:
    options = "".join(f'<Choice value="{v}"/>' for v in values)
    return f'<Choices name="{name}" toName="{to}" choice="single" showInline="true">{options}</Choices>'


LABEL_CONFIG = (
    "<View>"
    '<Header value="$kind · $reason"/>'
    '<Audio name="audio" value="$audio"/>'
    '<Text name="current" value="$text"/>'
    '<Header value="전사 (transcript)" size="6"/>'
    '<TextArea name="transcript" toName="audio" rows="2" maxSubmissions="1" editable="true"/>'
    '<Header value="감정 (emotion)" size="6"/>'
    f"{_choices('emotion', EMOTIONS)}"
    '<Header value="의도 (intent)" size="6"/>'
    f"{_choices('intent', INTENTS)}"
    '<Header value="안내 답변 (the scripted answer, for a handed-over call)" size="6"/>'
    '<TextArea name="answer" toName="current" rows="2" maxSubmissions="1" editable="true"/>'
    '<Header value="검수 (reviewers only)" size="6"/>'
    f"{_choices('verdict', VERDICTS)}"
    "</View>"
)


def textarea(name: str, text: str, to: str = "audio") -> dict[str, Any]:
    return {"from_name": name, "to_name": to, "type": "textarea", "value": {"text": [text]}}


def choice(name: str, value: str) -> dict[str, Any]:
    return {"from_name": name, "to_name": "audio", "type": "choices", "value": {"choices": [value]}}


def audio_url(path: str | None, files_root: Path) -> str:
    """Label Studio's local-files URL for ``path`` (it must lie under the served root)."""
    if not path:
        return ""
    relative = Path(path).resolve().relative_to(Path(files_root).resolve())
    return f"/data/local-files/?d={relative.as_posix()}"


def to_task(item: Item, files_root: Path) -> dict[str, Any]:
    labels = ", ".join(f"{k}={v}" for k, v in item.labels.items() if v) or "-"
    data = {
        "key": item.key,
        "kind": item.kind,
        "utterance_id": item.utterance_id,
        "reason": item.reason,
        "value": item.value,
        "audio": audio_url(item.audio, files_root),
        "text": f"{item.text}  [{labels}]",
        "current_text": item.text,
        **{f"current_{k}": v or "" for k, v in item.labels.items()},
    }
    result = [textarea("transcript", item.suggestion.get("transcript") or item.text)]
    for column in ("emotion", "intent"):
        value = item.suggestion.get(column) or item.labels.get(column)
        if value:
            result.append(choice(column, value))
    return {
        "data": data,
        "predictions": [{"model_version": MODEL_VERSION, "score": item.value, "result": result}],
    }


@dataclass(frozen=True)
class ExportResult:
    project_id: int
    offered: dict[str, int]  # items each source found
    ranked: int  # after one-per-utterance and max_tasks
    loaded: int  # new tasks imported
    already: int  # ranked items already in the project


def files_root(root: Path) -> Path:
    """The directory Label Studio serves audio from (LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT): the repository."""
    return Path(os.environ.get("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT") or root).resolve()


def ensure_project(client: LabelStudio, params: ReviewParams, root: Path) -> dict[str, Any]:
    project = client.ensure_project(
        params.project,
        LABEL_CONFIG,
        "callbot: what the models doubt. Labellers correct the transcript and labels; reviewers add "
        "one annotation with 검수 accept or reject (and may fix the values themselves).",
    )
    audio = files_root(root) / "data"  # Label Studio refuses the served root itself as a storage
    audio.mkdir(parents=True, exist_ok=True)
    client.ensure_local_storage(project["id"], str(audio))
    return project


def run_export(params: ReviewParams, client: LabelStudio, root: Path = Path()) -> ExportResult:
    from callbot.console import summary
    from callbot.review.pick import collect

    items, offered = collect(params, root)
    project = ensure_project(client, params, root)
    known = {t["data"].get("key") for t in client.tasks(project["id"])}
    base = files_root(root)
    fresh = [to_task(i, base) for i in items if i.key not in known]
    loaded = client.import_tasks(project["id"], fresh)
    result = ExportResult(project["id"], offered, len(items), loaded, len(items) - len(fresh))
    found = ", ".join(f"{k} {v}" for k, v in offered.items())
    summary(
        "review export",
        f"{found} found; {result.ranked} ranked, {loaded} new tasks loaded into '{params.project}' "
        f"({result.already} already there) at {client.url}/projects/{project['id']}",
    )
    return result
