"""params.yaml `tts`: speech synthesis, packaged into the Bento as the voice bundle.

The service limits (`serve`) are typed in :mod:`callbot.serve.params`: they travel as the Bento's
arguments, not with the voice.
"""

from __future__ import annotations

from typing import Literal

from callbot.params_base import Section


class TTSParams(Section):
    engine: Literal["espeak", "vits"]  # espeak: offline default; vits: transformers VitsModel
    sample_rate: Literal[8000, 16000]  # 8000 for phone lines
    model: str  # vits: a local directory (facebook/mms-tts-kor saved with save_pretrained); espeak: ""
    uroman: bool  # vits: romanise Hangul with uroman first (mms-tts-kor was trained on romanised text)
    espeak_rate: int  # words per minute, 80..450
    espeak_pitch: int  # 0..100
    seed: int  # vits samples its durations and noise: a fixed seed says the same text the same way
