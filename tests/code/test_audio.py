"""The one resampler: every path that brings audio to 16 kHz goes through callbot.audio."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from callbot.audio import STT_RATE, to_stt_rate


def test_to_stt_rate_keeps_a_tone_and_its_duration() -> None:
    t = np.arange(8000) / 8000
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    out = to_stt_rate(tone, 8000)
    assert out.dtype == np.float32 and out.size == STT_RATE
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * STT_RATE / out.size - 440) < 2
    same = to_stt_rate(tone, STT_RATE)
    assert np.array_equal(same, tone)


# the modules that bring a clip to the recogniser's rate (the TTS and the phone channel resample to
# their own rates, 22.05/8 kHz, in callbot/tts)
TO_STT = ("callbot/bot/evaluate.py", "callbot/serve/limits.py", "callbot/stt/data.py")


def test_nothing_else_resamples_or_declares_the_rate(repo: Path) -> None:
    """STT_RATE is declared in callbot/audio.py only, and the readers feeding the STT call it."""
    found = []
    for path in sorted((repo / "callbot").rglob("*.py")):
        if path.name == "audio.py" and path.parent.name == "callbot":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            imports = isinstance(node, ast.ImportFrom) and any(a.name == "resample_poly" for a in node.names)
            if imports and path.relative_to(repo).as_posix() in TO_STT:
                found.append(f"{path.relative_to(repo)}: imports resample_poly")
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "STT_RATE" for t in node.targets):
                found.append(f"{path.relative_to(repo)}: declares STT_RATE")
    assert found == [], "use callbot.audio.to_stt_rate / STT_RATE"
