"""The `review` Prefect flow's body and its schedule: import what reviewers accepted, report on 검수,
export the next batch. Import runs first so a re-exported item is never loaded while its last review
is still waiting to be applied; `flows/review.py` only declares the flow."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from callbot.config import load_params

ENTRYPOINT = "flows/review.py:review"


def run_review(params_file: str = "params.yaml", root: str | None = None) -> dict[str, Any]:
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    from callbot.review.client import LabelStudio
    from callbot.review.export import ensure_project, run_export
    from callbot.review.imports import run_import
    from callbot.review.report import run_report

    root_path = Path(root or os.getcwd()).resolve()  # params paths are relative to it; no chdir
    params = load_params(root_path / params_file).review
    client = LabelStudio.connect(params.server.url)  # a clear error when it is down or refuses us
    ensure_project(client, params, root_path)  # the first run imports from an empty project
    imported = task(run_import, name="review-import", cache_policy=NO_CACHE)(params, client, root_path)
    report = task(run_report, name="review-report", cache_policy=NO_CACHE)(params, client, root_path)
    exported = task(run_export, name="review-export", cache_policy=NO_CACHE)(params, client, root_path)
    tracked = task(track_corrections, name="review-track", cache_policy=NO_CACHE)(root_path, params_file)
    return {
        "accepted": imported.accepted,
        "rejected": imported.rejected,
        "fixes": imported.fixes,
        "new_examples": imported.new_examples,
        "skipped": len(imported.issues),
        "rejection_rate": report["rejection_rate"],
        "exported": exported.loaded,
        "tracked": tracked,
    }


def track_corrections(root: Path, params_file: str = "params.yaml") -> str | None:
    """`dvc add` the corrections (and `dvc push` when orchestrate.push) so they live in the DVC remote
    beside the data; prepare depends on the folder, so the next `dvc repro` applies them. None when
    there are none yet or ``root`` is not a DVC repository (a scratch copy)."""
    from callbot.contracts import CORRECTIONS_FILE
    from callbot.orchestrate.dvc import push, track

    params = load_params(root / params_file)
    path = Path(params.review.corrections) / CORRECTIONS_FILE
    if not (root / path).is_file() or not (root / ".dvc").is_dir():
        return None
    dvc_file = track(root, path)
    if params.orchestrate.push:
        push(root)
    return dvc_file


def review_deployment(flow: Any, params_file: str = "params.yaml") -> Any:
    """The daily `review` deployment for ``prefect.serve`` (review.cron in orchestrate.timezone)."""
    from prefect.schedules import Cron

    params = load_params(params_file)
    return flow.to_deployment(
        name="daily-review",
        schedules=[Cron(params.review.cron, timezone=params.orchestrate.timezone)],
        parameters={"params_file": params_file},
        description="Import reviewer-accepted corrections, report on 검수, export the next review batch.",
        tags=["callbot", "review"],
    )
