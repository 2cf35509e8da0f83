"""Both entrances agree: what `dvc repro` built the Prefect flow finds cached, and the reverse.

Runs the real stages on a tiny stub-audio sample inside a throwaway git + DVC copy of the project.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.flows.conftest import run

pytestmark = pytest.mark.slow


def _dvc(root: Path, *args: str) -> str:
    return run([sys.executable, "-m", "dvc", *args], root).stdout


def params_of(root: Path) -> dict:
    return yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))


def _flow(root: Path, until: str, flow=None) -> dict:
    from flows.lifecycle import lifecycle

    cwd = os.getcwd()
    try:
        return (flow or lifecycle)(until=until, root=str(root))
    finally:
        os.chdir(cwd)


def _task_logs() -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # the batches still queued
    with get_client(sync_client=True) as client:
        return [log.message for log in client.read_logs(limit=200)]


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def test_dvc_then_prefect_then_dvc_agree(project: Path, prefect_server) -> None:
    from prefect.artifacts import Artifact

    from callbot.orchestrate.lifecycle import StageOutcome

    _dvc(project, "repro", "validate", "version")
    assert '"current": "1.0.0"' in (project / "versions" / "dataset.json").read_text(encoding="utf-8")
    outcomes = _flow(project, "validate,version")
    stages = ["sample", "ingest", "prepare", "validate", "version"]
    # after dvc repro, every stage is a Prefect cache hit (its state is named Cached, data kept)
    assert all(isinstance(outcomes[s], StageOutcome) and outcomes[s].cached for s in stages), outcomes
    assert "bases" not in outcomes  # --until: those stages and their upstream in DVC's graph

    summary = Artifact.get("validation-summary")
    assert summary is not None and "labels" in str(summary.data)
    assert Artifact.get("dvc-push") is not None

    # a change to prepare's own params re-runs prepare and what follows it, nothing before
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["prepare"]["split"]["salt"] = "another-salt"
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8")
    outcomes = _flow(project, "validate,version")
    assert [s for s in stages if outcomes[s].cached] == ["sample", "ingest"]
    assert "(patch)" in outcomes["version"].summary  # same utterances, new split assignment
    assert outcomes["prepare"].summary and "prepare" in outcomes["prepare"].line()

    # each stage's line reaches its task's log (the Prefect UI), not only "Finished in state ..."
    logs = _task_logs()
    assert any(m.startswith("prepare") and " ran " in m and outcomes["prepare"].summary in m for m in logs)
    assert any(m.startswith("sample") and " cached " in m for m in logs)

    # ...and after that Prefect run, DVC finds nothing to do
    assert "Data and pipelines are up to date" in _dvc(project, "status", "validate", "version")
    assert "didn't change, skipping" in _dvc(project, "repro", "validate", "version")


def test_push_pull_round_trip_through_the_local_remote(project: Path) -> None:
    _dvc(project, "repro", "prepare")
    records = project / "data" / "prepared" / "records.parquet"
    before = records.read_bytes()
    _dvc(project, "push")
    shutil.rmtree(project / "data" / "prepared")
    shutil.rmtree(project / ".dvc" / "cache")
    _dvc(project, "pull", "prepare")
    assert records.read_bytes() == before
    assert "Data and pipelines are up to date" in _dvc(project, "status", "prepare")


def test_experiment_with_a_set_param(project: Path) -> None:
    _dvc(project, "repro", "ingest")
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "baseline"], project)
    out = _dvc(project, "exp", "run", "-S", "prepare.split.salt=exp-salt", "prepare")
    assert "Ran experiment" in out
    shown = _dvc(project, "exp", "show", "--no-pager", "--csv")
    assert "exp-salt" in shown


def test_full_lifecycle_to_a_bento_then_an_llm_param_reruns_only_llm_stages(
    project: Path, prefect_server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The flow end to end (sample -> Bento); then a LoRA rank change re-runs the LLM stages and
    what follows them, and every stage before them is a cache hit."""
    import json

    from prefect.artifacts import Artifact

    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "bentoml"))
    outcomes = _flow(project, "package")
    stages = ["sample", "ingest", "prepare", "validate", "version", "bases", "train_stt", "train_llm",
              "evaluate_stt", "evaluate_llm", "evaluate_bot", "select", "package"]  # fmt: skip
    assert all(not outcomes[s].cached for s in stages), outcomes
    bento = json.loads((project / "models" / "bento.json").read_text(encoding="utf-8"))
    assert bento["tag"].startswith("callbot:")
    bot = json.loads((project / "reports" / "bot" / "metrics.json").read_text(encoding="utf-8"))
    assert set(bot["candidates"]) == {c["name"] for c in params_of(project)["llm"]["candidates"]}
    assert bot["items"]["test"] > 0 and "retrieval" in bot["baselines"]
    for key in ("validation-summary", "stt-cer-by-slice", "bot-end-to-end", "llm-leaderboard", "bento"):
        assert Artifact.get(key) is not None, key
    assert "Data and pipelines are up to date" in _dvc(project, "status", "--with-deps", "package")

    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["llm"]["lora"]["r"] = 4
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8")
    outcomes = _flow(project, "package")
    reran = [s for s in stages if not outcomes[s].cached]
    assert reran == ["train_llm", "evaluate_llm", "evaluate_bot", "select", "package"]
    assert "Data and pipelines are up to date" in _dvc(project, "status", "--with-deps", "package")


