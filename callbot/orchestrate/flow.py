"""The Prefect side of the lifecycle: one task per stage of dvc.yaml's graph, run in DVC's order.

The stages, their commands and their order come from DVC (callbot.orchestrate.lifecycle.pipeline):
each task waits for the tasks of the stages whose outputs it reads, so stages with no path between
them run at once (up to ``orchestrate.max_parallel_stages`` threads, or the Dask workers), and a
stage that fails stops its downstream. `flows/lifecycle.py` only declares the flow and calls
:func:`run_lifecycle`; everything else is here so it is importable and testable.

The flow's settings are its parameters (``until``, ``params_file``, ``root``): params.yaml is read
when a run starts, never at import, and nothing changes the working directory; every path is taken
relative to ``root``. The stages run in a subflow whose task runner the run's own params choose
(``orchestrate.task_runner``), so a scheduled run honours them as a script run does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from callbot.config import Params, load_params
from callbot.orchestrate.lifecycle import (
    StageFailed,
    StageNode,
    StageOutcome,
    pipeline,
    run_stage,
    upstream_of,
)


def _stage_task(node: StageNode, root: str, params_file: str) -> Any:
    from prefect import get_run_logger
    from prefect.states import Completed

    from callbot.orchestrate.artifacts import publish

    outcome = run_stage(Path(root), node)
    get_run_logger().info(outcome.line())  # the stage's one line in the task's log in the UI
    publish(node.name, load_params(Path(root) / params_file), Path(root))
    if outcome.cached:
        return Completed(name="Cached", message="up to date in dvc.lock", data=outcome)
    return outcome


def _push_task(root: str, stages: list[str]) -> int:
    from prefect.artifacts import create_markdown_artifact

    from callbot.orchestrate.dvc import push

    pushed = push(Path(root), stages)
    create_markdown_artifact(
        f"{pushed} files of {', '.join(stages)} pushed to the DVC remote", key="dvc-push"
    )
    return pushed


def task_runner(params: Params) -> Any:
    """Threads on one host; Dask workers (prefect-dask) when the work outgrows it."""
    if params.orchestrate.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(cluster_kwargs={"n_workers": params.orchestrate.dask_workers})
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=max(1, params.orchestrate.max_parallel_stages))


def _retries(params: Params, names: list[str]) -> dict[str, int]:
    unknown = sorted(set(params.orchestrate.retries) - {*names, "push"})
    if unknown:
        raise ValueError(
            f"params.yaml orchestrate.retries: {', '.join(unknown)} is no dvc.yaml stage; "
            f"stages are: {', '.join(names)} (and push)"
        )
    return params.orchestrate.retries


def run_lifecycle(
    until: str, params_file: str, root: str | None = None, echo: bool = False
) -> dict[str, Any]:
    """The flow body: ``until`` and its upstream in dvc.yaml's graph, then `dvc push` of them.

    ``echo`` prints each stage's line as the stage finishes (flows/lifecycle.py run as a script).
    Raises :class:`StageFailed` naming the stages that failed or did not run, after the others finished.
    """
    from prefect import flow, task
    from prefect.tasks import exponential_backoff

    root = str(Path(root or os.getcwd()).resolve())  # params paths are relative to it; no chdir
    params = load_params(Path(root) / params_file)
    stages = flow(_run_stages, name="lifecycle-stages", task_runner=task_runner(params))
    outcomes = stages(until, params_file, root, echo)
    if params.orchestrate.push:
        delay = exponential_backoff(backoff_factor=params.orchestrate.retry_delay_s)
        retries = params.orchestrate.retries.get("push", 0)  # checked by the subflow's _retries
        push = task(_push_task, name="push", retries=retries, retry_delay_seconds=delay)
        outcomes["push"] = push(root, [s for s in outcomes if s != "push"])
    return outcomes


def _run_stages(until: str, params_file: str, root: str, echo: bool = False) -> dict[str, Any]:
    """The subflow: one task per stage, each waiting for its upstream's tasks."""
    from prefect import task
    from prefect.tasks import exponential_backoff

    params = load_params(Path(root) / params_file)
    every = pipeline(Path(root))
    nodes = upstream_of(every, until)
    retries = _retries(params, list(every))
    delay = exponential_backoff(backoff_factor=params.orchestrate.retry_delay_s)
    stage = task(_stage_task, name="stage", task_run_name="{node.name}")
    futures: dict[str, Any] = {}
    for name, node in nodes.items():  # DVC's order: every upstream is submitted first
        runner = stage.with_options(retries=retries.get(name, 0), retry_delay_seconds=delay)
        futures[name] = runner.submit(node, root, params_file, wait_for=[futures[u] for u in node.upstream])
    outcomes: dict[str, Any] = {}
    failed: list[str] = []
    skipped: list[str] = []
    for name, future in futures.items():
        future.wait()
        state = future.state
        if state.is_completed():
            outcomes[name] = future.result()
            line = outcomes[name].line()
        else:
            (failed if state.is_failed() or state.is_crashed() else skipped).append(name)
            line = f"{name:<13} {'failed' if name in failed else 'not run'}  {state.message or ''}".rstrip()
        if echo:
            print(line, flush=True)
    if failed or skipped:
        raise StageFailed(
            f"failed: {', '.join(failed) or 'none'}"
            + (f"; not run, an upstream stage failed: {', '.join(skipped)}" if skipped else "")
        )
    return outcomes


