"""One module per AI-Hub dataset, behind one small interface.

A dataset adapter knows where its dataset sits in an ingested tree and turns that dataset's label
format into rows of the records contract (:mod:`callbot.prepare.schema`). Everything after that
(normalisation, splits, parquet, HF datasets) is shared. Adding a dataset is writing one module in
this package that defines ``ADAPTER``; :func:`discover_adapters` finds it without other edits.

Each adapter also declares what the stages after prepare need to know about its dataset, so none of
them filters on dataset names: its ``strata`` (the record columns its split shares and validate's
stratum check are taken over), its ``quality`` (:class:`Quality`: the WAV rate it ships, the columns
every row must fill, whether the page publishes proportions to compare with) and the tasks it
``feeds`` (:data:`TASKS`). The registry functions below (:func:`datasets_feeding`,
:func:`stratum_of`, ...) are what prepare, validate, the LLM tasks and the bot evaluation read.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Iterator

    from callbot.prepare.params import PrepareParams

__all__ = [
    "TASKS",
    "DatasetAdapter",
    "Quality",
    "Quarantined",
    "Record",
    "adapter_names",
    "datasets_feeding",
    "discover_adapters",
    "expected_sample_rate",
    "published_datasets",
    "required_columns",
    "stratum_of",
]

# What a dataset can feed: the STT dataset, the ARS dialogue task, the interview analysis tasks.
TASKS = ("stt", "ars", "summary", "emotion", "intent")

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


@dataclass(frozen=True, slots=True)
class Quality:
    """What validate expects of a dataset's rows (the rules' thresholds stay in params.yaml)."""

    sample_rate: int | None = None  # the WAV rate it ships (8000 for a phone line); None: validate's default
    required: tuple[str, ...] = ()  # columns every row of the dataset must fill (audio, demographics)
    published: bool = False  # its rows are compared with the page's proportions (validate.reference)


@runtime_checkable
class DatasetAdapter(Protocol):
    """What prepare needs from a dataset module, and what it declares to the stages after it."""

    name: str  # the value of the records' ``dataset`` column
    strata: tuple[str, ...]  # record columns whose values partition it (split shares, stratum check)
    quality: Quality
    feeds: frozenset[str]  # which of TASKS its records feed

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
    for adapter in found:
        unknown = sorted(set(adapter.feeds) - set(TASKS))
        if unknown:
            raise ValueError(
                f"dataset adapter {adapter.name!r} feeds unknown task(s) {unknown}; known: {TASKS}"
            )
    return sorted(found, key=lambda a: a.name)


@lru_cache(maxsize=4)
def _discovered(paths: tuple[str, ...]) -> dict[str, DatasetAdapter]:
    return {a.name: a for a in discover_adapters()}


def _registry() -> dict[str, DatasetAdapter]:
    """The adapters by name, discovered once per package path (tests may add a folder to it)."""
    return _discovered(tuple(__path__))


def adapter_names() -> tuple[str, ...]:
    """Every dataset name prepare can write into the records' ``dataset`` column."""
    return tuple(_registry())


def datasets_feeding(task: str) -> tuple[str, ...]:
    """The datasets whose records feed ``task`` (one of :data:`TASKS`), e.g. ``("callcenter",)`` for ars."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    return tuple(name for name, a in _registry().items() if task in a.feeds)


def stratum_of(record: dict[str, Any]) -> str:
    """``<dataset>/<value>/...`` over the dataset's declared strata (just the dataset when it has none)."""
    adapter = _registry().get(str(record.get("dataset")))
    values = [str(record.get(column)) for column in (adapter.strata if adapter else ())]
    return "/".join([str(record.get("dataset")), *values])


def expected_sample_rate(dataset: str, default: int) -> int:
    """The WAV rate ``dataset`` declares, or ``default`` (validate.audio.sample_rate) when it declares none."""
    adapter = _registry().get(dataset)
    rate = adapter.quality.sample_rate if adapter else None
    return rate if rate is not None else default


def required_columns() -> dict[str, tuple[str, ...]]:
    """Dataset -> the columns every one of its rows must fill (validate's labels suite)."""
    return {name: a.quality.required for name, a in _registry().items() if a.quality.required}


def published_datasets() -> tuple[str, ...]:
    """Datasets whose rows validate compares with the page's published proportions."""
    return tuple(name for name, a in _registry().items() if a.quality.published)


def dataset_dirs(raw_root: Path, marker: str) -> list[Path]:
    """Top-level folders of ``raw_root`` whose (NFC) name contains ``marker``, e.g. 채용면접."""
    import unicodedata

    if not raw_root.is_dir():
        return []
    return sorted(
        p for p in raw_root.iterdir() if p.is_dir() and marker in unicodedata.normalize("NFC", p.name)
    )


def unlabelled_audio(audio: Any, label_field: str) -> Iterator[Quarantined]:
    """A quarantine line for every audio file of the dataset that no label names (``audio.unused``)."""
    for parts in audio.unused:
        rel = "/".join(parts)
        yield Quarantined(
            rel, None, "audio_without_label",
            f"{rel}: no {label_field} names this file; add its label or remove the file",
        )  # fmt: skip
