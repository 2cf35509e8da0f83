"""Real Korean speech in the sample tree: the espeak-ng binding and the speech WAVs it produces.

What is checked is what the STT stage depends on: the audio is speech-like (loud enough, with
pauses, energy in the speech band, nothing aliased above the 22,050 -> 16,000 Hz filter), its
length follows the text, and the bytes are reproducible whatever else a process has spoken.
"""

from __future__ import annotations

import io
import json
import wave
import zipfile
from pathlib import Path

import numpy as np
import pytest

from callbot.sample import run_sample
from callbot.sample.archives import join_parts, part_offset
from callbot.sample.params import SampleParams
from callbot.tts import espeak

ROOT = Path("129.채용면접 인터뷰 데이터") / "01-1.정식개방데이터"
SENTENCE = "안녕하세요. 저는 영업 마케팅 직무에 지원한 지원자입니다."


def test_synthesize_speaks_korean_and_rate_changes_length() -> None:
    slow, rate = espeak.synthesize(SENTENCE, rate=120, pitch=40)
    fast, _ = espeak.synthesize(SENTENCE, rate=300, pitch=40)
    assert rate == 22050 and slow.dtype == np.int16
    assert len(slow) > 1.5 * len(fast) > 0  # about 2.5 s of speech at 120 wpm
    assert np.sqrt(np.mean(slow.astype(float) ** 2)) > 500  # not silence
    assert espeak.synthesize("   ")[0].size == 0
    with pytest.raises(ValueError, match="rate"):
        espeak.synthesize(SENTENCE, rate=20)
    with pytest.raises(espeak.EspeakError, match="no voice"):
        espeak.synthesize(SENTENCE, voice="xx-nonexistent")


def test_synthesize_fresh_ignores_what_the_process_spoke_before() -> None:
    utterances = [
        espeak.Utterance(SENTENCE, 180, 60, "ko+f1"),
        espeak.Utterance("반갑습니다", 200, 35, "ko+m2"),
    ]
    first = espeak.synthesize_fresh(utterances)
    espeak.synthesize("이 말이 합성기의 상태를 바꿉니다", rate=250, pitch=90)
    again = espeak.synthesize_fresh(utterances[::-1])[::-1]
    for (a, rate_a), (b, rate_b) in zip(first, again, strict=True):
        assert rate_a == rate_b == 22050 and a.size > 0
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="breath"):
        espeak.synthesize_fresh([espeak.Utterance(SENTENCE, 180, 60, "ko+f2")])


def test_resample_keeps_speech_and_filters_what_16k_cannot_hold() -> None:
    t = np.arange(22050) / 22050
    tones = (8000 * np.sin(2 * np.pi * 440 * t) + 8000 * np.sin(2 * np.pi * 10_000 * t)).astype(np.int16)
    out = espeak.resample(tones, 22050, 16000)
    assert out.dtype == np.int16 and len(out) == 16000
    spectrum = np.abs(np.fft.rfft(out.astype(float)))
    freqs = np.fft.rfftfreq(len(out), 1 / 16000)
    kept = spectrum[np.abs(freqs - 440) < 5].max()
    alias = spectrum[np.abs(freqs - 6000) < 5].max()  # 10 kHz would fold to 6 kHz without a filter
    assert alias < kept / 100


def _wavs_and_labels(out: Path) -> tuple[dict[str, bytes], list[dict]]:
    wavs: dict[str, bytes] = {}
    labels: list[dict] = []
    groups: dict[Path, list[Path]] = {}
    for path in (out / ROOT).rglob("*"):
        if path.is_file():
            key = path.with_name(path.name.rpartition(".part")[0]) if part_offset(path) is not None else path
            groups.setdefault(key, []).append(path)
    for archive, parts in groups.items():
        if parts == [archive]:
            blob = archive.read_bytes()
        else:
            joined = archive.with_name(archive.name + ".joined")
            join_parts(parts, joined)
            blob = joined.read_bytes()
            joined.unlink()
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            for info in zf.infolist():
                if info.filename.endswith(".wav"):
                    wavs[info.filename] = zf.read(info)
                elif info.filename.endswith(".json"):
                    labels.append(json.loads(zf.read(info).decode("utf-8-sig")))
    return wavs, labels


@pytest.mark.slow
def test_speech_tree_is_speech_like_and_reproducible(tmp_path: Path) -> None:
    params = dict(records=28, seed=11, part_size=262_144, audio="speech", clean=False)
    run_sample(SampleParams(out=str(tmp_path / "a"), workers=2, **params))
    wavs, labels = _wavs_and_labels(tmp_path / "a")
    assert len(wavs) == 56 and len(labels) == 28
    for label in labels:
        for role in ("question", "answer"):
            meta = label["rawDataInfo"][role]
            data = wavs[meta["audioPath"].removeprefix("/Mock/")]
            assert len(data) == meta["fileSize"]
            with wave.open(io.BytesIO(data)) as wav:
                assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
                x = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(float) / 32768
            assert meta["duration"] == round(len(x) / 16)
            words = label["dataSet"][role]["raw"]["wordCount"]
            assert 0.15 < len(x) / 16000 / words < 1.5  # seconds per eojeol: it reads the text
            assert np.sqrt(np.mean(x**2)) > 0.02 and np.abs(x).max() < 1.0  # audible, not clipped
            frames = x[: len(x) // 320 * 320].reshape(-1, 320)  # 20 ms
            level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
            voiced = np.mean(level > level.max() - 20)
            assert 0.3 < voiced < 0.97  # speech has pauses (0.69-0.90 measured); a tone has none
            assert level.std() > 5  # syllables rise and fall (7.6-30 dB measured); a tone is flat
            spectrum = np.abs(np.fft.rfft(x)) ** 2
            freqs = np.fft.rfftfreq(len(x), 1 / 16000)
            assert spectrum[(freqs > 80) & (freqs < 4000)].sum() > 0.8 * spectrum.sum()
    run_sample(SampleParams(out=str(tmp_path / "b"), workers=1, **params))
    for path in sorted((tmp_path / "a").rglob("*")):
        if path.is_file():
            twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
            assert twin.read_bytes() == path.read_bytes(), path.name
