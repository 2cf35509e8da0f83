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


def _flow(root: Path, until: str) -> dict:
    from flows.lifecycle import lifecycle

    cwd = os.getcwd()
    try:
        return lifecycle(until=until, root=str(root))
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

    _dvc(project, "repro", "validate")
    outcomes = _flow(project, "validate")
    stages = ["sample", "ingest", "prepare", "validate"]
    # after dvc repro, every stage is a Prefect cache hit (its state is named Cached, data kept)
    assert all(isinstance(outcomes[s], StageOutcome) and outcomes[s].cached for s in stages), outcomes
    assert outcomes["version"]["version"] == "1.0.0"

    summary = Artifact.get("validation-summary")
    assert summary is not None and "labels" in str(summary.data)
    assert Artifact.get("dataset-version") is not None

    # a change to prepare's own params re-runs prepare and what follows it, nothing before
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["prepare"]["split"]["salt"] = "another-salt"
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8")
    outcomes = _flow(project, "validate")
    assert [s for s in stages if outcomes[s].cached] == ["sample", "ingest"]
    assert outcomes["version"]["bump"] == "patch"  # same utterances, new split assignment

    # ...and after that Prefect run, DVC finds nothing to do
    assert "Data and pipelines are up to date" in _dvc(project, "status", "--with-deps", "validate")
    assert "didn't change, skipping" in _dvc(project, "repro", "validate")


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
    stages = ["sample", "ingest", "prepare", "validate", "bases", "train_stt", "train_llm", "evaluate_stt",
              "evaluate_llm", "evaluate_bot", "select", "package"]  # fmt: skip
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
