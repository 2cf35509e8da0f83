"""Prepare's readers on hostile inputs: each becomes a quarantine reason, none aborts the run or
reads a whole data chunk into memory (issue 16, item 12)."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callbot.prepare.audio import WavError, read_wav_info
from callbot.prepare.labels import LabelError, read_label


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "label_too_deep"),
        ('{"wordCount": ' + "7" * 4_301 + "}", "label_bad_number"),
        ('{"a": 1', "unparsable_json"),
    ],
)
def test_hostile_label_is_a_label_error_with_its_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "label.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LabelError) as caught:
        read_label(path)
    assert caught.value.reason == reason and str(path) in str(caught.value)
    path.write_text('{"wordCount": 12}', encoding="utf-8")
    assert read_label(path) == {"wordCount": 12}  # a good label still reads


def _wav(channels: int, data: bytes, *, fmt_size: int = 16, rate: int = 16000) -> bytes:
    fmt = struct.pack(
        "<HHIIHH", 1, channels, rate, rate * channels * 2 & 0xFFFFFFFF, channels * 2 & 0xFFFF, 16
    )
    body = (
        b"WAVE" + b"fmt " + struct.pack("<I", fmt_size) + fmt + b"data" + struct.pack("<I", len(data)) + data
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _peak_bytes(path: Path, chunk_frames: int = 65536):
    tracemalloc.start()
    try:
        result = read_wav_info(path, chunk_frames)
    except WavError as exc:
        result = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, peak


def test_65535_channels_are_read_in_bounded_blocks(tmp_path: Path) -> None:
    """24 MB of data under a 65,535-channel header: the old reader held it all in one read."""
    path = tmp_path / "wide.wav"
    frame = struct.pack("<h", 1000) * 65_535
    path.write_bytes(_wav(65_535, frame * 183))  # 24 MB
    info, peak = _peak_bytes(path)
    assert info.channels == 65_535 and info.frames == 183
    assert abs(info.rms - 1000 / 32768) < 1e-9
    assert peak < 40 << 20, f"peak {peak:,} bytes"  # one read of it all peaked at ~170 MB


def test_huge_fmt_chunk_is_skipped_not_read(tmp_path: Path) -> None:
    """A ``fmt `` chunk claiming 4 GB: the old reader read the rest of the file (24 MB) into memory."""
    path = tmp_path / "fat.wav"
    path.write_bytes(_wav(1, bytes(24 << 20), fmt_size=0xFFFFFFF0))
    error, peak = _peak_bytes(path)
    assert isinstance(error, WavError) and "no data chunk" in str(error)
    assert peak < 8 << 20, f"peak {peak:,} bytes"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    channels=st.integers(0, 0xFFFF),
    rate=st.integers(0, 0xFFFFFFFF),
    fmt_size=st.sampled_from([0, 2, 15, 16, 17, 18, 40, 0xFFFF, 0xFFFFFFFF]),
    data=st.binary(max_size=256),
    cut=st.integers(0, 400),
)
def test_any_wav_header_is_info_or_a_wav_error(
    tmp_path: Path, channels: int, rate: int, fmt_size: int, data: bytes, cut: int
) -> None:
    """Whatever the header says, the reader answers WavInfo or WavError: never another exception."""
    blob = _wav(channels, data, fmt_size=fmt_size, rate=rate)
    path = tmp_path / "h.wav"
    path.write_bytes(blob[: len(blob) - cut] if cut < len(blob) else blob)
    try:
        info = read_wav_info(path, 4096)
    except WavError:
        return
    assert info.channels >= 1 and info.sample_rate >= 1 and info.frames >= 0
