"""The Prefect side of the lifecycle: one task per DVC stage, waves run concurrently, a version task.

`flows/lifecycle.py` only declares the flow and calls :func:`run_lifecycle`; everything else is here
so it is importable and testable without Prefect's decorators in the way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from callbot.config import Params, load_params
from callbot.orchestrate.lifecycle import StageOutcome, run_stage, stages_until, waves


def _stage_task(name: str, root: str, params_file: str) -> Any:
    from prefect.states import Completed

    from callbot.orchestrate.artifacts import publish

    params = load_params(Path(root) / params_file)
    outcome = run_stage(name, Path(root), params_file)
    publish(name, params)
    if outcome.cached:
        return Completed(name="Cached", message="up to date in dvc.lock", data=outcome)
    return outcome


def _version_task(root: str, params_file: str) -> dict[str, Any]:
    from prefect.artifacts import create_markdown_artifact

    from callbot.orchestrate.dvc import push
    from callbot.orchestrate.version import record_version

    params = load_params(Path(root) / params_file)
    records = Path(root) / params.prepare.out / "records.parquet"
    entry = record_version(records, Path(root) / params.orchestrate.version_file, note="lifecycle flow")
    pushed = push(Path(root)) if params.orchestrate.push else 0
    create_markdown_artifact(
        f"dataset **{entry.version}** ({entry.bump}), {entry.fingerprint.records} records; "
        f"{pushed} files pushed to the DVC remote",
        key="dataset-version",
    )
    return {"version": entry.version, "bump": entry.bump, "pushed": pushed}


def task_runner(params: Params) -> Any:
    """Threads on one host; Dask workers (prefect-dask) when the work outgrows it."""
    if params.orchestrate.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(cluster_kwargs={"n_workers": params.orchestrate.dask_workers})
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=max(1, params.orchestrate.max_parallel_stages))


def run_lifecycle(until: str, params_file: str, root: str | None = None) -> dict[str, Any]:
    """The flow body: stages in waves (each wave's stages concurrently), version after validate."""
    from prefect import task
    from prefect.tasks import exponential_backoff

    root = str(Path(root or os.getcwd()).resolve())
    os.chdir(root)  # params paths are relative to the repository, as for `dvc repro`
    params = load_params(Path(root) / params_file)
    stage = task(_stage_task, name="stage", task_run_name="{name}")
    io_stage = stage.with_options(
        retries=params.orchestrate.retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=params.orchestrate.retry_delay_s),
    )
    version = task(_version_task, name="version", retries=params.orchestrate.retries)
    outcomes: dict[str, Any] = {}
    parallel = max(1, params.orchestrate.max_parallel_stages)
    for wave in waves(stages_until(until)):
        for start in range(0, len(wave), parallel):
            batch = wave[start : start + parallel]
            futures = [
                ((io_stage if s.io else stage).submit(s.name, root, params_file), s.name) for s in batch
            ]
            for future, name in futures:
                outcomes[name] = future.result()
        if any(s.name == "validate" for s in wave):
            outcomes["version"] = version(root, params_file)
    return outcomes


def report_summary(params: Params) -> list[str]:
    """Where a person looks after a run: data docs, STT metrics, the leaderboard, the Bento."""
    from callbot import contracts

    lines = []

    def read(reader: Callable[[Path], Any], path: Path) -> Any:
        """The contract, or None: no line when the stage has not run, its error when the file is stale."""
        try:
            return reader(path)
        except contracts.ContractError as exc:
            if path.is_file():
                lines.append(f"stale        {exc}")
            return None

    docs = Path(params.validate_.report) / "data_docs" / "index.html"
    if docs.is_file():
        lines.append(f"data docs    {docs.resolve().as_uri()}")
    stt = read(contracts.read_stt_metrics, Path(params.stt.report) / "metrics.json")
    if stt is not None:
        gates = stt.gates
        verdict = "gates passed" if gates.passed else f"gates FAILED ({gates.mode})"
        nearest = stt.baselines.get("nearest_training_text", {}).get("cer", float("nan"))
        lines.append(
            f"STT          CER {stt.base.cer:.3f} -> {stt.fine_tuned.cer:.3f} "
            f"(spaces ignored; unseen sentences {stt.unseen_cer:.3f}, nearest "
            f"training text {nearest:.3f}), WER {stt.fine_tuned.wer:.3f}, {verdict}: "
            f"{Path(params.stt.report) / 'metrics.json'}"
        )
    bot = read(contracts.read_bot_metrics, Path(params.bot.report) / "metrics.json")
    if bot is not None:
        h = {k: "n/a" if v is None else f"{v:.3f}" for k, v in bot.headline.items()}
        retrieval = bot.baselines.get("retrieval")
        base = retrieval.test.get("all", {}) if retrieval else {}
        lines.append(
            f"calls        {bot.best}: task success {h['task_success']} (unseen wording + voice "
            f"16k {h['unseen_16k']}, 8k {h['unseen_8k']}), wrong answers {h['wrong_answer_rate']}, "
            f"out of scope handed over {h['out_of_scope_handover']}, median turn {h['median_latency_s']} s; "
            f"retrieval baseline {base.get('success', float('nan')):.3f}: {Path(params.bot.report) / 'metrics.json'}"
        )
    board = Path(params.select.leaderboard) / "leaderboard.md"
    if board.is_file():
        lines.append(f"leaderboard  {board}")
    selected = read(contracts.read_selection, Path(params.select.out))
    if selected is not None:
        lines.append(f"selected     {selected.winner}  ({params.select.out})")
    bento = read(contracts.read_bento_record, Path(params.package.out))
    if bento is not None:
        lines.append(f"bento        {bento.tag}")
        lines.append(f"serve it     {bento.serve_command}")
        lines.append(f"web page     {bento.page_url}")
    return lines


def describe(outcomes: dict[str, Any]) -> str:
    parts = []
    for name, outcome in outcomes.items():
        if isinstance(outcome, StageOutcome):
            parts.append(f"{name}={'cached' if outcome.cached else f'{outcome.seconds:.0f}s'}")
        elif isinstance(outcome, dict) and "version" in outcome:
            parts.append(f"dataset={outcome['version']}")
    return " ".join(parts)
