"""Accepted human review as prepare's input: corrected fields by utterance id, and the handed-over
calls a reviewer answered, as a dataset of two-turn call-centre dialogues.

``<prepare.corrections>/corrections.jsonl`` (written by ``callbot review import``, DVC-tracked) is read
through its contract (:func:`callbot.contracts.read_corrections`): prepare depends on the file, not on
the review package. Prepare overrides the corrected fields before it normalises the text, so a fixed
transcript or label flows into every dataset, and the dataset version rises PATCH.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from callbot.contracts import corrections_file, load_corrections, read_corrections

__all__ = ["ReviewedCalls", "apply_correction", "load_corrections", "reviewed_calls"]


def apply_correction(item: dict[str, Any], corrections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``item`` with its accepted corrections applied (the same object when it has none)."""
    fields = corrections.get(str(item.get("utterance_id")))
    return {**item, **fields} if fields else item


class ReviewedCalls:
    """A dataset adapter over the accepted handed-over calls: each becomes a two-turn call-centre
    dialogue (the caller's words, the scripted answer the reviewer chose), so the ARS task learns the
    answer the bot could not give. New utterances: the dataset version rises MINOR."""

    name = "reviewed_calls"

    def __init__(self, corrections: str | Path, domain: str) -> None:
        self.path = corrections_file(corrections)
        self.domain = domain

    def detect(self, raw_root: Path) -> bool:
        return self.path.is_file()

    def iter_records(self, raw_root: Path, params: Any) -> Iterator[dict[str, Any]]:
        for entry in read_corrections(self.path):
            if not entry.get("new") or not entry.get("transcript") or not entry.get("answer"):
                continue
            call = str(entry["utterance_id"])
            for turn, (speaker, text) in enumerate(
                (("customer", entry["transcript"]), ("agent", entry["answer"])), 1
            ):
                yield {
                    "utterance_id": f"call-{call}-{turn}",
                    "interview_id": f"call-{call}",
                    "dataset": "callcenter",
                    "role": "question" if speaker == "customer" else "answer",
                    "text_raw": text,
                    "label_path": f"{self.path.name}#task{entry.get('task_id')}",
                    "domain": self.domain,
                    "category": "reviewed call",
                    "speaker": speaker,
                    "turn": turn,
                }


def reviewed_calls(corrections: str | Path, ars_domains: list[str]) -> list[ReviewedCalls]:
    """The adapter for prepare when accepted calls exist (none otherwise)."""
    adapter = ReviewedCalls(corrections, ars_domains[0] if ars_domains else "")
    return [adapter] if ars_domains and any(True for _ in adapter.iter_records(Path(), None)) else []
