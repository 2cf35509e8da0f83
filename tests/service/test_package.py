"""`callbot package` inputs: each missing or broken input is refused naming the file and the fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from callbot.contracts import ContractError, write_selection
from callbot.registry.package import PackageError, import_models, selected_llm_dir
from tests.service.conftest import tiny_selection


def _section(params, root: Path, **changes: str):
    paths = {
        "stt_model": str(root / "stt"),
        "stt_metrics": str(root / "metrics.json"),
        "selected": str(root / "selected.json"),
        "out": str(root / "bento.json"),
    }
    return params.package.model_copy(update={**paths, **changes})


def test_missing_selection_says_to_run_select(params, tmp_path: Path) -> None:
    with pytest.raises(ContractError, match=r"selected.json: no LLM selection; run `callbot select` first"):
        import_models(_section(params, tmp_path), params.tts, tmp_path)


def test_selection_naming_no_model_is_refused(tmp_path: Path) -> None:
    write_selection(tmp_path / "selected.json", tiny_selection(tmp_path / "gone"))
    with pytest.raises(PackageError, match=r"gone as the selected model.*config.json missing"):
        selected_llm_dir(tmp_path / "selected.json")


@pytest.mark.parametrize(
    "shape",
    [{"model_dir": "x"}, {"winner": "kullm", "paths": {"merged": "x"}}, "{broken"],
    ids=["an older key", "nested paths", "not JSON"],
)
def test_a_selection_in_another_shape_says_to_rerun_select(tmp_path: Path, shape) -> None:
    path = tmp_path / "selected.json"
    path.write_text(shape if isinstance(shape, str) else json.dumps(shape), encoding="utf-8")
    with pytest.raises(ContractError, match=rf"{path}: .*[Rr]e-run `callbot select`"):
        selected_llm_dir(path)


def test_selection_names_the_merged_model(tmp_path: Path) -> None:
    merged = tmp_path / "merged"
    merged.mkdir()
    (merged / "config.json").write_text("{}", encoding="utf-8")
    write_selection(tmp_path / "selected.json", tiny_selection(merged))
    assert selected_llm_dir(tmp_path / "selected.json")[0] == merged


def test_missing_stt_export_says_to_train(params, tmp_path: Path) -> None:
    llm = tmp_path / "llm"
    llm.mkdir()
    (llm / "config.json").write_text("{}", encoding="utf-8")
    write_selection(tmp_path / "selected.json", tiny_selection(llm))
    with pytest.raises(PackageError, match=r"no STT model here.*callbot train-stt"):
        import_models(_section(params, tmp_path), params.tts, tmp_path)


@pytest.mark.slow
def test_stt_export_layout_is_stored_and_loads(
    params, smoke_repo: Path, bentoml_home: Path, tmp_path: Path
) -> None:
    """The train-stt export (model/, export.json, whisper.pt) is stored whole and served by its backend."""
    import bentoml

    from callbot.stt.infer import load_transcriber

    export = tmp_path / "stt"
    shutil.copytree(smoke_repo / "models" / "stt" / "model", export / "model")
    (export / "export.json").write_text(
        json.dumps({"serve_backend": "hf", "hf_dir": "model"}), encoding="utf-8"
    )
    (export / "base").mkdir()  # training leftovers stay out of the Bento
    section = _section(
        params,
        tmp_path,
        stt_model=str(export),
        stt_metrics=str(smoke_repo / "reports" / "stt" / "metrics.json"),
        selected=str(smoke_repo / "models" / "selected.json"),
        interview_model=str(smoke_repo / "models" / "interview"),
    )
    tags, _ = import_models(section, params.tts, tmp_path)
    stored = Path(bentoml.models.get(tags["callbot-stt"]).path)
    assert (stored / "model" / "config.json").is_file() and (stored / "export.json").is_file()
    assert not (stored / "base").exists()
    assert load_transcriber(stored).backend == "hf"


@pytest.mark.slow
def test_a_missing_or_broken_interview_model_says_to_run_interview(
    params, smoke_repo: Path, tmp_path: Path
) -> None:
    """Checked before anything is stored: the Bento must not ship heads its service cannot load."""
    import bentoml

    paths = {n: str(smoke_repo / p) for n, p in (("stt_model", "models/stt/model"),
             ("stt_metrics", "reports/stt/metrics.json"), ("selected", "models/selected.json"))}  # fmt: skip
    before = {str(m.tag) for m in bentoml.models.list()}
    missing = _section(params, tmp_path, **paths, interview_model=str(tmp_path / "interview"))
    with pytest.raises(
        PackageError, match=r"interview\.json.*run `callbot interview`.*package\.interview_model"
    ):
        import_models(missing, params.tts, tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(smoke_repo / "models" / "interview", broken)
    (broken / "heads.npz").write_bytes(b"not an npz")
    with pytest.raises(PackageError, match=r"heads\.npz: not the interview model's heads"):
        import_models(_section(params, tmp_path, **paths, interview_model=str(broken)), params.tts, tmp_path)
    assert {str(m.tag) for m in bentoml.models.list()} == before


def test_cli_package_exits_1_naming_the_missing_input(repo: Path, tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from callbot.cli import app

    data = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    data["package"].update(selected=str(tmp_path / "selected.json"), stt_model=str(tmp_path / "stt"))
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["--params", str(path), "package"])
    assert result.exit_code == 1
    assert "error:" in result.output and str(tmp_path / "selected.json") in result.output


def test_cli_serve_without_a_packaged_bento_says_to_package(repo: Path, tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from callbot.cli import app

    data = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    data["package"]["out"] = str(tmp_path / "bento.json")
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["--params", str(path), "serve"])
    assert result.exit_code == 1 and "run `callbot package` first" in result.output
