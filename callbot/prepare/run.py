"""`callbot prepare`: an ingested tree -> records.parquet, quarantine.jsonl, stt/, llm/, llm.jsonl,
splits.json (the share of each split within every stratum, so drift from the expected shares is visible:
80/10/10 by folder on the sample, Training 8 : Validation 2 halved into validation and test).

One pass streams every dataset adapter's items: a record is normalised, given its split and buffered
into parquet row groups; anything else goes to quarantine.jsonl with its reason. Memory is bounded
by one row group and the set of utterance ids, not by the tree. Every output is written under a
temporary name and swapped in, so a failed run leaves the previous outputs whole. The summary line
states the accounting: inputs = records + quarantined.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from callbot.atomic import write_json
from callbot.console import progress, summary
from callbot.prepare.adapters import DatasetAdapter, Quarantined, discover_adapters, stratum_of
from callbot.prepare.params import PrepareParams
from callbot.prepare.reviewed import apply_correction, load_corrections, reviewed_calls
from callbot.prepare.schema import RECORD_COLUMNS, RECORD_SCHEMA, SPLITS
from callbot.prepare.splits import assign_split, stratum_shares
from callbot.text.normalize import normalize_text

__all__ = ["PrepareError", "PrepareReport", "run_prepare"]

ROW_GROUP = 16384


class PrepareError(RuntimeError):
    """Prepare cannot run on this input; the message says which path and what to do."""


@dataclass
class PrepareReport:
    out: Path
    inputs: int = 0
    records: int = 0
    quarantined: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    datasets: Counter[str] = field(default_factory=Counter)
    splits: Counter[str] = field(default_factory=Counter)
    strata: dict[str, dict[str, float]] = field(default_factory=dict)
    stt: dict[str, int] = field(default_factory=dict)
    llm: dict[str, dict[str, int]] = field(default_factory=dict)
    summary: str = ""


class _RecordWriter:
    """Column buffers flushed as parquet row groups to a temporary file."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.path = path
        self._writer = pq.ParquetWriter(path, RECORD_SCHEMA, compression="zstd")
        self._rows: list[dict[str, Any]] = []

    def add(self, record: dict[str, Any]) -> None:
        self._rows.append(record)
        if len(self._rows) >= ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa

        if not self._rows:
            return
        columns = {name: [row.get(name) for row in self._rows] for name in RECORD_COLUMNS}
        self._writer.write_table(pa.Table.from_pydict(columns, schema=RECORD_SCHEMA))
        self._rows = []

    def close(self) -> None:
        self.flush()
        self._writer.close()


def _detect(raw: Path) -> list[DatasetAdapter]:
    if not raw.is_dir():
        raise PrepareError(f"{raw}: not a directory; run `callbot ingest SRC --out {raw}` first")
    adapters = discover_adapters()
    found = [a for a in adapters if a.detect(raw)]
    if not found:
        names = ", ".join(a.name for a in adapters)
        raise PrepareError(
            f"{raw}: no known dataset folder (adapters: {names}); point prepare at the folder "
            "`callbot ingest` wrote, which holds e.g. '129.채용면접 인터뷰 데이터/'"
        )
    return found


def run_prepare(raw: Path, out: Path, params: PrepareParams) -> PrepareReport:
    """Prepare every dataset found under ``raw`` into ``out``; returns the counts it reports."""
    from callbot.prepare.hf import write_llm, write_stt

    adapters = [*_detect(raw), *reviewed_calls(params.corrections, params.ars_domains)]
    out.mkdir(parents=True, exist_ok=True)
    report = PrepareReport(out=out)
    try:
        corrections = load_corrections(params.corrections)  # accepted human review, by utterance id
    except ValueError as exc:
        raise PrepareError(str(exc)) from None
    groups = _write_records(adapters, raw, out, params, corrections, report)
    report.strata = stratum_shares(groups.values())
    write_json(out / "splits.json", {"groups": len(groups), "shares_by_stratum": report.strata})
    del groups  # the HF datasets below are built from the parquet file, not from memory
    records = out / "records.parquet"
    report.stt = write_stt(records, raw, out / "stt")
    report.llm = write_llm(records, out / "llm", out / "llm.jsonl", params)
    assert report.inputs == report.records + report.quarantined
    report.summary = summary("prepare", _summary_line(report, out))
    return report


