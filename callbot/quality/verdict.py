"""Reading the validation gate's verdict (``gate.json``) for the trainers, without loading GE.

The trainers skip the utterances the gate set aside, and refuse data the gate failed: a failed gate
means a critical rule broke or too many rows were quarantined, so a model trained on it would be
trained on data nobody vouched for. ``allow_failed`` (``stt.allow_failed_gate`` /
``llm.allow_failed_gate`` in params.yaml, default false) is the explicit override.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["GateFailedError", "gate_exclusions"]

GATE_FILES = ("gate.json", "quarantine_gate.json")  # the second: older validate runs
_ID_KEYS = ("excluded", "quarantined", "exclude", "utterance_ids", "excluded_utterance_ids")


class GateFailedError(ValueError):
    """``gate.json`` is unreadable, or says the gate failed and no override was given."""


def gate_exclusions(prepared: Path, *, allow_failed: bool, override: str) -> set[str]:
    """Utterance ids the gate excluded (empty when validate has not run); raises
    :class:`GateFailedError` on a failed gate unless ``allow_failed``. ``override`` names the param
    that sets it, for the message."""
    for name in GATE_FILES:
        path = Path(prepared) / name
        if not path.is_file():
            continue
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise GateFailedError(f"{path}: not valid JSON ({exc}); re-run `callbot validate`") from None
        if not isinstance(data, dict):
            raise GateFailedError(f"{path}: not a gate verdict (a JSON object); re-run `callbot validate`")
        if data.get("passed") is False and not allow_failed:
            reasons = "; ".join(str(r) for r in data.get("reasons") or []) or "no reason recorded"
            raise GateFailedError(
                f"{path}: the validation gate FAILED ({reasons}); refusing to train on data it rejected. "
                f"Fix the data and re-run `callbot validate`, or set {override}: true in params.yaml to "
                "train anyway"
            )
        ids: set[str] = set()
        for key in _ID_KEYS:
            value = data.get(key)
            if isinstance(value, list):
                ids.update(
                    v if isinstance(v, str) else str(v.get("utterance_id") or "")
                    for v in value
                    if isinstance(v, str | dict)
                )
        ids.discard("")
        return ids
    return set()
