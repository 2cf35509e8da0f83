"""params.yaml `tts` and `serve`: speech synthesis and the BentoML service limits."""

from __future__ import annotations

from typing import Literal

from callbot.params_base import Section


class TTSParams(Section):
    engine: Literal["espeak", "vits"]
    sample_rate: int  # 8000 for phone lines


class ServeParams(Section):
    max_upload_bytes: int
    max_audio_seconds: float
    max_text_chars: int
