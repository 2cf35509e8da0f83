"""Both entrances agree: what `dvc repro` built the Prefect flow finds cached, and the reverse.

Runs the real stages on a tiny stub-audio sample inside a throwaway git + DVC copy of the project.
"""

from __future__ import annotations

import os
import shutil
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
    assert "Data and pipelines are up to date" in _dvc(project, "status")

    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["llm"]["lora"]["r"] = 4
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8")
    outcomes = _flow(project, "package")
    reran = [s for s in stages if not outcomes[s].cached]
    assert reran == ["train_llm", "evaluate_llm", "evaluate_bot", "select", "package"]
    assert "Data and pipelines are up to date" in _dvc(project, "status")


def test_the_data_stages_on_a_dask_cluster_leave_the_same_dvc_lock(
    project: Path, prefect_server, tmp_path: Path
) -> None:
    """orchestrate.task_runner: dask. The data stages on a Dask LocalCluster (two worker processes,
    through prefect-dask) commit the same dvc.lock as the default thread runner on a second copy."""
    from prefect_dask import DaskTaskRunner

    from flows.lifecycle import lifecycle

    def stub_audio(root: Path) -> None:  # orchestration, not speech: stub WAVs keep it short
        params = params_of(root)
        params["sample"]["audio"] = "stub"
        params["orchestrate"]["push"] = False
        (root / "params.yaml").write_text(
            yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8"
        )

    threads = tmp_path / "threads"
    shutil.copytree(project, threads, ignore=shutil.ignore_patterns(".dvc"))
    run([sys.executable, "-m", "dvc", "init", "-q", "-f"], threads)
    for root in (project, threads):
        stub_audio(root)
    dask = lifecycle.with_options(
        task_runner=DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1})
    )
    on_dask = _flow(project, "validate,version", flow=dask)
    on_threads = _flow(threads, "validate,version")
    stages = ["sample", "ingest", "prepare", "validate", "version"]
    assert all(not on_dask[s].cached and not on_threads[s].cached for s in stages)
    locks = [yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8")) for root in (project, threads)]
    assert set(locks[0]["stages"]) == set(stages)
    for lock in locks:  # the version history records when it was written: the one output that differs
        lock["stages"]["version"].pop("outs")
    assert locks[0] == locks[1]
    assert "Data and pipelines are up to date" in _dvc(project, "status", "validate", "version")
