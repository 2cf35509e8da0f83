"""One module per AI-Hub dataset, behind one small interface.

A dataset adapter knows where its dataset sits in an ingested tree and turns that dataset's label
format into rows of the records contract (:mod:`callbot.prepare.schema`). Everything after that
(normalisation, splits, parquet, HF datasets) is shared. Adding a dataset is writing one module in
this package that defines ``ADAPTER``; :func:`discover_adapters` finds it without other edits.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Iterator

    from callbot.prepare.params import PrepareParams

__all__ = ["DatasetAdapter", "Quarantined", "Record", "discover_adapters"]

Record = dict[str, Any]
"""One utterance: keys are columns of RECORD_SCHEMA (``text`` and ``split`` are filled by prepare)."""


@dataclass(frozen=True, slots=True)
class Quarantined:
    """An input that could not become a record, and why; one line of ``quarantine.jsonl``."""

    source: str  # file relative to RAW
    utterance: str | None  # utterance id when known
    reason: str  # short code: unparsable_json, unknown_value, missing_field, label_without_audio, ...
    message: str  # what is wrong and what to do

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "utterance": self.utterance,
            "reason": self.reason,
            "message": self.message,
        }


@runtime_checkable
class DatasetAdapter(Protocol):
    """What prepare needs from a dataset module."""

    name: str  # the value of the records' ``dataset`` column

    def detect(self, raw_root: Path) -> bool:
        """True when this dataset is present under ``raw_root``."""
        ...

    def iter_records(self, raw_root: Path, params: PrepareParams) -> Iterator[Record | Quarantined]:
        """Every input of the dataset, once: a record or the reason it is quarantined."""
        ...


def discover_adapters() -> list[DatasetAdapter]:
    """Every ``ADAPTER`` defined by a module of this package, ordered by name (deterministic output)."""
    found: list[DatasetAdapter] = []
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_"):
            continue
        adapter = getattr(importlib.import_module(f"{__name__}.{module.name}"), "ADAPTER", None)
        if adapter is None:
            continue
        if not isinstance(adapter, DatasetAdapter):
            raise TypeError(f"{__name__}.{module.name}.ADAPTER does not implement DatasetAdapter")
        found.append(adapter)
    names = [a.name for a in found]
    if len(set(names)) != len(names):
        raise ValueError(f"two dataset adapters share a name: {sorted(names)}")
    return sorted(found, key=lambda a: a.name)


def dataset_dirs(raw_root: Path, marker: str) -> list[Path]:
    """Top-level folders of ``raw_root`` whose (NFC) name contains ``marker``, e.g. 채용면접."""
    import unicodedata

    if not raw_root.is_dir():
        return []
    return sorted(
        p for p in raw_root.iterdir() if p.is_dir() and marker in unicodedata.normalize("NFC", p.name)
    )
