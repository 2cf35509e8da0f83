"""The Great Expectations gate: every rule catches its defect, clean data passes, the verdict is right.

GE takes seconds per run, so the runs are module fixtures shared by many assertions: a clean run, one
dirty run (through the CLI) whose records carry one defect per expectation on distinct rows, and two
quarantine runs either side of the limit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from callbot.cli import app
from callbot.contracts import ManifestEntry, read_gate, write_manifest
from callbot.prepare.adapters import required_columns
from callbot.prepare.schema import RECORD_SCHEMA
from callbot.quality.gate import GATE_FILE, QUARANTINE_FILE, VALIDATED_FILE, GateResult, run_validate
from callbot.quality.params import ValidateParams
from callbot.quality.suites import ENUMS, REQUIRED, SUITES, build_suites
from tests.support.synthetic_records import clean_records

INTERVIEWS = 700  # enough for several strata above stratum_min_interviews (30)


def _deep(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            _deep(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def _validate_section(repo: Path, root: Path, **over: Any) -> dict[str, Any]:
    raw = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))["validate"]
    base = {**raw, "manifest": str(root / "raw" / "_manifest.jsonl"), "context": str(root / "gx")}
    return _deep(base, over)


def _write(root: Path, records: pd.DataFrame, manifest: list[str]) -> Path:
    prepared = root / "prepared"
    prepared.mkdir(parents=True, exist_ok=True)
    (root / "raw").mkdir(exist_ok=True)
    complete = set(RECORD_SCHEMA.names) <= set(records.columns)
    table = pa.Table.from_pandas(records, schema=RECORD_SCHEMA if complete else None, preserve_index=False)
    pq.write_table(table, prepared / "records.parquet")
    entries = [
        ManifestEntry(path=p, size=1, sha256="0" * 64, crc32="0" * 8, archive="TS_x.zip", member=p)
        for p in manifest
    ]
    write_manifest(root / "raw" / "_manifest.jsonl", entries)
    return prepared


# ---- the clean run ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, repo: Path) -> tuple[GateResult, Path, int]:
    root = tmp_path_factory.mktemp("clean")
    records, manifest = clean_records(INTERVIEWS)
    prepared = _write(root, records, manifest)
    params = ValidateParams.model_validate(_validate_section(repo, root))
    return run_validate(prepared, root / "report", params), prepared, len(records)


@pytest.mark.slow
def test_clean_sample_passes_every_expectation(clean: tuple[GateResult, Path, int]) -> None:
    result, prepared, rows = clean
    failed = [
        (o.suite, o.expectation, o.column, o.unexpected_keys[:3]) for o in result.outcomes if not o.success
    ]
    assert failed == []
    assert result.passed and result.rows == rows and result.quarantined_rows == 0
    assert len(pd.read_parquet(prepared / VALIDATED_FILE)) == rows
    assert (prepared / QUARANTINE_FILE).read_text(encoding="utf-8") == ""


@pytest.mark.slow
def test_summary_json_counts_every_suite(clean: tuple[GateResult, Path, int], repo: Path) -> None:
    result, _, _ = clean
    summary = json.loads((result.report / "summary.json").read_text(encoding="utf-8"))
    expected = {
        name: len(exps)
        for name, exps in build_suites(
            ValidateParams.model_validate(_validate_section(repo, Path("/x")))
        ).items()
    }
    assert {name: s["evaluated"] for name, s in summary["suites"].items()} == expected
    assert all(s["succeeded"] == s["evaluated"] and s["quarantined"] == 0 for s in summary["suites"].values())
    assert summary["passed"] is True and summary["data_docs"] == "data_docs/index.html"


@pytest.mark.slow
def test_data_docs_are_built_with_every_suite(clean: tuple[GateResult, Path, int]) -> None:
    result, _, _ = clean
    index = result.data_docs.read_text(encoding="utf-8")
    for suite in SUITES:
        assert suite in index
        assert (result.report / "data_docs" / "expectations" / f"{suite}.html").is_file()
        assert list((result.report / "data_docs" / "validations" / suite).rglob("*.html"))


@pytest.mark.slow
def test_suites_are_versioned_in_the_context_and_stable(clean: tuple[GateResult, Path, int]) -> None:
    result, _, _ = clean
    context = Path(result.report).parent / "gx"
    stored = {p.stem for p in (context / "expectations").glob("*.json")}
    assert stored == set(SUITES)
    text = (context / "expectations" / "audio.json").read_text(encoding="utf-8")
    assert '"expect_audio_not_silent"' in text and '"rms"' in text  # custom rule, column written out
    assert not (context / "uncommitted" / "validations").exists()  # results go to the report


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.slow
def test_a_second_run_on_the_same_data_writes_the_same_bytes(
    clean: tuple[GateResult, Path, int], repo: Path, tmp_path: Path
) -> None:
    """reports/validation is a DVC output: a run on the same data and rules, with a copy of the context
    (gx/ is versioned: another clone has the same) at another path and into another folder, writes
    identical files, GE's data docs and results included (no run time, load time, store id or random
    element id)."""
    import shutil

    result, prepared, _ = clean
    shutil.copytree(result.report.parent / "gx", tmp_path / "gx")
    section = _validate_section(repo, result.report.parent, context=str(tmp_path / "gx"))
    again = run_validate(prepared, tmp_path / "report", ValidateParams.model_validate(section))
    first, second = _files(result.report), _files(again.report)
    assert any(name.startswith("data_docs/validations/") for name in first)
    assert any(name.startswith("validations/") for name in first)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []


# ---- one defect per expectation (through the CLI) ------------------------------------------------


def _mutate(
    records: pd.DataFrame, manifest: list[str]
) -> tuple[pd.DataFrame, list[str], dict[str, list[str]]]:
    """Each (suite, rule column) -> the keys it must report; every defect on its own rows."""
    df = records.copy()
    train_answers = df.index[(df["role"] == "answer") & (df["split"] == "train")].tolist()
    rows = iter(train_answers[::7])  # distinct interviews, far apart
    expect: dict[str, list[str]] = {}

    def hit(key: str, column: str, value: Any) -> None:
        i = next(rows)
        expect.setdefault(key, []).append(
            str(df.loc[i, "utterance_id"]) if column != "utterance_id" else f"<null id, row {i}>"
        )
        df.loc[i, column] = value

    for column in (*REQUIRED, *required_columns()["interview"]):
        hit(f"labels.required_not_null:{column}", column, None)
    for column in ("dataset", *ENUMS):
        hit(f"labels.enums_in_set:{column}", column, "FEMAIL" if column == "gender" else "bogus")
    hit("labels.word_count_in_range:word_count", "word_count", 0)
    i = next(rows)
    df.loc[i, "word_count"] = len(str(df.loc[i, "text_raw"]).split()) + 5
    expect["labels.word_count_near_eojeols:word_count_gap"] = [df.loc[i, "utterance_id"]]
    i = next(rows)
    df.loc[i, "summary"] = str(df.loc[i, "text_raw"]) + " 그리고 더 긴 요약"
    expect["labels.summary_shorter_than_answer:text_chars"] = [df.loc[i, "utterance_id"]]
    hit("labels.text_has_hangul:text", "text", "Ã¬Â±Â„ìš©")  # CP949 read as Latin-1
    i, j = next(rows), next(rows)
    df.loc[j, "utterance_id"] = df.loc[i, "utterance_id"]
    expect["labels.ids_unique:utterance_id"] = [df.loc[i, "utterance_id"]]
    hit("audio.sample_rate_matches:sample_rate", "sample_rate", 8000)
    hit("audio.mono:channels", "channels", 2)
    hit("audio.bit_depth_matches:bits", "bits", 24)
    i = next(rows)
    df.loc[i, "duration_actual_ms"] = df.loc[i, "duration_ms"] + 2000
    expect["audio.duration_matches_label:duration_gap_ms"] = [df.loc[i, "utterance_id"]]
    for missing in (None, float("nan")):  # GE skips nulls: a label without a duration must still fail
        i = next(rows)
        df.loc[i, "duration_ms"] = missing
        expect["audio.duration_matches_label:duration_gap_ms"].append(df.loc[i, "utterance_id"])
    hit("audio.not_silent:rms", "rms", 0.0)
    hit("audio.not_clipped:clipped_ratio", "clipped_ratio", 0.2)
    i = next(rows)
    df.loc[i, ["duration_ms", "duration_actual_ms"]] = 40.0
    expect["audio.duration_in_bounds:duration_actual_ms"] = [df.loc[i, "utterance_id"]]

    # splits: a question in test whose answer is in train; a big stratum never in test; a skewed split
    leak = df.index[(df["role"] == "question") & (df["split"] == "train")][-1]
    df.loc[leak, "split"] = "test"
    expect["splits.interview_in_one_split:interview_splits"] = [f"interview {df.loc[leak, 'interview_id']}"]
    df.loc[(df["split"] == "test") & (df["role"] == "answer"), "emotion"] = "negative"
    expect["splits.distribution_close_to_whole:split_share_gap_pct"] = ["test emotion=negative"]

    # reference: occupations, genders and experience off the page's table; the manifest disagrees
    df.loc[df["occupation"] == "MM", "occupation"] = "BM"
    expect["reference.occupation_close:occupation_gap_pct"] = ["occupation=MM"]
    # about 10 points of female interviews become male
    df.loc[df["occupation"].isin(["ARD", "ICT"]) & (df["gender"] == "FEMALE"), "gender"] = "MALE"
    expect["reference.gender_close:gender_gap_pct"] = ["gender=FEMALE"]
    df.loc[df["experience"] == "EXPERIENCED", "experience"] = "NEW"
    expect["reference.experience_close:experience_gap_pct"] = ["experience=EXPERIENCED"]
    unlisted = df.loc[next(rows), "audio_path"]
    extra = [f"audio/extra_{k}.wav" for k in range(len(records) // 4)]
    manifest = [p for p in manifest if p != unlisted] + extra
    expect["reference.audio_in_manifest:audio_not_in_manifest"] = [f"audio not in manifest: {unlisted}"]
    expect["reference.manifest_coverage:manifest_coverage"] = ["manifest audio files in records"]
    # last, after the reference edits merged strata: a big stratum never reaches the test split
    stratum = (df["occupation"] == "PS") & (df["gender"] == "FEMALE") & (df["experience"] == "NEW")
    df.loc[stratum & (df["split"] == "test"), "split"] = "validation"
    expect["splits.strata_in_every_split:stratum_splits"] = ["stratum interview/PS/FEMALE/NEW"]
    return df, manifest, expect


@pytest.fixture(scope="module")
def dirty(
    tmp_path_factory: pytest.TempPathFactory, repo: Path
) -> tuple[Any, dict[str, Any], dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("dirty")
    records, manifest = clean_records(INTERVIEWS)
    records, manifest, expect = _mutate(records, manifest)
    prepared = _write(root, records, manifest)
    # every rule at mostly 1.0 and a 3-point tolerance: one bad row or item must fail its expectation
    section = _validate_section(repo, root, reference={"tolerance_pct": 3.0})
    for suite in ("labels", "audio", "splits", "reference"):
        for value in section[suite].values():
            if isinstance(value, dict) and "mostly" in value:
                value["mostly"] = 1.0
    params = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    params["validate"] = section
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    cli = CliRunner().invoke(
        app, ["--params", str(path), "validate", str(prepared), "--report", str(root / "report")]
    )
    summary = json.loads((root / "report" / "summary.json").read_text(encoding="utf-8"))
    return cli, summary, expect


def _cases() -> list[str]:
    records, manifest = clean_records(INTERVIEWS)
    return sorted(_mutate(records, manifest)[2])


@pytest.mark.slow
def test_gate_exits_1_on_critical_failure(dirty: tuple[Any, dict[str, Any], dict[str, list[str]]]) -> None:
    cli, summary, _ = dirty
    assert cli.exit_code == 1, cli.output
    assert summary["passed"] is False and summary["reasons"]
    assert "data docs:" in cli.output and "index.html" in cli.output


@pytest.mark.slow
@pytest.mark.parametrize("case", _cases())
def test_each_expectation_catches_its_defect(
    dirty: tuple[Any, dict[str, Any], dict[str, list[str]]], case: str
) -> None:
    _, summary, expect = dirty
    rule, column = case.split(":")
    failed = [f for f in summary["failed_expectations"] if f["rule"] == rule and f["column"] == column]
    assert failed, f"{rule} on {column} did not fail"
    examples = failed[0]["examples"]
    for key in expect[case]:
        assert any(example == key or example.startswith(key) for example in examples), (key, examples)


def test_every_expectation_has_a_defect_case(repo: Path) -> None:
    params = ValidateParams.model_validate(_validate_section(repo, Path("/x")))
    covered = set(_cases())
    for exps in build_suites(params).values():
        for e in exps:
            config = e.configuration
            column = config.kwargs.get("column") or config.kwargs.get("column_A")
            key = f"{config.meta['rule']}:{column}"
            condition = str(config.kwargs.get("row_condition") or "")
            if "dataset" in condition and "interview" not in condition:
                continue  # rows of another dataset: their defects are crafted in test_prepare_phone.py
            assert key in covered, f"no crafted defect for {key}"


# ---- quarantine share, either side of the limit --------------------------------------------------


def _silent(records: pd.DataFrame, share: float) -> tuple[pd.DataFrame, set[str]]:
    df = records.copy()
    picked = df.sample(frac=share, random_state=0).index
    df.loc[picked, "rms"] = 0.0
    return df, set(df.loc[picked, "utterance_id"])


@pytest.fixture(scope="module")
def quarantined(
    tmp_path_factory: pytest.TempPathFactory, repo: Path
) -> dict[str, tuple[GateResult, Path, set[str]]]:
    runs = {}
    records, manifest = clean_records(INTERVIEWS)
    for name, share in (("below", 0.03), ("above", 0.08)):
        root = tmp_path_factory.mktemp(f"quarantine_{name}")
        df, silent = _silent(records, share)
        prepared = _write(root, df, manifest)
        (prepared / VALIDATED_FILE).write_text("stale", encoding="utf-8")
        section = _validate_section(repo, root, quarantine_limit=0.05, audio={"not_silent": {"mostly": 0.5}})
        runs[name] = (
            run_validate(prepared, root / "report", ValidateParams.model_validate(section)),
            prepared,
            silent,
        )
    return runs


@pytest.mark.slow
def test_quarantine_below_limit_sets_rows_aside_and_passes(quarantined: dict) -> None:
    result, prepared, silent = quarantined["below"]
    assert result.passed, result.reasons
    assert set(result.quarantine) == silent
    lines = [
        json.loads(line) for line in (prepared / QUARANTINE_FILE).read_text(encoding="utf-8").splitlines()
    ]
    assert {line["utterance_id"] for line in lines} == silent
    assert {line["reason"] for line in lines} == {"expectation:expect_audio_not_silent"}
    kept = pd.read_parquet(prepared / VALIDATED_FILE)
    assert set(kept["utterance_id"]).isdisjoint(silent) and len(kept) == result.rows - len(silent)
    assert result.suites["audio"].quarantined == len(silent)
    gate = read_gate(prepared / GATE_FILE)
    assert gate.passed is True and gate.excluded_ids() == silent


@pytest.mark.slow
def test_quarantine_above_limit_fails_the_gate(quarantined: dict) -> None:
    result, prepared, silent = quarantined["above"]
    assert not result.passed
    assert any("validate.quarantine_limit" in reason for reason in result.reasons)
    assert result.quarantined_rows == len(silent)
    assert not (prepared / VALIDATED_FILE).exists()  # no stale table for training to pick up
    assert read_gate(prepared / GATE_FILE).passed is False


# ---- bad inputs -----------------------------------------------------------------------------------


def test_missing_records_and_manifest_exit_2_naming_the_file(tmp_path: Path, repo: Path) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    params["validate"] = _validate_section(repo, tmp_path)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["--params", str(path), "validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "records.parquet" in result.output and "callbot prepare" in result.output
    records, _ = clean_records(20)
    prepared = _write(tmp_path, records.drop(columns=["rms"]), [])
    result = runner.invoke(app, ["--params", str(path), "validate", str(prepared)])
    assert result.exit_code == 2 and "missing contract columns rms" in result.output
    _write(tmp_path, records, [])
    (tmp_path / "raw" / "_manifest.jsonl").unlink()
    result = runner.invoke(app, ["--params", str(path), "validate", str(prepared)])
    assert result.exit_code == 2 and "_manifest.jsonl" in result.output and "callbot ingest" in result.output


@pytest.mark.slow
def test_a_changed_threshold_rewrites_its_suite_in_place(
    clean: tuple[GateResult, Path, int], repo: Path
) -> None:
    """A params change shows as a diff of the suite JSON, and the validation definitions still point at it."""
    from callbot.quality.gate import sync_context

    result, _, _ = clean
    root = result.report.parent
    context = root / "gx"
    before = json.loads((context / "expectations" / "audio.json").read_text(encoding="utf-8"))
    section = _validate_section(repo, root, audio={"rms_floor": 0.02})
    sync_context(ValidateParams.model_validate(section), root / "resync")
    after = json.loads((context / "expectations" / "audio.json").read_text(encoding="utf-8"))
    floors = [
        e["kwargs"].get("min_value") for e in after["expectations"] if e["type"] == "expect_audio_not_silent"
    ]
    assert floors == [0.02] and after["id"] == before["id"]
    definition = json.loads((context / "validation_definitions" / "audio.json").read_text(encoding="utf-8"))
    assert definition["suite"]["id"] == after["id"]
    labels = (context / "expectations" / "labels.json").read_text(encoding="utf-8")
    sync_context(ValidateParams.model_validate(section), root / "resync")
    assert (context / "expectations" / "labels.json").read_text(encoding="utf-8") == labels  # untouched
