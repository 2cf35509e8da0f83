"""Semantic versions for the prepared dataset, kept in the repository (``versions/dataset.json``).

MAJOR when the records schema changes (downstream code must adapt), MINOR when new utterances arrive
(a new AI-Hub release), PATCH when the same utterances change (label or audio fixes). An unchanged
dataset keeps its version, so a scheduled re-run does not mint versions for nothing.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from callbot.contracts import (
    DatasetVersions,
    Fingerprint,
    VersionEntry,
    dataset_version,
    file_digest,
    read_dataset_versions,
    write_dataset_versions,
)

__all__ = ["dataset_version", "fingerprint_records", "load_history", "next_version", "record_version"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def fingerprint_records(records_path: Path) -> Fingerprint:
    """Fingerprint ``records.parquet`` without loading more than the id column into memory."""
    import pyarrow.parquet as pq

    if not records_path.is_file():
        raise FileNotFoundError(f"{records_path}: no records table; run `callbot prepare` first")
    parquet = pq.ParquetFile(records_path)
    schema = ";".join(f"{f.name}:{f.type}" for f in parquet.schema_arrow)
    ids = sorted(parquet.read(columns=["utterance_id"]).column(0).to_pylist())
    return Fingerprint(
        schema=_sha(schema.encode()),
        ids=_sha("\n".join(map(str, ids)).encode()),
        content=file_digest(records_path),
        records=len(ids),
    )


def _parse(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(x) for x in version.split("."))
    return major, minor, patch


def next_version(previous: VersionEntry | None, current: Fingerprint) -> tuple[str, str]:
    """The version ``current`` deserves after ``previous``, and which part was bumped."""
    if previous is None:
        return "1.0.0", "initial"
    major, minor, patch = _parse(previous.version)
    before = previous.fingerprint
    if current.schema_ != before.schema_:
        return f"{major + 1}.0.0", "major"
    if current.ids != before.ids:
        # new utterances (a release) -> minor; only removals are a fix of the old release -> patch
        if current.records > before.records:
            return f"{major}.{minor + 1}.0", "minor"
        return f"{major}.{minor}.{patch + 1}", "patch"
    if current.content != before.content:
        return f"{major}.{minor}.{patch + 1}", "patch"
    return previous.version, "none"


def load_history(version_file: Path) -> list[VersionEntry]:
    """The versions recorded so far; none before the first (``ContractError`` on a broken file)."""
    return read_dataset_versions(version_file).history if version_file.is_file() else []


def record_version(records_path: Path, version_file: Path, note: str = "") -> VersionEntry:
    """Fingerprint the records, decide the version and append it to ``version_file`` atomically."""
    history = load_history(version_file)
    previous = history[-1] if history else None
    current = fingerprint_records(records_path)
    version, bump = next_version(previous, current)
    if bump == "none":
        assert previous is not None
        return previous.model_copy(update={"bump": "none"})  # this run's outcome; the file is left as it was
    entry = VersionEntry(
        version=version,
        bump=bump,
        fingerprint=current,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        note=note,
    )
    write_dataset_versions(version_file, DatasetVersions(current=version, history=[*history, entry]))
    return entry