def _write_records(
    adapters: list[DatasetAdapter],
    raw: Path,
    out: Path,
    params: PrepareParams,
    corrections: dict[str, Any],
    report: PrepareReport,
) -> dict[str, tuple[str, str]]:
    """records.parquet and quarantine.jsonl, each renamed into place only when whole; returns each
    interview's (stratum, split)."""
    records_tmp = out / ".records.parquet.tmp"
    quarantine_tmp = out / ".quarantine.jsonl.tmp"
    writer = _RecordWriter(records_tmp)
    try:
        with open(quarantine_tmp, "w", encoding="utf-8") as quarantine, progress() as bar:
            groups = _admit_all(adapters, raw, params, corrections, report, writer, quarantine, bar)
        writer.close()
    except BaseException:
        writer.close()
        records_tmp.unlink(missing_ok=True)
        quarantine_tmp.unlink(missing_ok=True)
        raise
    os.replace(records_tmp, out / "records.parquet")
    os.replace(quarantine_tmp, out / "quarantine.jsonl")
    return groups


def _admit_all(
    adapters: list[DatasetAdapter],
    raw: Path,
    params: PrepareParams,
    corrections: dict[str, Any],
    report: PrepareReport,
    writer: _RecordWriter,
    quarantine: IO[str],
    bar: Any,
) -> dict[str, tuple[str, str]]:
    """Every adapter's records through :func:`_admit`: kept ones to ``writer``, the rest to ``quarantine``."""
    seen: set[str] = set()
    groups: dict[str, tuple[str, str]] = {}
    for adapter in adapters:
        task = bar.add_task(f"prepare {adapter.name}", total=None)
        for item in adapter.iter_records(raw, params):
            report.inputs += 1
            bar.advance(task)
            if not isinstance(item, Quarantined):
                item = _admit(item, seen, corrections, params)
            if isinstance(item, Quarantined):
                quarantine.write(
                    json.dumps({"dataset": adapter.name, **item.as_json()}, ensure_ascii=False) + "\n"
                )
                report.quarantined += 1
                report.reasons[item.reason] += 1
                continue
            seen.add(item["utterance_id"])
            groups.setdefault(item["interview_id"], (stratum_of(item), item["split"]))
            writer.add(item)
            report.records += 1
            report.datasets[adapter.name] += 1
            report.splits[item["split"]] += 1
    return groups


def _admit(
    item: dict[str, Any], seen: set[str], corrections: dict[str, Any], params: PrepareParams
) -> dict[str, Any] | Quarantined:
    """The record corrected, normalised and given its split; or why it is quarantined (a duplicate
    utterance, a text empty after normalisation)."""
    uid = item["utterance_id"]
    if uid in seen:
        return Quarantined(
            item["label_path"],
            uid,
            "duplicate_utterance",
            f"{item['label_path']}: utterance {uid} already came from another label; "
            "remove the duplicate label or audio",
        )
    item = apply_correction(item, corrections)
    text = params.text
    normalised = normalize_text(
        item["text_raw"] or "",
        dual_form=text.dual_form,
        drop_fillers=text.drop_fillers,
        numbers_as_words=text.numbers_as_words,
    )
    if not normalised:
        return Quarantined(
            item["label_path"],
            uid,
            "empty_text",
            f"{item['label_path']}: {item['role']} text is empty after normalisation "
            f"({item['text_raw']!r}); fill in the transcript",
        )
    item["text"] = normalised
    item["split"] = assign_split(item["interview_id"], params.split, item["label_path"])
    return item


def _summary_line(report: PrepareReport, out: Path) -> str:
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(report.reasons.items())) or "none"
    split_text = "/".join(str(report.splits[s]) for s in SPLITS)
    llm_total = sum(sum(c.values()) for c in report.llm.values())
    return (
        f"{report.inputs} inputs = {report.records} records + {report.quarantined} quarantined ({reasons}); "
        f"splits {split_text}; stt {sum(report.stt.values())} rows, llm {llm_total} examples -> {out}"
    )
