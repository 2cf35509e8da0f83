"""`callbot validate` at full cardinality: 84,134 interviews -> 168,268 records, goal under 60 s.

Builds the table from the records contract (tests/support/synthetic_records.py), writes records.parquet and a
manifest to a temp dir, then times: the whole gate (GE start, both checkpoints, data docs, outputs),
each suite's validation definition on its own, and a baseline of the same checks in plain pandas (no
GE) measured in this script. The last line holds the figures and the ratios.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test-support generators live in tests/support/

INTERVIEWS = 84_134
GOAL_S = 60.0


def _pandas_checks(records, params) -> int:  # type: ignore[no-untyped-def]
    """The gate's row checks in plain vectorised pandas: the floor GE's bookkeeping is compared with."""
    from callbot.quality.frames import dataset_frame, records_frame
    from callbot.quality.suites import ENUMS, REQUIRED

    frame = records_frame(records)
    a, r = params.audio, params.labels
    bad = frame[list(REQUIRED)].isna().any(axis=1)
    for column, allowed in ENUMS.items():
        bad |= frame[column].notna() & ~frame[column].isin(allowed)
    bad |= ~frame["word_count"].between(r.word_count_min, r.word_count_max) & frame["word_count"].notna()
    bad |= frame["word_count_gap"] > r.word_count_tolerance
    bad |= frame["summary_chars"] >= frame["text_chars"]
    bad |= ~frame["text"].str.contains("[가-힣]", regex=True, na=True)
    bad |= frame["utterance_id"].duplicated(keep=False)
    bad |= (
        frame["sample_rate"].ne(a.sample_rate) | frame["channels"].ne(a.channels) | frame["bits"].ne(a.bits)
    )
    bad |= frame["duration_gap_ms"] > a.duration_tolerance_ms
    bad |= (frame["rms"] < a.rms_floor) | (frame["clipped_ratio"] > a.clipped_ratio_max)
    bad |= ~frame["duration_actual_ms"].between(a.duration_min_ms, a.duration_max_ms)
    manifest = sorted(set(records["audio_path"]) | set(records["label_path"]))
    dataset = dataset_frame(records, manifest, params)
    return int(bad.sum()) + int((dataset["interview_splits"] > 1).sum())


def main() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from callbot.config import load_params
    from callbot.prepare.schema import RECORD_SCHEMA
    from callbot.quality.gate import CHECKPOINTS, read_records, run_validate, sync_context
    from tests.support.synthetic_records import clean_records

    repo = ROOT
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        records, manifest = clean_records(INTERVIEWS)
        (root / "prepared").mkdir()
        pq.write_table(
            pa.Table.from_pandas(records, schema=RECORD_SCHEMA, preserve_index=False),
            root / "prepared" / "records.parquet",
        )
        lines = (json.dumps({"path": p, "size": 1, "sha256": "0" * 64, "archive": "a"}) for p in manifest)
        (root / "_manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"generated {len(records):,} records in {time.perf_counter() - start:.1f}s", file=sys.stderr)

        params = load_params(repo / "params.yaml", "full").validate_
        params = params.model_copy(
            update={"manifest": str(root / "_manifest.jsonl"), "context": str(root / "gx")}
        )

        start = time.perf_counter()
        result = run_validate(root / "prepared", root / "report", params)
        gate_s = time.perf_counter() - start
        assert result.passed, result.reasons

        # each suite alone: its validation definition on the frame its checkpoint feeds it
        from callbot.quality.frames import dataset_frame, read_manifest, records_frame

        records = read_records(root / "prepared")
        frames = {
            "records": records_frame(records),
            "dataset": dataset_frame(records, read_manifest(root / "_manifest.jsonl"), params),
        }
        checkpoints = sync_context(params, root / "suite_report")
        suite_s: dict[str, float] = {}
        for name, checkpoint in checkpoints.items():
            for definition in checkpoint.validation_definitions:
                start = time.perf_counter()
                definition.run(
                    batch_parameters={"dataframe": frames[name]}, result_format=checkpoint.result_format
                )
                suite_s[definition.suite.name] = time.perf_counter() - start
        assert set(suite_s) == {s for suites in CHECKPOINTS.values() for s in suites}

        start = time.perf_counter()
        _pandas_checks(records, params)
        pandas_s = time.perf_counter() - start

    for name, seconds in suite_s.items():
        print(f"suite {name:<9} {seconds:6.2f}s")
    print(
        f"gate (GE, both checkpoints, data docs, outputs) {gate_s:.2f}s; same checks in plain pandas {pandas_s:.2f}s"
    )
    per_suite = " ".join(f"{k}_s={v:.2f}" for k, v in suite_s.items())
    print(
        f"validate_rows={result.rows} gate_s={gate_s:.2f} {per_suite} pandas_baseline_s={pandas_s:.2f} "
        f"ratio_gate_vs_pandas={gate_s / pandas_s:.1f}x goal=<{GOAL_S:.0f}s {'OK' if gate_s < GOAL_S else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