# outputs that record when they were written (GE's run ids and times, the version's timestamp)
RUN_STAMPED = ("reports/validation/data_docs", "reports/validation/validations", "versions/dataset.json")


def _lock_entries(root: Path) -> set[tuple[str, str]]:
    """dvc.lock as (stage, one entry) pairs: cmd, each dep's and out's hash, each param's value."""
    lock = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8"))["stages"]
    entries = set()
    for stage, entry in lock.items():
        entries.add((stage, f"cmd {entry['cmd']}"))
        for item in [*entry.get("deps", []), *entry.get("outs", [])]:
            if item["path"] not in RUN_STAMPED:
                entries.add((stage, f"{item['path']} {item.get('md5')} {item.get('nfiles')}"))
        for values in entry.get("params", {}).values():
            entries.add((stage, f"params {sorted(values.items())}"))
    return entries


def test_the_data_stages_on_a_dask_cluster_leave_the_same_dvc_lock(project: Path, prefect_server) -> None:
    """orchestrate.task_runner: dask. The data stages on a Dask LocalCluster (two worker processes,
    through prefect-dask) commit the same dvc.lock as the default thread runner: same hashes of
    every dependency and output; the runner is chosen by the run's params, read when it starts."""

    def stub_audio(root: Path) -> None:
        """Orchestration, not speech: stub WAVs keep it short, and the gate lets their silence pass."""
        params = params_of(root)
        params["sample"]["audio"] = "stub"
        params["validate"]["quarantine_limit"] = 1.0
        for rule in ("not_silent", "duration_in_bounds", "duration_matches_label"):
            params["validate"]["audio"][rule]["severity"] = "warning"
        params["orchestrate"]["push"] = False
        (root / "params.yaml").write_text(
            yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8"
        )

    stub_audio(project)
    stages = ["sample", "ingest", "prepare", "validate", "version"]
    on_threads = _flow(project, "validate,version")
    on_threads_lock = _lock_entries(project)
    # the same repository again from the same download tree: everything after sample is rebuilt
    # (ingest's resume state lives beside data/raw, so removing the outputs starts it afresh)
    for name in ("data/raw", "data/prepared", "reports", "versions"):
        shutil.rmtree(project / name, ignore_errors=True)
    lock = yaml.safe_load((project / "dvc.lock").read_text(encoding="utf-8"))
    lock["stages"] = {"sample": lock["stages"]["sample"]}
    (project / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False), encoding="utf-8")
    shutil.rmtree(project / "data" / "raw.ingest-state", ignore_errors=True)
    params = params_of(project)
    params["orchestrate"].update(task_runner="dask", dask_workers=2)
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8")
    on_dask = _flow(project, "validate,version")
    assert all(not on_threads[s].cached for s in stages)
    assert [s for s in stages if on_dask[s].cached] == ["sample"]
    on_dask_lock = _lock_entries(project)
    assert {stage for stage, _ in on_dask_lock} == set(stages)
    differ = sorted(on_dask_lock ^ on_threads_lock)
    assert not differ, differ
    assert "Data and pipelines are up to date" in _dvc(project, "status", "validate", "version")


def test_the_script_prints_one_line_per_stage_and_the_summary(project: Path, tmp_path: Path) -> None:
    """`make demo`'s output: a line per stage (name, ran or cached, seconds, its summary), the run's
    line, nothing from the libraries; the stage's summary is also in its task's log."""
    import re

    params = params_of(project)
    params["sample"]["audio"] = "stub"  # orchestration, not speech
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8")
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "flows/lifecycle.py", "--until", "ingest"]
    first = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert re.fullmatch(r"sample +ran +\d+s  28 interviews .*; callcenter: \d+ dialogues .*", lines[0]), lines
    assert re.fullmatch(r"ingest +ran +\d+s  .*archives.*", lines[1]), lines
    assert lines[2].startswith("lifecycle: 2 stages ran") and "files pushed" in lines[2], lines
    assert first.stderr == ""
    again = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert [line.split()[:2] for line in again.stdout.splitlines()[:2]] == [
        ["sample", "cached"],
        ["ingest", "cached"],
    ]
    assert again.stderr == ""


def test_a_failed_stage_stops_its_downstream_only(project: Path, prefect_server) -> None:
    """Stub audio fails the data gate (silent clips): train_llm, downstream of validate, does not
    run; version, beside validate, does; the flow fails naming both, and nothing of validate is
    committed to dvc.lock."""
    from callbot.orchestrate.lifecycle import StageFailed, stage_log

    params = params_of(project)
    params["sample"]["audio"] = "stub"
    params["orchestrate"]["push"] = False
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8")
    with pytest.raises(StageFailed, match=r"failed: validate; not run, an upstream stage failed: train_llm"):
        _flow(project, "train_llm,version")
    lock = yaml.safe_load((project / "dvc.lock").read_text(encoding="utf-8"))["stages"]
    assert {"sample", "ingest", "prepare", "version", "bases"} <= set(lock)
    assert "validate" not in lock and "train_llm" not in lock
    assert "FAILED" in stage_log(project, "validate").read_text(encoding="utf-8")
