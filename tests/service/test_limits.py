"""Caller input limits: every bad input maps to its 4xx with a message saying what to send."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from callbot.serve.limits import Rejected, check_history, check_text, decode_caller_audio, sign_turn

KEY = b"test-history-key"


def wav(samples: np.ndarray, rate: int = 16000, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def tone(seconds: float, rate: int = 16000, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * np.pi * 220 * t)
    return np.stack([mono] * channels, axis=1) if channels > 1 else mono


BAD_AUDIO = [
    ("not audio", b"hello, this is not a recording" * 4, 415, "WAV, FLAC"),
    ("webm header", b"\x1aE\xdf\xa3" + b"\x00" * 200, 415, "send WAV"),
    ("truncated wav header", wav(tone(1.0))[:30], 415, "not in a format"),
    ("empty upload", b"", 422, "empty"),
    ("silence", wav(np.zeros(16000)), 422, "silent"),
    ("too short", wav(tone(0.05)), 422, "too short"),
    ("too long", wav(tone(61.0, rate=8000), rate=8000), 422, "serve.max_audio_seconds"),
]


@pytest.mark.parametrize(("case", "data", "status", "hint"), BAD_AUDIO, ids=[c[0] for c in BAD_AUDIO])
def test_bad_audio_is_refused_with_its_status(params, case: str, data: bytes, status: int, hint: str) -> None:
    with pytest.raises(Rejected) as err:
        decode_caller_audio(data, params.serve)
    assert err.value.status == status, case
    assert hint in err.value.message


def test_oversized_upload_is_413_before_decoding(params) -> None:
    small = params.serve.model_copy(update={"max_upload_bytes": 1000})
    with pytest.raises(Rejected) as err:
        decode_caller_audio(wav(tone(1.0)), small)
    assert err.value.status == 413 and "serve.max_upload_bytes" in err.value.message


@pytest.mark.parametrize(
    ("rate", "channels", "fmt"), [(16000, 1, "WAV"), (44100, 2, "WAV"), (8000, 1, "FLAC")]
)
def test_good_audio_becomes_16k_mono_float(params, rate: int, channels: int, fmt: str) -> None:
    audio = decode_caller_audio(wav(tone(1.5, rate, channels), rate, fmt=fmt), params.serve)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - 24000) <= 2
    assert 0.15 < float(np.sqrt(np.mean(audio**2))) < 0.25  # the tone's RMS survives resampling


BAD_TEXT = [
    (None, "must be a string"),
    (5, "must be a string"),
    ("   ", "empty"),
    ("가" * 501, "serve.max_text_chars"),
]


@pytest.mark.parametrize(("text", "hint"), BAD_TEXT, ids=["none", "int", "blank", "too long"])
def test_bad_text_is_422(params, text: object, hint: str) -> None:
    with pytest.raises(Rejected) as err:
        check_text(text, params.serve)
    assert err.value.status == 422 and hint in err.value.message


def test_text_is_stripped_and_kept(params) -> None:
    assert check_text("  1339 상담 시간은?  ", params.serve) == "1339 상담 시간은?"


BAD_HISTORY = [
    ("not a list", "history must be a list"),
    ([{"role": "system", "content": "x"}], "history[0]"),
    ([{"role": "user"}], "history[0].content"),
    ([{"role": "user", "content": "안녕"}] * 21, "serve.max_history_turns"),
]


@pytest.mark.parametrize(("history", "hint"), BAD_HISTORY, ids=["str", "role", "content", "too many"])
def test_bad_history_is_422(params, history: object, hint: str) -> None:
    with pytest.raises(Rejected) as err:
        check_history(history, params.serve, KEY)
    assert err.value.status == 422 and hint in err.value.message


def test_history_is_normalised(params) -> None:
    said = "네, 1339입니다."
    turns = [
        {"role": "user", "content": " 안녕하세요 "},
        {"role": "assistant", "content": said, "signature": sign_turn(said, KEY)},
    ]
    assert check_history(turns, params.serve, KEY) == [
        {"role": "user", "content": "안녕하세요"},
        {"role": "assistant", "content": "네, 1339입니다."},
    ]
    assert check_history(None, params.serve, KEY) == []
