"""The call log read back: the summary (``callbot phone report``) and the review export's pick."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner


def entry(call_id: str, outcome: str, by: str | None, turns: int, first_audio: list[float]) -> dict:
    """A call as :class:`callbot.phone.session.CallSession` logs it."""
    return {
        "call_id": call_id, "entrance": "ws", "outcome": outcome, "transferred_by": by, "turns": turns,
        "answered": 1, "duration_s": 9.0,
        "transcript": [{"role": "caller", "text": f"질문 {call_id}"}, {"role": "bot", "text": "답변"}],
        "last_reply": None,
        "timings": [{"turn": i + 1, "stt_s": 0.1, "reply_s": 0.2, "first_audio_s": s} for i, s in enumerate(first_audio)],
    }  # fmt: skip


@pytest.fixture()
def log(tmp_path: Path) -> Path:
    path = tmp_path / "calls" / "phone.jsonl"
    path.parent.mkdir()
    calls = [
        entry("a", "contained", None, 1, [0.5]),
        entry("b", "transferred", "bot", 3, [0.6, 0.7, 0.8]),
        entry("c", "transferred", "keypad", 1, [0.9]),
        entry("d", "abandoned", None, 0, []),
        entry("e", "transferred", "no_input", 0, []),
    ]
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in calls), encoding="utf-8")
    return path


def test_the_summary_counts_outcomes_causes_turns_and_percentiles(log: Path) -> None:
    from callbot.phone.report import markdown, summarise_calls

    s = summarise_calls(log)
    assert s["outcomes"] == {"contained": 1, "transferred": 3, "abandoned": 1}
    assert s["transferred_by"] == {"bot": 1, "keypad": 1, "no_input": 1} and s["containment"] == 0.2
    assert (s["mean_turns"], s["max_turns"]) == (1.0, 3)
    assert s["latency_s"]["first_audio_s"] == {"p50": 0.7, "p95": 0.9, "turns": 5}
    assert "| transferred by keypad | 1 |" in markdown(s)


def test_a_bad_line_names_the_file_and_line(log: Path) -> None:
    from callbot.phone.report import CallLogError, summarise_calls

    with log.open("a", encoding="utf-8") as handle:
        handle.write('{"call_id": "f", "outcome": "lost"}\n')
    with pytest.raises(CallLogError, match=r"phone.jsonl:6: expected a call with `outcome`"):
        summarise_calls(log)


def test_the_report_command_prints_the_summary_and_refuses_a_missing_log(log: Path, tmp_path: Path) -> None:
    from callbot.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["phone", "report", "--path", str(log)])
    assert shown.exit_code == 0 and json.loads(shown.output)["calls"] == 5
    missing = runner.invoke(app, ["phone", "report", "--path", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 1 and "cannot read the call log" in missing.output


def test_the_review_export_picks_the_transferred_phone_calls(log: Path) -> None:
    from callbot.review.pick import PHONE_LOG, _read_jsonl, phone_call_items

    items = phone_call_items(_read_jsonl(log.parent / PHONE_LOG))
    assert [(i.utterance_id, i.value) for i in items] == [("b", 1.0), ("c", 0.8), ("e", 0.3)]
    assert items[0].kind == "call" and items[0].text == "질문 b" and "transferred (bot)" in items[0].reason
