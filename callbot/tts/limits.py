"""What the voice bot accepts from a caller, and the 4xx it answers with otherwise.

Why here and not in the service: the checks are plain functions over bytes and strings, so they are
tested without a server, and the service only maps :class:`Rejected` to its HTTP status. Nothing a
caller sends may reach a model unchecked: a wrong format, an oversized or silent upload, an
overlong text all get a 4xx with a sentence saying what to send instead, never a 500.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from callbot.tts.params import ServeParams

STT_RATE = 16000  # what Whisper listens at
FORMATS = "WAV, FLAC, OGG/Vorbis or MP3"


class Rejected(ValueError):
    """A request the bot will not process; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_upload_size(size: int, params: ServeParams, what: str = "audio") -> None:
    if size > params.max_upload_bytes:
        raise Rejected(
            413,
            f"{what} is {size} bytes, over the {params.max_upload_bytes}-byte limit "
            f"(serve.max_upload_bytes); send a shorter clip",
        )


def decode_caller_audio(data: bytes, params: ServeParams, what: str = "audio") -> np.ndarray:
    """Bytes of an uploaded recording -> float32 mono at 16 kHz, or :class:`Rejected`.

    The format is told from the content, never from a file name (BentoML drops the suffix of a
    file passed between services). Stereo is averaged; other rates are resampled.
    """
    import soundfile as sf

    check_upload_size(len(data), params, what)
    if not data:
        raise Rejected(422, f"{what} is empty; record or upload some speech ({FORMATS})")
    try:
        with sf.SoundFile(io.BytesIO(data)) as sound:
            rate = sound.samplerate
            frames = sound.frames
            if frames > 0 and frames / rate > params.max_audio_seconds:
                raise Rejected(
                    422,
                    f"{what} lasts {frames / rate:.1f} s, over the {params.max_audio_seconds:g} s limit "
                    f"(serve.max_audio_seconds); send a shorter clip",
                )
            samples = sound.read(dtype="float32", always_2d=True)
    except Rejected:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError):
        raise Rejected(
            415, f"{what} is not in a format this service reads (told by its content); send {FORMATS}"
        ) from None
    return check_caller_audio(samples.mean(axis=1), rate, params, what)


def check_caller_audio(
    samples: np.ndarray, rate: int, params: ServeParams, what: str = "audio"
) -> np.ndarray:
    """Duration, emptiness and silence checks on decoded mono audio; returns it at 16 kHz."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if rate <= 0:
        raise Rejected(415, f"{what} declares a sample rate of {rate} Hz; send {FORMATS}")
    seconds = samples.size / rate
    if seconds > params.max_audio_seconds:
        raise Rejected(
            422,
            f"{what} lasts {seconds:.1f} s, over the {params.max_audio_seconds:g} s limit "
            f"(serve.max_audio_seconds); send a shorter clip",
        )
    if seconds < params.min_audio_seconds:
        raise Rejected(
            422,
            f"{what} lasts {seconds:.2f} s, too short to hold speech (serve.min_audio_seconds = "
            f"{params.min_audio_seconds:g} s); record again",
        )
    if not np.all(np.isfinite(samples)):
        raise Rejected(422, f"{what} holds NaN or infinite samples; send PCM audio")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms < params.silence_rms:
        raise Rejected(
            422,
            f"{what} is silent (RMS {rms:.5f} under serve.silence_rms = {params.silence_rms:g}); "
            "check the microphone and record again",
        )
    if rate != STT_RATE:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(rate, STT_RATE)
        samples = resample_poly(samples, STT_RATE // g, rate // g).astype(np.float32)
    return samples


def check_text(text: Any, params: ServeParams, what: str = "text") -> str:
    """A caller's or the bot's text: a non-blank string within ``serve.max_text_chars``."""
    if not isinstance(text, str):
        raise Rejected(422, f"{what} must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise Rejected(422, f"{what} is empty; send the sentence to answer or speak")
    if len(stripped) > params.max_text_chars:
        raise Rejected(
            422,
            f"{what} has {len(stripped)} characters, over the {params.max_text_chars}-character limit "
            "(serve.max_text_chars); send one question at a time",
        )
    return stripped


def check_history(history: Any, params: ServeParams) -> list[dict[str, str]]:
    """Earlier turns of the call: ``[{"role": "user"|"assistant", "content": str}, ...]``."""
    if history is None:
        return []
    if not isinstance(history, list):
        raise Rejected(422, f"history must be a list of turns, got {type(history).__name__}")
    if len(history) > params.max_history_turns:
        raise Rejected(
            422,
            f"history has {len(history)} turns, over serve.max_history_turns = {params.max_history_turns}; "
            "send only the latest turns",
        )
    turns: list[dict[str, str]] = []
    for i, turn in enumerate(history):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            raise Rejected(422, f"history[{i}] must be {{'role': 'user'|'assistant', 'content': str}}")
        content = check_text(turn.get("content"), params, f"history[{i}].content")
        turns.append({"role": turn["role"], "content": content})
    return turns
