"""One stage graph: the registry, the CLI and dvc.yaml name the same stages, and DVC sees a profile
switch in exactly the stages whose settings it changes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from callbot.cli import app
from callbot.stages import STAGES


def _dvc_yaml(repo: Path) -> dict:
    return yaml.safe_load((repo / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def _params_yaml(repo: Path) -> dict:
    return yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))


def test_registry_cli_and_dvc_yaml_agree(repo: Path) -> None:
    dvc = _dvc_yaml(repo)
    assert list(dvc) == list(STAGES)  # same stages, same (lifecycle) order
    commands = {c.name for c in app.registered_commands}
    for name, spec in STAGES.items():
        assert dvc[name]["cmd"] == f"callbot {spec.command}", name
        assert spec.command in commands, name
    overlay = _params_yaml(repo)["profiles"]["full"]
    for name, spec in STAGES.items():
        listed = dvc[name].get("params", [])
        # its own sections, and the profile exactly where the full overlay changes one of them
        expected = [*spec.sections]
        full = [f"profiles.full.{s}" for s in spec.sections if s in overlay]
        if full:
            expected += ["profile", *full]
        assert listed == expected, (name, listed, expected)


def test_every_overlaid_section_belongs_to_a_stage(repo: Path) -> None:
    sections = {s for spec in STAGES.values() for s in spec.sections}
    assert set(_params_yaml(repo)["profiles"]["full"]) <= sections


def test_version_command_prints_its_result_line(repo: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    prepared = tmp_path / "prepared"
    prepared.mkdir()
    pq.write_table(pa.table({"utterance_id": ["a", "b"]}), prepared / "records.parquet")
    data = _params_yaml(repo)
    data["version"].update(prepared=str(prepared), out=str(tmp_path / "dataset.json"))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    first = CliRunner().invoke(app, ["--params", str(params), "version"])
    assert first.exit_code == 0, first.output
    assert first.output.strip().splitlines()[-1].startswith("version: dataset 1.0.0 (initial), 2 records")
    again = CliRunner().invoke(app, ["--params", str(params), "version"])
    assert "dataset 1.0.0 (none)" in again.output
    missing = CliRunner().invoke(app, ["--params", str(params), "version", "--prepared", str(tmp_path)])
    assert missing.exit_code == 1 and "run `callbot prepare` first" in missing.output


def _stub(path: Path) -> None:
    """A stand-in for a stage's output or data dependency: DVC only hashes it here."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".json", ".jsonl", ".parquet", ".csv", ".png", ".pt", ".yml", ".yaml"):
        path.write_text("{}\n" if path.suffix == ".json" else "x,y\n", encoding="utf-8")
    else:
        path.mkdir()
        (path / "stub").write_text("stub\n", encoding="utf-8")


def test_a_profile_switch_changes_exactly_the_overlaid_stages(
    repo: Path, tmp_path: Path, monkeypatch
) -> None:
    """Every stage committed on stand-in files, then `profile: full`: `dvc status` lists the stages
    whose section has a full overlay, with the profile as their only change, and no other stage."""
    from dvc.repo import Repo

    root = tmp_path / "project"
    root.mkdir()
    for name in ("callbot", "bento", "gx"):
        shutil.copytree(repo / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy2(repo / name, root / name)
    (root / "data" / "corrections").mkdir(parents=True)
    (root / "data" / "corrections" / ".gitkeep").touch()
    monkeypatch.chdir(root)  # DVC resolves a stage's paths from the working directory
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True)
    dvc = Repo(str(root))
    try:
        for stage in dvc.index.stages:
            for item in [*stage.deps, *stage.outs]:
                _stub(Path(item.fs_path))
        dvc.commit(force=True)  # what the flow does after each stage (callbot.orchestrate.dvc)
        assert dvc.status() == {}
    finally:
        dvc.close()

    data = _params_yaml(root)
    data["profile"] = "full"
    (root / "params.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    dvc = Repo(str(root))
    try:
        status = dvc.status()
    finally:
        dvc.close()
    overlay = set(data["profiles"]["full"])
    expected = {n for n, s in STAGES.items() if overlay & set(s.sections)}
    assert set(status) == expected
    for name in expected:
        changed = [e["changed deps"]["params.yaml"] for e in status[name] if "changed deps" in e]
        assert changed == [{"profile": "modified"}], status[name]


def test_checkpoints_live_outside_every_output(repo: Path, params) -> None:
    """DVC deletes a stage's outputs before it runs: an interrupted training's checkpoints must be
    elsewhere for `dvc repro` to resume it as the flow does."""
    from dvc.repo import Repo

    from callbot.llm.train import checkpoints_dir as llm_checkpoints
    from callbot.stt.train import checkpoints_dir as stt_checkpoints

    dvc = Repo(str(repo))
    try:
        outs = [Path(out.fs_path) for out in dvc.index.outs]
    finally:
        dvc.close()
    places = [
        repo / stt_checkpoints(Path(params.stt.out)),
        repo / llm_checkpoints(params.llm, params.llm.candidates[0].name),
    ]
    for place in places:
        assert not [out for out in outs if place == out or out in place.parents], place


def test_an_option_overrides_its_section_field_one_way(repo: Path) -> None:
    """Every stage's options reach it through its params section (validated): a path option replaces
    the field, an option that is no field is left to the stage, a bad value names the option (exit 2)."""
    import pytest

    from callbot.config import load_params
    from callbot.stages import StageError, _section

    params = load_params(repo / "params.yaml", "smoke")
    assert _section(params, "ingest", {"out": Path("elsewhere"), "strict": True}).model_dump() == {
        **params.ingest.model_dump(),
        "out": "elsewhere",
        "strict": True,
    }
    assert _section(params, "validate", {"report": Path("r")}).report == "r"
    assert _section(params, "sample", {"dataset": "phone"}) is params.sample
    with pytest.raises(StageError, match="--records") as raised:
        _section(params, "sample", {"records": "many"})
    assert raised.value.code == 2
    for name, spec in STAGES.items():  # every option names a section field, but two stage arguments
        sections = [getattr(params, "validate_" if s == "validate" else s) for s in spec.sections]
        fields = {f for section in sections for f in type(section).model_fields}
        own = {"sample": {"dataset"}, "bases": {"out"}}.get(name, set())
        assert {o.name for o in spec.options} - fields == own, name
