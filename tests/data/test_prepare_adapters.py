"""The adapter registry (a third dataset is one module) and the streaming WAV reader."""

from __future__ import annotations

import struct
import textwrap
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

import callbot.prepare.adapters as adapters_pkg
from callbot.prepare.adapters import DatasetAdapter, discover_adapters
from callbot.prepare.audio import WavError, read_wav_info
from callbot.prepare.run import run_prepare

TOY = '''
"""A made-up third dataset: one text file per utterance."""
from pathlib import Path

from callbot.prepare.adapters import Quality, Quarantined


class ToyAdapter:
    name = "toy"
    strata = ()
    quality = Quality()
    feeds = frozenset({"stt"})

    def detect(self, raw_root: Path) -> bool:
        return (raw_root / "toy").is_dir()

    def iter_records(self, raw_root, params):
        for path in sorted((raw_root / "toy").glob("*.txt")):
            text = path.read_text(encoding="utf-8").strip()
            if not text:
                yield Quarantined(f"toy/{path.name}", path.stem, "empty_text", "empty")
                continue
            yield {"utterance_id": path.stem, "interview_id": path.stem, "dataset": "toy", "role": "question",
                   "text_raw": text, "label_path": f"toy/{path.name}"}


ADAPTER = ToyAdapter()
'''


def test_a_third_dataset_is_one_module(tmp_path: Path, params, monkeypatch) -> None:
    extra = tmp_path / "more_adapters"
    extra.mkdir()
    (extra / "toy.py").write_text(textwrap.dedent(TOY), encoding="utf-8")
    monkeypatch.setattr(adapters_pkg, "__path__", [*adapters_pkg.__path__, str(extra)])
    found = discover_adapters()
    assert [a.name for a in found] == ["callcenter", "interview", "phone", "toy"]
    assert all(isinstance(a, DatasetAdapter) for a in found)

    raw = tmp_path / "raw"
    (raw / "toy").mkdir(parents=True)
    (raw / "toy" / "a.txt").write_text("1339로 전화하세요", encoding="utf-8")
    (raw / "toy" / "b.txt").write_text("", encoding="utf-8")
    report = run_prepare(raw, tmp_path / "out", params.prepare)
    rows = pq.read_table(tmp_path / "out" / "records.parquet").to_pylist()
    assert [(r["dataset"], r["text"]) for r in rows] == [("toy", "일삼삼구로 전화하세요")]
    assert (report.inputs, report.records, report.quarantined) == (2, 1, 1)


def test_builtin_adapters_are_discovered() -> None:
    assert [a.name for a in discover_adapters()] == ["callcenter", "interview", "phone"]


def test_wav_stats_streamed_in_chunks(tmp_path: Path) -> None:
    rate = 16000
    signal = (0.5 * np.sin(2 * np.pi * 100 * np.arange(rate) / rate) * 32767).astype(np.int16)
    signal[:40] = 32767  # clipped
    stereo = np.stack([signal, signal // 2], axis=1)
    path = tmp_path / "s.wav"
    sf.write(path, stereo, rate, subtype="PCM_16")
    whole = read_wav_info(path, chunk_frames=1 << 20)
    chunked = read_wav_info(path, chunk_frames=333)  # chunking must not change the result
    assert whole == chunked
    assert (whole.sample_rate, whole.channels, whole.bits, whole.frames) == (rate, 2, 16, rate)
    assert whole.duration_ms == pytest.approx(1000.0)
    samples = stereo.astype(np.float64) / 32768
    assert whole.rms == pytest.approx(float(np.sqrt(np.mean(samples**2))), rel=1e-9)
    assert whole.peak == pytest.approx(32767 / 32768)
    assert whole.clipped_ratio == pytest.approx(40 / stereo.size)


def test_truncated_wav_reports_the_audio_that_is_there(tmp_path: Path) -> None:
    path = tmp_path / "t.wav"
    sf.write(path, np.zeros(16000, dtype=np.int16), 16000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 16000])  # header still claims one second
    assert read_wav_info(path, 4096).duration_ms == pytest.approx(500.0)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"not a wav at all", "not a RIFF/WAVE"),
        (b"RIFF\x00\x00\x00\x00WAVE", "data chunk before fmt"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt " + struct.pack("<IHHIIHH", 16, 3, 1, 16000, 64000, 4, 32), "not PCM"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 48000, 3, 24), "24-bit"),
    ],
)
def test_bad_wavs_name_the_problem(tmp_path: Path, payload: bytes, match: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(payload + b"data\x00\x00\x00\x00")
    with pytest.raises(WavError, match=match):
        read_wav_info(path, 1024)
