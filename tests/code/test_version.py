"""Dataset semantic versions: MAJOR schema, MINOR new data, PATCH fixes, none when unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from callbot.contracts import ContractError
from callbot.orchestrate.version import load_history, record_version


def _write(path: Path, ids: list[str], text: str = "안녕하세요", extra: bool = False) -> Path:
    columns = {"utterance_id": ids, "text": [text] * len(ids)}
    if extra:
        columns["emotion"] = ["neutral"] * len(ids)
    pq.write_table(pa.table(columns), path)
    return path


def test_version_bumps_follow_the_rule(tmp_path: Path) -> None:
    records, vfile = tmp_path / "records.parquet", tmp_path / "versions" / "dataset.json"
    _write(records, ["a", "b"])
    assert record_version(records, vfile).version == "1.0.0"
    assert record_version(records, vfile).bump == "none"  # re-run on the same data mints nothing
    _write(records, ["a", "b"], text="안녕하십니까")
    assert (record_version(records, vfile).version, load_history(vfile)[-1].bump) == ("1.0.1", "patch")
    _write(records, ["a", "b", "c"], text="안녕하십니까")
    assert record_version(records, vfile).version == "1.1.0"
    _write(records, ["a", "b"], text="안녕하십니까")
    assert record_version(records, vfile).version == "1.1.1"  # removals fix the release
    _write(records, ["a", "b"], text="안녕하십니까", extra=True)
    assert record_version(records, vfile).version == "2.0.0"
    data = json.loads(vfile.read_text(encoding="utf-8"))
    assert data["current"] == "2.0.0" and len(data["history"]) == 5


def test_missing_records_and_corrupt_history_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="callbot prepare"):
        record_version(tmp_path / "records.parquet", tmp_path / "v.json")
    bad = tmp_path / "v.json"
    bad.write_text("{}", encoding="utf-8")
    _write(tmp_path / "records.parquet", ["a"])
    with pytest.raises(ContractError, match=r"v.json: dataset version file has no schema_version"):
        record_version(tmp_path / "records.parquet", bad)
