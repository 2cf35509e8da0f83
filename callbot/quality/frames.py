"""The two tables the gate hands to Great Expectations.

GE judges columns, so every check is turned into a column first:

- the **records frame** is records.parquet plus per-row derived columns (eojeol gap, duration gap,
  lengths); the labels and audio suites run on it, and a failing row can be quarantined by its id;
- the **dataset frame** holds the checks GE cannot express on rows (split leakage, strata per split,
  distributions, published proportions, manifest counts) as one row per checked item, named by
  ``check_key``. Each check has its own column, null on the other checks' rows; GE skips nulls, so each
  expectation sees exactly its own items and the data docs show the figures.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from callbot import contracts
from callbot.prepare.adapters import published_datasets, stratum_of
from callbot.prepare.schema import SPLITS

if TYPE_CHECKING:
    import pandas as pd

    from callbot.quality.params import ValidateParams

DATASET_COLUMNS = (
    "check_key",
    "interview_splits",
    "stratum_splits",
    "split_share_gap_pct",
    "occupation_gap_pct",
    "gender_gap_pct",
    "experience_gap_pct",
    "audio_not_in_manifest",
    "manifest_coverage",
)
AUDIO_SUFFIXES = (".wav", ".pcm", ".flac", ".m4a", ".mp3")
LABEL_SUFFIXES = (".json",)


class GateInputError(ValueError):
    """An input of the gate is missing or malformed; the message names the file and the fix."""


def _norm_path(path: str) -> str:
    """Manifest and records name files relative to RAW; compare them in one spelling (NFC, /)."""
    path = unicodedata.normalize("NFC", path.replace("\\", "/"))
    while path.startswith("./"):
        path = path[2:]
    return path


def read_manifest(path: Path) -> list[str]:
    """The paths (relative to RAW, NFC) that ingest extracted and verified."""
    if not path.is_file():
        raise GateInputError(
            f"{path}: ingest manifest not found; run `callbot ingest` first or set validate.manifest"
        )
    return [_norm_path(entry.path) for entry in contracts.read_manifest(path)]


NO_LABEL_DURATION_GAP_MS = 1e12  # the gap given to audio whose label has no usable duration


def records_frame(records: pd.DataFrame) -> pd.DataFrame:
    """records.parquet plus the per-row figures the labels and audio suites judge."""
    frame = records.reset_index(drop=True)
    frame["row"] = frame.index  # names a record in the data docs even when its id is null or repeated
    eojeols = frame["text_raw"].str.split().str.len()
    frame["word_count_gap"] = (frame["word_count"].astype("float64") - eojeols.astype("float64")).abs()
    frame["text_chars"] = frame["text_raw"].str.len().astype("float64")
    frame["summary_chars"] = frame["summary"].str.len().astype("float64")
    gap = (frame["duration_actual_ms"] - frame["duration_ms"]).abs()
    # GE skips nulls, so audio whose label duration is null, NaN or infinite would pass unchecked: its
    # gap is set past any tolerance instead (audio without a label duration cannot be vouched for)
    label_ms = frame["duration_ms"].astype("float64")
    unusable = frame["duration_actual_ms"].notna() & (label_ms.isna() | label_ms.abs().eq(float("inf")))
    frame["duration_gap_ms"] = gap.mask(unusable, NO_LABEL_DURATION_GAP_MS)
    return frame


def _gap_rows(observed: pd.Series, expected_pct: dict[str, float], column: str, label: str) -> list[dict]:
    """|observed share - published share| in points, for every value seen or published."""
    counts = observed.dropna().value_counts()
    total = int(counts.sum())
    if total == 0:
        return []
    keys = sorted(set(expected_pct) | {str(k) for k in counts.index})
    return [
        {
            "check_key": f"{label}={key}: {100 * counts.get(key, 0) / total:.2f}% vs {expected_pct.get(key, 0.0):.2f}%",
            column: abs(100 * counts.get(key, 0) / total - expected_pct.get(key, 0.0)),
        }
        for key in keys
    ]


def dataset_frame(records: pd.DataFrame, manifest: list[str], params: ValidateParams) -> pd.DataFrame:
    """One row per dataset-level item (interview, stratum, split share, proportion, manifest count)."""
    import pandas as pd

    rows: list[dict] = []

    # splits: leakage, strata coverage, per-split label distributions
    per_interview = records.groupby("interview_id", sort=True)["split"].nunique()
    rows += [
        {"check_key": f"interview {iid}", "interview_splits": float(n)} for iid, n in per_interview.items()
    ]
    interviews = records.drop_duplicates("interview_id")
    if not interviews.empty:  # each dataset's strata are the columns its adapter declares
        strata = interviews.assign(stratum=[stratum_of(r) for r in interviews.to_dict("records")])
        sizes = strata.groupby("stratum").size()
        present = strata.groupby("stratum")["split"].nunique()
        for name, size in sizes.items():
            if size >= params.splits.stratum_min_interviews:
                rows.append({"check_key": f"stratum {name}", "stratum_splits": float(present[name])})
    for column in params.splits.distribution_columns:
        whole = records[column].dropna().value_counts(normalize=True)
        for split in SPLITS:
            part = records.loc[records["split"] == split, column].dropna().value_counts(normalize=True)
            if part.empty:
                continue
            for value in whole.index.union(part.index):
                gap = 100 * abs(part.get(value, 0.0) - whole.get(value, 0.0))
                rows.append({"check_key": f"{split} {column}={value}", "split_share_gap_pct": float(gap)})

    # reference: the page's proportions (one label file = one interview), then the ingest manifest
    labelled = interviews[interviews["dataset"].isin(published_datasets())]
    reference = params.reference
    rows += _gap_rows(labelled["occupation"], reference.occupation_pct, "occupation_gap_pct", "occupation")
    rows += _gap_rows(labelled["gender"], reference.gender_pct, "gender_gap_pct", "gender")
    rows += _gap_rows(labelled["experience"], reference.experience_pct, "experience_gap_pct", "experience")

    listed = set(manifest)
    audio = {_norm_path(p) for p in records["audio_path"].dropna()}
    labels = {_norm_path(p) for p in records["label_path"].dropna()}
    unknown = sorted(audio - listed)
    rows.append(
        {
            "check_key": "audio not in manifest" + (f": {', '.join(unknown[:5])}" if unknown else ""),
            "audio_not_in_manifest": float(len(unknown)),
        }
    )
    for kind, suffixes, seen in (("audio", AUDIO_SUFFIXES, audio), ("label", LABEL_SUFFIXES, labels)):
        files = {p for p in listed if p.lower().endswith(suffixes)}
        if files:
            share = len(files & seen) / len(files)
            rows.append({"check_key": f"manifest {kind} files in records", "manifest_coverage": share})

    frame = pd.DataFrame(rows, columns=list(DATASET_COLUMNS))
    for column in DATASET_COLUMNS[1:]:
        frame[column] = frame[column].astype("float64")
    return frame
