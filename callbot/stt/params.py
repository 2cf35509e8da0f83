"""params.yaml `stt`: Whisper fine-tuning and evaluation."""

from __future__ import annotations

from callbot.params_base import Section


class STTParams(Section):
    base_model: str  # a local directory, "build:tiny" (smoke), or a hub id (full only)
    out: str
    report: str
    seed: int
