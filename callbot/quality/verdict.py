"""Reading the validation gate's verdict (``gate.json``) for the trainers, without loading GE.

The trainers skip the utterances the gate set aside, and refuse data the gate failed: a failed gate
means a critical rule broke or too many rows were quarantined, so a model trained on it would be
trained on data nobody vouched for. ``allow_failed`` (``stt.allow_failed_gate`` /
``llm.allow_failed_gate`` in params.yaml, default false) is the explicit override.
"""

from __future__ import annotations

from pathlib import Path

from callbot.contracts import read_gate

__all__ = ["GATE_FILE", "GateFailedError", "gate_exclusions"]

GATE_FILE = "gate.json"  # the verdict and the excluded utterances, beside the prepared datasets


class GateFailedError(ValueError):
    """``gate.json`` says the gate failed and no override was given."""


def gate_exclusions(prepared: Path, *, allow_failed: bool, override: str) -> set[str]:
    """Utterance ids the gate excluded (empty when validate has not run); raises
    :class:`GateFailedError` on a failed gate unless ``allow_failed``, and
    :class:`~callbot.contracts.ContractError` on a ``gate.json`` in an old or unknown shape.
    ``override`` names the param that sets ``allow_failed``, for the message."""
    path = Path(prepared) / GATE_FILE
    if not path.is_file():
        return set()
    gate = read_gate(path)
    if not gate.passed and not allow_failed:
        reasons = "; ".join(gate.reasons) or "no reason recorded"
        raise GateFailedError(
            f"{path}: the validation gate FAILED ({reasons}); refusing to train on data it rejected. "
            f"Fix the data and re-run `callbot validate`, or set {override}: true in params.yaml to "
            "train anyway"
        )
    return gate.excluded_ids()