def report_summary(params: Params, root: Path = Path()) -> list[str]:
    """Where a person looks after a run: data docs, STT metrics, the leaderboard, the Bento; the
    params' paths are read relative to ``root``."""
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

    history = read(contracts.read_dataset_versions, (root / params.version.out))
    if history is not None:
        lines.append(f"dataset      {history.current}  ({params.version.out})")
    docs = (root / params.validate_.report) / "data_docs" / "index.html"
    if docs.is_file():
        lines.append(f"data docs    {docs.resolve().as_uri()}")
    stt = read(contracts.read_stt_metrics, (root / params.stt.report) / "metrics.json")
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
    selected = read(contracts.read_selection, root / params.select.out)
    bot = read(contracts.read_bot_metrics, (root / params.bot.report) / "metrics.json")
    if bot is not None and selected is not None and selected.headline:
        h = {k: "n/a" if v is None else f"{v:.3f}" for k, v in selected.headline.items()}
        retrieval = bot.baselines.get("retrieval")
        base = retrieval.test.get("all", {}) if retrieval else {}
        lines.append(
            f"calls        {selected.winner}: task success {h['task_success']} (unseen wording + voice "
            f"16k {h['unseen_16k']}, 8k {h['unseen_8k']}), wrong answers {h['wrong_answer_rate']}, "
            f"out of scope handed over {h['out_of_scope_handover']}, {h.get('turns_per_call', 'n/a')} turns "
            f"per call, median turn {h['median_latency_s']} s; retrieval baseline "
            f"{base.get('success', float('nan')):.3f}: {Path(params.bot.report) / 'metrics.json'}"
        )
    board = (root / params.select.leaderboard) / "leaderboard.md"
    if board.is_file():
        lines.append(f"leaderboard  {board}")
    if selected is not None:
        lines.append(f"selected     {selected.winner}  ({params.select.out})")
    bento = read(contracts.read_bento_record, (root / params.package.out))
    if bento is not None:
        lines.append(f"bento        {bento.tag}")
        lines.append(f"serve it     {bento.serve_command}")
        lines.append(f"web page     {bento.page_url}")
    return lines


def describe(outcomes: dict[str, Any]) -> str:
    """One line for the whole run: how many stages ran and were cached, and the time they took."""
    stages = [o for o in outcomes.values() if isinstance(o, StageOutcome)]
    ran = [o for o in stages if not o.cached]
    text = f"{len(ran)} stages ran ({sum(o.seconds for o in ran):.0f}s), {len(stages) - len(ran)} cached"
    if isinstance(outcomes.get("push"), int):
        text += f", {outcomes['push']} files pushed to the DVC remote"
    return text
