"""The phone call log summarised: outcomes, hand-overs, turns and per-turn latency percentiles.

One function reads the opt-in JSONL call log (``phone.call_log``) that both entrances append to;
``callbot phone report`` prints it and ``benchmarks/phone_calls.py`` reports a scripted batch with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

OUTCOMES = ("contained", "transferred", "abandoned")
TRANSFERRED_BY = ("bot", "keypad", "no_input")
STAGES = ("stt_s", "reply_s", "first_audio_s")  # seconds after the end of the utterance was detected


class CallLogError(ValueError):
    """The call log cannot be read; the message names the file and the line."""


def read_calls(path: str | Path) -> list[dict[str, Any]]:
    """Every call of the JSONL log, checked to be an object with an ``outcome``."""
    source = Path(path)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CallLogError(f"{source}: cannot read the call log ({exc}); set phone.call_log") from exc
    calls = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise CallLogError(f"{source}:{number}: not JSON; each line must be one call") from None
        if not isinstance(entry, dict) or entry.get("outcome") not in OUTCOMES:
            raise CallLogError(f"{source}:{number}: expected a call with `outcome` in {OUTCOMES}")
        calls.append(entry)
    return calls


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0..1) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3)


def summarise_entries(calls: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts of outcomes and hand-over causes, turns per call, and each latency stage's p50 / p95."""
    calls = list(calls)
    outcomes = {o: sum(c["outcome"] == o for c in calls) for o in OUTCOMES}
    by = {
        b: sum(c["outcome"] == "transferred" and c.get("transferred_by") == b for c in calls)
        for b in TRANSFERRED_BY
    }
    turns = [int(c.get("turns") or 0) for c in calls]
    timings = [t for c in calls for t in c.get("timings") or [] if isinstance(t, dict)]
    latency = {}
    for stage in STAGES:
        values = [float(t[stage]) for t in timings if isinstance(t.get(stage), int | float)]
        latency[stage] = {
            "p50": percentile(values, 0.5),
            "p95": percentile(values, 0.95),
            "turns": len(values),
        }
    return {
        "calls": len(calls),
        "outcomes": outcomes,
        "transferred_by": by,
        "containment": round(outcomes["contained"] / len(calls), 4) if calls else None,
        "mean_turns": round(sum(turns) / len(turns), 3) if turns else None,
        "max_turns": max(turns, default=0),
        "latency_s": latency,
    }


def summarise_calls(path: str | Path) -> dict[str, Any]:
    """The call log at ``path`` summarised (see :func:`summarise_entries`)."""
    return summarise_entries(read_calls(path))


def markdown(summary: dict[str, Any]) -> str:
    """The summary as a short Markdown table (the Prefect artifact's body)."""
    o, by, lat = summary["outcomes"], summary["transferred_by"], summary["latency_s"]
    rows = [
        "| figure | value |",
        "|---|---|",
        f"| calls | {summary['calls']} |",
        *(f"| {name} | {o[name]} |" for name in OUTCOMES),
        *(f"| transferred by {name} | {by[name]} |" for name in TRANSFERRED_BY),
        f"| turns per call (mean / max) | {summary['mean_turns']} / {summary['max_turns']} |",
        *(f"| {stage} p50 / p95 | {lat[stage]['p50']} / {lat[stage]['p95']} |" for stage in STAGES),
    ]
    return "\n".join(rows) + "\n"


def publish_artifact(summary: dict[str, Any], key: str = "phone-calls") -> None:
    """The summary as a Prefect markdown artifact (shown in the Prefect UI beside the flow runs)."""
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(markdown(summary), key=key, description="Phone line: call outcomes and latency")
