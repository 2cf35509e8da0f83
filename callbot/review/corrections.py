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
