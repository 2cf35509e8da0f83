"""The files between stages: each contract reads back what its writer wrote, and a file in an old or
unknown shape is refused naming the file and the command that writes it again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callbot import contracts as c

FINGERPRINT = c.Fingerprint(
    schema="079c870eb88b336b", ids="258df670b09914fe", content="3491233f84f753e7", records=3
)
SPLIT = {"all": {"success": 0.8, "wrong": 0.01, "handover": 0.19}}

EXAMPLES: dict[str, tuple[c.Contract, Callable[[Path, Any], None], Callable[[Path], Any], str]] = {
    "gate": (
        c.Gate(
            passed=False,
            reasons=["audio: expect_audio_not_silent(audio_path) failed, 12.00% unexpected"],
            excluded=[c.GateExclusion(utterance_id="u1", interview_id="i1", expectations=["not_silent"])],
            summary="reports/validate/summary.json",
        ),
        c.write_gate,
        c.read_gate,
        "`callbot validate`",
    ),
    "dataset versions": (
        c.DatasetVersions(
            current="1.0.0",
            history=[c.VersionEntry(version="1.0.0", bump="initial", fingerprint=FINGERPRINT, created="t", note="")],
        ),
        c.write_dataset_versions,
        c.read_dataset_versions,
        "versions/dataset.json",
    ),
    "stt metrics": (
        c.SttMetrics(
            test_utterances=40, serve_backend="ct2", base={"cer": 0.4, "wer": 0.9}, fine_tuned={"cer": 0.05, "wer": 0.2},
            cer_improvement=0.35, unseen_cer=0.07, baselines={"nearest_training_text": {"cer": 0.3}},
            backends={"choice": "ct2"}, gates={"passed": True, "mode": "fail", "max_cer": 0.2}, failures=[],
            by_seen={"unseen": {"cer": 0.07}},  # a section only some runs have: kept as it is
        ),
        c.write_stt_metrics,
        c.read_stt_metrics,
        "`callbot evaluate-stt`",
    ),
    "llm report": (
        c.LlmReport(
            candidate="kullm", arch="llama", base="build:tiny", licence="apache-2.0", parameters=1000,
            dataset_version="1.0.0", trained_on="1.0.0", paths={"merged": "m", "adapter": "a", "base": "b"},
            metrics={"ars_rouge_l": 0.5, "samples": {"ars": []}}, base_metrics={"ars_rouge_l": 0.1},
            training={"examples": 10},
        ),
        c.write_llm_report,
        c.read_llm_report,
        "`callbot evaluate-llm`",
    ),
    "bot metrics": (
        c.BotMetrics(
            best="kullm", headline={"task_success": 0.8, "unseen_8k": None},
            candidates={"kullm": c.BotCandidate(threshold=0.4, validation=SPLIT, test=SPLIT, latency={"median_s": 1.0})},
            baselines={"retrieval": c.BotCandidate(test=SPLIT)}, beats_retrieval=True,
        ),
        c.write_bot_metrics,
        c.read_bot_metrics,
        "`callbot evaluate-bot`",
    ),
    "leaderboard": (
        c.Leaderboard(
            primary_metric="bot_task_success", goal="max", min_improvement=0.01, winner="kullm", reason="best",
            rows=[c.LeaderboardRow(rank=1, candidate="kullm", parameters=1000, licence=None,
                                   metrics={"bot_task_success": 0.8}, base_metrics={})],
        ),
        c.write_leaderboard,
        c.read_leaderboard,
        "`callbot select`",
    ),
    "selection": (
        c.Selection(
            metrics={"bot_task_success": 0.8, "ars_rouge_l": 0.5}, winner="kullm", merged="models/llm/kullm/merged",
            handover_threshold=0.4, adapter="a", base="b", arch="llama", licence="apache-2.0", parameters=1000,
            base_metrics={}, dataset_version="1.0.0", primary_metric="bot_task_success", goal="max",
            min_improvement=0.01, previous_champion=None, reason="best", leaderboard="reports/llm/leaderboard.json",
        ),
        c.write_selection,
        c.read_selection,
        "`callbot select`",
    ),
    "bento record": (
        c.BentoRecord(
            tag="callbot:abc", models={"callbot-stt": "callbot-stt:1"}, labels={"dataset_version": "1.0.0"},
            serve_command="bentoml serve callbot:abc", page_url="http://localhost:3000/ui/",
        ),
        c.write_bento_record,
        c.read_bento_record,
        "`callbot package`",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_contract_reads_back_what_its_writer_wrote(tmp_path: Path, name: str) -> None:
    model, write, read, _ = EXAMPLES[name]
    path = tmp_path / "out" / "file.json"
    write(path, model)
    assert read(path) == model
    assert json.loads(path.read_text("utf-8"))["schema_version"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["file.json"]  # no temp left behind


def _broken_shapes(model: c.Contract) -> dict[str, str]:
    data = model.model_dump(mode="json")
    first = next(k for k in data if k != "schema_version")
    return {
        "not JSON": "{broken",
        "not an object": "[1, 2]",
        "no schema_version": json.dumps({k: v for k, v in data.items() if k != "schema_version"}),
        "a newer schema_version": json.dumps({**data, "schema_version": 2}),
        "a missing field": json.dumps({k: v for k, v in data.items() if k != first}),
        "a wrong type": json.dumps({**data, first: {"not": ["what", "it", "holds"]}}),
    }


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_file_in_an_old_or_unknown_shape_names_the_file_and_the_fix(tmp_path: Path, name: str) -> None:
    model, _, read, redo = EXAMPLES[name]
    path = tmp_path / "file.json"
    for shape, text in _broken_shapes(model).items():
        path.write_text(text, encoding="utf-8")
        with pytest.raises(c.ContractError) as raised:
            read(path)
        message = str(raised.value)
        assert message.startswith(f"{path}:"), (shape, message)
        assert redo in message, (shape, message)
    with pytest.raises(c.ContractError) as raised:
        read(tmp_path / "gone.json")
    assert str(raised.value).startswith(f"{tmp_path / 'gone.json'}: no ") and redo in str(raised.value)


def test_the_manifest_reads_back_line_by_line_and_names_a_bad_line(tmp_path: Path) -> None:
    entries = [
        c.ManifestEntry(path="a/1.wav", size=3, sha256="0" * 64, crc32="0" * 8, archive="TS_1.zip", member="1.wav"),
        c.ManifestEntry(
            path="a/2.wav", size=4, sha256="1" * 64, crc32="1" * 8, archive="TS_1.zip", member="2.wav",
            name_warning="cp949 name",
        ),
    ]  # fmt: skip
    path = tmp_path / "_manifest.jsonl"
    c.write_manifest(path, entries)
    assert c.read_manifest(path) == entries
    assert "name_warning" not in path.read_text("utf-8").splitlines()[0]  # absent, not null
    lines = path.read_text("utf-8").splitlines()
    path.write_text(lines[0] + "\n" + json.dumps({"path": "a/3.wav", "size": 1}) + "\n", encoding="utf-8")
    with pytest.raises(c.ContractError, match=rf"{path}:2: .*no schema_version.*`callbot ingest`"):
        c.read_manifest(path)


def test_the_committed_dataset_versions_file_is_current(repo: Path) -> None:
    """versions/dataset.json is kept in git: this callbot must read it as it is."""
    versions = c.read_dataset_versions(repo / "versions" / "dataset.json")
    assert versions.current == versions.history[-1].version


def test_the_cli_reports_a_selection_in_an_old_shape_as_an_error_line(repo: Path, tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from callbot.cli import app

    selected = tmp_path / "selected.json"
    selected.write_text(json.dumps({"winner": "kullm", "model_dir": "models/llm/kullm/merged"}), "utf-8")
    data = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    data["package"].update(selected=str(selected), stt_model=str(tmp_path / "stt"))
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["--params", str(path), "package"])
    assert result.exit_code == 1
    assert f"error: {selected}: LLM selection has no schema_version" in result.output
    assert "Re-run `callbot select`" in result.output
