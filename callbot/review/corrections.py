"""Corrections: accepted review work, one JSON line per utterance, applied by prepare.

``<review.corrections>/corrections.jsonl`` (DVC-tracked) holds, per utterance, the fields a reviewer
accepted (``text_raw``, ``emotion``, ``intent``), who labelled and who accepted it, when, and the
Label Studio task. Prepare overrides those fields by utterance id before it normalises the text, so a
fixed transcript or label flows into every dataset, and the dataset version rises PATCH (the same
utterances changed). Nothing else changes a record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CORRECTIONS_FILE = "corrections.jsonl"
APPLIED_FIELDS = ("text_raw", "emotion", "intent")


def load_corrections(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{utterance_id: fields}`` from a corrections directory or file; empty when there is none."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path = path / CORRECTIONS_FILE
    if not path.is_file():
        return {}
    found: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            found[str(entry["utterance_id"])] = {
                k: v for k, v in entry["fields"].items() if k in APPLIED_FIELDS
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ValueError(
                f"{path}:{number}: not a correction (utterance_id and fields); restore the file from DVC "
                "(`dvc checkout`) or re-run `callbot review import`"
            ) from None
    return found


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
        self.path = Path(corrections)
        if self.path.is_dir() or not self.path.suffix:
            self.path = self.path / CORRECTIONS_FILE
        self.domain = domain

    def detect(self, raw_root: Path) -> bool:
        return self.path.is_file()

    def iter_records(self, raw_root: Path, params: Any) -> Any:
        if not self.path.is_file():
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line) if line.strip() else {}
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
