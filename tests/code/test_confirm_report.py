"""evaluate-bot's ``confirm_reply`` block names every clip either way of hearing the confirm reply took
as a false yes (the clip's text, voice, channel and what was heard), so a reader sees why the way
that decides won. Built with the real calibration (``calibrate_heard``) and block (``confirm_figures``)
on hand-built turns and clips: no model is needed for the report's bookkeeping (tests/model/
test_confirm_grammar.py checks that a real model's heard clips carry these labels)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from callbot.bot.evaluate import FALSE_YES_KEPT, CallItem, Turn, calibrate_heard, confirm_figures

VOICES = ("m1-r160-p65", "f1-r150-p40")
CHANNELS = (16000, 8000)
MARGINS = (0.0, 0.1, 0.2)


def clip(yes: float, no: float, text: str, voice: str, channel: int, heard: str, parsed: bool | None) -> dict:
    """A clip heard as a confirm reply, as ``hear_reply`` returns its scores."""
    return {
        "yes": {"phrase": "네", "deficit": yes}, "no": {"phrase": "아니요", "deficit": no}, "frames": 10,
        "text": text, "voice": voice, "channel": channel, "heard": heard, "parsed": parsed,
    }  # fmt: skip


def turns(split: str, no_parsed_as_yes: tuple[str, int] | None = None) -> list[Turn]:
    """One question per voice and channel; the words miss the yes of the first voice's 8 kHz line (the
    closed set hears it) and, where asked, parse one voice and channel's no as yes."""
    out = []
    for i, voice in enumerate(VOICES):
        item = CallItem(f"{split}{i}", split, Path("x.wav"), "접종 예약", "접종 예약 하고 싶어요", "예약",
                        "답", voice, seen_voice=False, seen_wording=False)  # fmt: skip
        for channel in CHANNELS:
            yes_heard, yes = ("내", None) if (voice, channel) == (VOICES[0], 8000) else ("네", True)
            no_heard, no = ("네", True) if (voice, channel) == no_parsed_as_yes else ("아니요", False)
            own = clip(3.0, 3.1, item.question, voice, channel, item.question, None)
            out.append(Turn(
                item, channel, item.question, 0.1, None, yes, no, yes, no,
                clip(0.0 if yes else 0.1, 2.0, "네", voice, channel, yes_heard, yes),
                clip(2.0, 0.0, "아니요", voice, channel, no_heard, no), own if split == "validation" else None,
            ))  # fmt: skip
    return out


def negatives() -> list[dict[str, Any]]:
    """Validation's not-answer clips: the free words take one "제" as 네 (the README's run had one)."""
    return [
        clip(0.5, 2.0, "제", VOICES[0], 8000, "네", True),
        clip(1.2, 1.5, "글쎄요", VOICES[1], 16000, "글세요", None),
        clip(math.inf, math.inf, "(silence)", "", 16000, "", None),
    ]


def test_the_block_names_the_not_answer_the_words_took_as_yes() -> None:
    val, _, grammar, closed = calibrate_heard(turns("validation"), turns("test"), negatives(), MARGINS)
    block = confirm_figures(val, grammar, negatives(), closed, "아니요")
    assert block["decided_by"] == "closed set" and block["negatives"] == 3 + len(val)
    assert block["false_yes"]["words"] == {
        "count": 1,
        "clips": [{"text": "제", "voice": VOICES[0], "channel": 8000, "heard": "네",
                   "yes": {"phrase": "네", "deficit": 0.5}, "no": {"phrase": "아니요", "deficit": 2.0}}],
    }  # fmt: skip
    calibrated = block["false_yes"]["closed_set"]
    assert calibrated["count"] == 0 and calibrated["clips"] == []  # calibrated with no false yes on them
    assert (calibrated["grammar"], calibrated["grammar_margin"]) == (
        block["grammar"],
        block["grammar_margin"],
    )
    json.dumps(block, allow_nan=False)  # metrics.json stays strict JSON (silence's deficits are infinite)


def test_a_no_heard_as_yes_on_test_is_named_with_what_was_heard() -> None:
    _, test, grammar, closed = calibrate_heard(
        turns("validation"), turns("test", (VOICES[1], 8000)), negatives(), MARGINS
    )
    block = confirm_figures(test, grammar, [], closed, "아니요")
    assert block["negatives"] == 0 and block["no_heard_as_yes_text"] == 1 and block["no_heard_as_yes"] == 0
    (named,) = block["false_yes"]["words"]["clips"]
    assert {k: named[k] for k in ("text", "voice", "channel", "heard")} == {
        "text": "아니요", "voice": VOICES[1], "channel": 8000, "heard": "네",
    }  # fmt: skip
    assert block["false_yes"]["closed_set"]["count"] == 0


def test_at_most_a_handful_are_named_beside_the_count() -> None:
    many = [clip(0.4, 2.0, f"제{i}", VOICES[0], 8000, "네", True) for i in range(FALSE_YES_KEPT + 2)]
    val, _, grammar, closed = calibrate_heard(turns("validation"), [], many, MARGINS)
    words = confirm_figures(val, grammar, many, closed, "아니요")["false_yes"]["words"]
    assert words["count"] == FALSE_YES_KEPT + 2
    assert [c["text"] for c in words["clips"]] == [f"제{i}" for i in range(FALSE_YES_KEPT)]


def test_whisper_has_no_closed_set_and_its_words_false_yes_is_still_named() -> None:
    """Whisper gives no closed-set scores: the words decide, and a no they take as yes is named
    (what was heard is not kept without the scores)."""
    bare = [
        Turn(t.item, t.channel, t.transcript, 0.1, None, t.heard_yes, t.heard_no, t.text_yes, t.text_no)
        for t in turns("validation", (VOICES[1], 16000))
    ]
    val, _, grammar, closed = calibrate_heard(bare, [], [], MARGINS)
    block = confirm_figures(val, grammar, [], closed, "아니요")
    assert block["decided_by"] == "words" and block["false_yes"]["closed_set"] is None
    assert block["false_yes"]["words"] == {
        "count": 1, "clips": [{"text": "아니요", "voice": VOICES[1], "channel": 16000, "heard": None}],
    }  # fmt: skip
