"""The gate on a real prepared sample: sample -> ingest -> prepare -> validate, one WAV made silent.

The crafted tables of test_validate.py prove each rule; this proves the gate reads what prepare really
writes (dtypes, paths relative to RAW, the ingest manifest) and that a defect in an audio file travels
through prepare's figures into the quarantine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import soundfile

from callbot.config import load_params
from callbot.quality.gate import QUARANTINE_FILE, VALIDATED_FILE, run_validate
from callbot.quality.params import ValidateParams


@pytest.mark.slow
def test_gate_on_a_prepared_sample_quarantines_the_silent_file(tmp_path: Path, repo: Path) -> None:
    from callbot.aihub.ingest import run_ingest
    from callbot.prepare.run import run_prepare
    from callbot.sample import run_sample

    params = load_params(repo / "params.yaml", "smoke")
    download, raw, prepared = tmp_path / "download", tmp_path / "raw", tmp_path / "prepared"
    run_sample(params.sample.model_copy(update={"out": str(download), "records": 40, "audio": "stub"}))
    run_ingest(download, raw, params.ingest)

    wav = sorted(raw.rglob("*.wav"))[0]
    samples, rate = soundfile.read(wav, dtype="int16")
    soundfile.write(wav, samples * 0, rate, subtype="PCM_16")  # same length, no sound
    run_prepare(raw, prepared, params.prepare)

    section = params.validate_.model_dump()
    section.update(manifest=str(raw / "_manifest.jsonl"), context=str(tmp_path / "gx"))
    section["audio"]["duration_min_ms"] = 50.0  # stub WAVs are about 70 ms long
    section["audio"]["not_silent"]["mostly"] = 0.5  # one silent file must be quarantined, not fatal
    result = run_validate(prepared, tmp_path / "report", ValidateParams.model_validate(section))

    assert result.passed, result.reasons
    records = pd.read_parquet(prepared / "records.parquet")
    assert result.rows == len(records) > 0
    assert set(result.quarantine) == {wav.stem}
    assert result.quarantine[wav.stem] == ["expect_audio_not_silent"]
    lines = (prepared / QUARANTINE_FILE).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["utterance_id"] for line in lines] == [wav.stem]
    kept = pd.read_parquet(prepared / VALIDATED_FILE)
    assert wav.stem not in set(kept["utterance_id"]) and len(kept) == len(records) - 1
    from callbot.quality.verdict import gate_exclusions

    assert gate_exclusions(prepared, allow_failed=False, override="-") == {
        wav.stem
    }  # trainers honour gate.json
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["suites"]["audio"]["quarantined"] == 1
    assert all(s["evaluated"] > 0 for s in summary["suites"].values())
