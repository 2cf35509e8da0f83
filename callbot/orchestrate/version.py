"""Semantic versions for the prepared dataset, kept in the repository (``versions/dataset.json``).

MAJOR when the records schema changes (downstream code must adapt), MINOR when new utterances arrive
(a new AI-Hub release), PATCH when the same utterances change (label or audio fixes). An unchanged
dataset keeps its version, so a scheduled re-run does not mint versions for nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from callbot.atomic import write_json


@dataclass(frozen=True)
class Fingerprint:
    """What the version rule compares: the schema, the set of utterance ids, the content."""

    schema: str
    ids: str
    content: str
    records: int


@dataclass(frozen=True)
class VersionEntry:
    version: str
    bump: str  # initial | major | minor | patch | none
    fingerprint: Fingerprint
    created: str
    note: str


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
    content = hashlib.sha256()
    with records_path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            content.update(block)
    return Fingerprint(
        schema=_sha(schema.encode()),
        ids=_sha("\n".join(map(str, ids)).encode()),
        content=content.hexdigest()[:16],
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
    if current.schema != before.schema:
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
    if not version_file.is_file():
        return []
    try:
        data = json.loads(version_file.read_text(encoding="utf-8"))
        return [
            VersionEntry(**{**entry, "fingerprint": Fingerprint(**entry["fingerprint"])})
            for entry in data["history"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{version_file}: not a dataset version file ({exc}); restore it from git or delete it to start at 1.0.0"
        ) from None


def record_version(records_path: Path, version_file: Path, note: str = "") -> VersionEntry:
    """Fingerprint the records, decide the version and append it to ``version_file`` atomically."""
    history = load_history(version_file)
    previous = history[-1] if history else None
    current = fingerprint_records(records_path)
    version, bump = next_version(previous, current)
    if bump == "none":
        assert previous is not None
        return replace(previous, bump="none")  # this run's outcome; the file is left as it was
    entry = VersionEntry(
        version=version,
        bump=bump,
        fingerprint=current,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        note=note,
    )
    payload: dict[str, Any] = {
        "current": version,
        "history": [asdict(e) for e in [*history, entry]],
    }
    write_json(version_file, payload)
    return entry
