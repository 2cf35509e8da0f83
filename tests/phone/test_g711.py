"""The wire codec: exact G.711 mu-law (a carrier's bytes must decode bit for bit)."""

from __future__ import annotations

import numpy as np

from callbot.phone.audio import FRAME_SAMPLES, frames, pcm_to_ulaw, ulaw_to_pcm


def test_mulaw_reference_points() -> None:
    """Values from the ITU-T G.711 tables: 0xFF is silence, 0x80 / 0x00 the loudest codes."""
    assert pcm_to_ulaw(np.array([0, 32767, -32768], dtype=np.int16)) == bytes([0xFF, 0x80, 0x00])
    assert ulaw_to_pcm(bytes([0xFF, 0x7F, 0x80, 0x00])).tolist() == [0, 0, 32124, -32124]


def test_mulaw_round_trip_is_within_one_step_of_the_segment() -> None:
    x = np.arange(-32768, 32768, 7, dtype=np.int32).astype(np.int16)
    back = ulaw_to_pcm(pcm_to_ulaw(x)).astype(np.int32)
    error = np.abs(back - x.astype(np.int32))
    assert (error <= np.maximum(16, np.abs(x.astype(np.int32)) // 16)).all()  # 4-bit mantissa per segment
    assert (ulaw_to_pcm(pcm_to_ulaw(ulaw_to_pcm(bytes(range(256))))) == ulaw_to_pcm(bytes(range(256)))).all()


def test_frames_are_20_ms_and_pad_the_tail() -> None:
    parts = frames(np.ones(FRAME_SAMPLES * 2 + 1, dtype=np.int16))
    assert [p.size for p in parts] == [FRAME_SAMPLES] * 3 and parts[2][1:].sum() == 0
