"""params.yaml loading: every bad key or value is an error that names the key, the file and the type."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from callbot.config import PROFILES, ParamsError, load_params


def _write(tmp_path: Path, repo: Path, edit) -> Path:
    data = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("profile", PROFILES)
def test_repository_params_load_in_every_profile(repo: Path, profile: str) -> None:
    params = load_params(repo / "params.yaml", profile)
    assert params.profile == profile
    assert params.sample.records > 0
    assert params.validate_.report


def test_full_profile_overlays_smoke(repo: Path) -> None:
    smoke = load_params(repo / "params.yaml", "smoke")
    full = load_params(repo / "params.yaml", "full")
    assert smoke.stt.base_model != full.stt.base_model
    assert smoke.ingest == full.ingest  # sections without overrides are untouched


def test_unknown_key_names_key_file_and_suggestion(tmp_path: Path, repo: Path) -> None:
    path = _write(tmp_path, repo, lambda d: d["sample"].update(recrods=3))
    with pytest.raises(ParamsError) as err:
        load_params(path)
    message = str(err.value)
    assert str(path) in message
    assert "sample.recrods" in message
    assert "did you mean 'sample.records'" in message


def test_ill_typed_value_names_expected_type(tmp_path: Path, repo: Path) -> None:
    path = _write(tmp_path, repo, lambda d: d["sample"].update(records="many"))
    with pytest.raises(ParamsError, match=r"'sample.records' must be an integer, got 'many' \(str\)"):
        load_params(path)


def test_no_silent_coercion_of_numbers_in_strings(tmp_path: Path, repo: Path) -> None:
    path = _write(tmp_path, repo, lambda d: d["ingest"].update(max_ratio="200"))
    with pytest.raises(ParamsError, match=r"ingest\.max_ratio"):
        load_params(path)


def test_missing_key_is_an_error(tmp_path: Path, repo: Path) -> None:
    path = _write(tmp_path, repo, lambda d: d["sample"].pop("seed"))
    with pytest.raises(ParamsError, match=r"'sample.seed' must be a value \(the key is required\)"):
        load_params(path)


def test_literal_value_lists_choices(tmp_path: Path, repo: Path) -> None:
    path = _write(tmp_path, repo, lambda d: d["sample"].update(audio="mp3"))
    with pytest.raises(ParamsError, match=r"'sample.audio' must be one of 'speech' or 'stub'"):
        load_params(path)


def test_error_in_full_overlay_is_caught_while_running_smoke(tmp_path: Path, repo: Path) -> None:
    path = _write(tmp_path, repo, lambda d: d["profiles"]["full"]["stt"].update(bse_model="x"))
    with pytest.raises(ParamsError, match=r"unknown key 'stt.bse_model' \(set in profiles.full\)"):
        load_params(path, "smoke")


def test_unknown_section_and_profile(tmp_path: Path, repo: Path) -> None:
    path = _write(tmp_path, repo, lambda d: d.update(trian={}))
    with pytest.raises(ParamsError, match="unknown key 'trian'"):
        load_params(path)
    with pytest.raises(ParamsError, match="profile must be one of"):
        load_params(repo / "params.yaml", "huge")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sample: [unclosed", encoding="utf-8")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42", encoding="utf-8")
    with pytest.raises(ParamsError, match="must be a mapping"):
        load_params(scalar)


def test_profile_from_environment(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    monkeypatch.setenv("CALLBOT_PROFILE", "full")
    assert load_params(repo / "params.yaml").profile == "full"


def test_params_file_parses_as_dvc_reads_it(repo) -> None:
    """DVC reads params.yaml with ruamel (YAML 1.2), stricter than PyYAML about ':' in flow lists."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load((repo / "params.yaml").read_text(encoding="utf-8"))
    assert data["serve"]["cors_origins"] and "bot" in data
