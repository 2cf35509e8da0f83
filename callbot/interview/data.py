"""The interview answers of records.parquet: text, sentences, labels and split.

An answer row (a dataset whose adapter feeds the summary task, role ``answer``) is one example. Its sentences are split on
sentence-final punctuation of the label text as written (``text_raw``). A validation/test answer is
*seen* when every one of its sentences occurs word for word in a train answer, *unseen* otherwise
(a held-out sentence template or slot value): the report gives both apart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from callbot.interview.served import sentences
from callbot.prepare.adapters import datasets_feeding

SPLITS = ("train", "validation", "test")
COLUMNS = ("interview_id", "dataset", "role", "text_raw", "emotion", "intent", "summary", "split")


class InterviewError(ValueError):
    """Input the interview stage cannot use: the message names the file or field and what to do."""


@dataclass(frozen=True)
class Answer:
    id: str
    text: str
    sentences: tuple[str, ...]
    split: str
    emotion: str | None
    intent: str | None
    summary: str | None
    seen: bool = False  # validation/test: every sentence occurs in a train answer


def read_rows(records: Path) -> list[dict[str, Any]]:
    """The columns the stage reads; a missing file or column is an error naming it."""
    import pyarrow.parquet as pq

    if not records.is_file():
        raise InterviewError(f"{records}: not found; run `callbot prepare` first")
    try:
        names = pq.read_schema(records).names
    except (OSError, ValueError) as exc:
        raise InterviewError(
            f"{records}: not a readable parquet file ({exc}); rerun `callbot prepare`"
        ) from None
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise InterviewError(
            f"{records}: lacks column(s) {', '.join(missing)} (callbot/prepare/schema.py); rerun `callbot prepare`"
        )
    return pq.read_table(records, columns=list(COLUMNS)).to_pylist()


def _answer(row: dict[str, Any]) -> Answer:
    text = row["text_raw"] or ""
    return Answer(
        row["interview_id"], text, sentences(text), row["split"],
        row["emotion"] or None, row["intent"] or None, row["summary"] or None,
    )  # fmt: skip


def load_answers(prepared: Path) -> dict[str, list[Answer]]:
    """Interview answers per split, validation/test marked seen or unseen against train sentences."""
    records = prepared / "records.parquet"
    feeding = set(datasets_feeding("summary"))  # the datasets whose answers carry the page's labels
    rows = [r for r in read_rows(records) if r["dataset"] in feeding and r["role"] == "answer"]
    answers = [_answer(r) for r in rows if (r["text_raw"] or "").strip()]
    splits = {s: [a for a in answers if a.split == s] for s in SPLITS}
    empty = [s for s in SPLITS if not splits[s]]
    if empty:
        raise InterviewError(
            f"{records}: no interview answer in split(s) {', '.join(empty)} (column split); "
            "rerun `callbot sample`/`callbot prepare` with interview data"
        )
    known = {s for a in splits["train"] for s in a.sentences}
    for split in ("validation", "test"):
        splits[split] = [replace(a, seen=all(s in known for s in a.sentences)) for a in splits[split]]
    return splits


def labelled(items: list[Answer], field: str) -> list[Answer]:
    """The answers that carry ``field`` (emotion, intent or summary)."""
    return [a for a in items if getattr(a, field)]


def require_labels(splits: dict[str, list[Answer]], field: str, records: Path) -> None:
    """Every split needs answers labelled with ``field``; the error names the column."""
    empty = [s for s in SPLITS if not labelled(splits[s], field)]
    if empty:
        raise InterviewError(
            f"{records}: no interview answer in split(s) {', '.join(empty)} has a value in column "
            f"{field}; check the label files' {field} and rerun `callbot prepare`"
        )
