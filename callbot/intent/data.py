"""The intent model's examples: the call-centre caller questions of records.parquet, by split.

A caller question (speaker customer, role question) of a configured domain is one example: its
words as labelled (``text_raw``), its 고객의도 (``intent_expression``) and its split. Its scripted
answer is the next counsellor sentence of the same dialogue (train split only, most frequent per
intent). A validation/test question is *seen* when its normalised words occur in training.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.intent.encoders import IntentError
from callbot.text.normalize import normalise

if TYPE_CHECKING:
    from callbot.intent.params import IntentParams

SPLITS = ("train", "validation", "test")
_COLUMNS = (
    "interview_id",
    "dataset",
    "domain",
    "speaker",
    "role",
    "turn",
    "text_raw",
    "intent_expression",
    "split",
)


class IntentDataError(IntentError):
    """records.parquet is missing, lacks a column, or holds no training question: says what to rerun."""


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    split: str
    seen: bool = False  # validation/test only: the same words occur in training


@dataclass(frozen=True)
class Examples:
    splits: dict[str, list[Example]]
    answers: dict[str, str]  # intent -> scripted answer (train split)


def _read_rows(prepared: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    records = prepared / "records.parquet"
    if not records.is_file():
        raise IntentDataError(f"{records}: not found; run `callbot prepare` first")
    try:
        return pq.read_table(records, columns=list(_COLUMNS)).to_pylist()
    except (OSError, KeyError, ValueError) as exc:  # ArrowInvalid (a ValueError): a column is missing
        raise IntentDataError(
            f"{records}: unreadable or lacking {_COLUMNS} ({exc}); rerun `callbot prepare`"
        ) from None


def _dialogues(rows: list[dict[str, Any]], domains: list[str]) -> list[list[dict[str, Any]]]:
    from callbot.prepare.adapters import datasets_feeding

    ars = datasets_feeding("ars")  # the datasets whose caller turns the bot answers
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["dataset"] in ars and row["domain"] in domains:
            grouped[row["interview_id"]].append(row)
    return [sorted(turns, key=lambda r: r["turn"]) for _, turns in sorted(grouped.items())]


def load_examples(params: IntentParams) -> Examples:
    """Caller questions per split with their intents, seen/unseen flags and the answer map."""
    source = Path(params.prepared) / "records.parquet"
    found: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    answers: dict[str, Counter[str]] = defaultdict(Counter)
    for turns in _dialogues(_read_rows(Path(params.prepared)), params.domains):
        for i, row in enumerate(turns):
            intent, text = row["intent_expression"] or "", (row["text_raw"] or "").strip()
            if row["speaker"] != "customer" or row["role"] != "question" or not intent or not text:
                continue
            if intent in params.exclude_intents or row["split"] not in found:
                continue
            found[row["split"]].append((text, intent))
            answer = next((r["text_raw"] for r in turns[i + 1 :] if r["speaker"] == "agent"), None)
            if answer and row["split"] == "train":
                answers[intent][answer.strip()] += 1
    if not found["train"]:
        raise IntentDataError(f"{source}: no train caller question in {params.domains}; check intent.domains")
    seen = {normalise(t) for t, _ in found["train"]}
    splits = {
        split: [Example(t, i, split, split != "train" and normalise(t) in seen) for t, i in items]
        for split, items in found.items()
    }
    return Examples(splits, {i: c.most_common(1)[0][0] for i, c in sorted(answers.items())})
