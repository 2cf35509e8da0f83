"""TTS: both engines speak the call centre's numbers, at the line's rate, as a playable WAV."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callbot.tts.bundle import BundleError, read_bundle, write_bundle
from callbot.tts.engine import EspeakSynthesizer, TTSError, load_synthesizer, speech_text


def test_speech_text_reads_hotlines_digit_by_digit_and_amounts_as_words() -> None:
    spoken = speech_text("1339로 전화하세요. 접종비는 15000원입니다.")
    assert "일삼삼구" in spoken
    assert "만 오천" in spoken
    assert not any(c.isdigit() for c in spoken)


@pytest.mark.parametrize("rate", [16000, 8000])
def test_espeak_speaks_korean_at_the_line_rate(params, rate: int) -> None:
    tts = params.tts.model_copy(update={"sample_rate": rate})
    speech = load_synthesizer(tts).synthesize("질병관리청 1339 콜센터입니다")
    assert speech.sample_rate == rate
    assert "일삼삼구" in speech.spoken
    assert 1.0 < speech.duration_s < 10.0
    audio, read_rate = sf.read(io.BytesIO(speech.to_wav()), dtype="int16")
    assert read_rate == rate and audio.ndim == 1
    assert np.sqrt(np.mean(audio.astype(np.float64) ** 2)) > 100  # speech, not silence


def test_espeak_out_of_range_setting_names_the_key(params) -> None:
    with pytest.raises(TTSError, match=r"tts.espeak_rate"):
        EspeakSynthesizer(params.tts.model_copy(update={"espeak_rate": 5}))


@pytest.fixture(scope="module")
def tiny_vits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from callbot.tts.model import build_tiny_vits

    torch.set_num_threads(1)
    return build_tiny_vits(tmp_path_factory.mktemp("vits") / "mms-tts-kor-tiny")


@pytest.mark.slow
def test_vits_romanises_hangul_and_resamples_to_phone_rate(params, tiny_vits: Path) -> None:
    tts = params.tts.model_copy(update={"engine": "vits", "model": str(tiny_vits), "sample_rate": 8000})
    synth = load_synthesizer(tts)
    assert synth.engine == "vits"
    assert synth.romanize("일삼삼구") == "ilsamsamgu"
    first = synth.synthesize("1339로 전화하세요")
    again = synth.synthesize("1339로 전화하세요")
    assert first.sample_rate == 8000 and first.samples.size > 0
    assert first.spoken.startswith("일삼삼구")
    np.testing.assert_array_equal(first.samples, again.samples)  # the seed holds
    longer = synth.synthesize("1339로 전화하세요. 상담원이 곧 연결됩니다. 잠시만 기다려 주세요.")
    assert longer.samples.size > first.samples.size  # more text, more speech


def test_vits_without_a_model_says_what_to_do(params, tmp_path: Path) -> None:
    tts = params.tts.model_copy(update={"engine": "vits", "model": str(tmp_path / "missing")})
    with pytest.raises(TTSError, match=r"config.json missing.*save_pretrained"):
        load_synthesizer(tts)


def test_bundle_round_trip_and_vits_copy(params, tmp_path: Path) -> None:
    (tmp_path / "espeak").mkdir()
    write_bundle(tmp_path / "espeak", params.tts)
    bundle = read_bundle(tmp_path / "espeak")
    assert bundle.tts == params.tts and bundle.model_dir is None
    assert [p.name for p in (tmp_path / "espeak").iterdir()] == ["tts.json"]  # the voice only: no limits
    voice = tmp_path / "voice"  # the bundle copies a VITS directory as it is; loading it is tested above
    voice.mkdir()
    (voice / "config.json").write_text("{}", encoding="utf-8")
    (voice / "vocab.json").write_text("{}", encoding="utf-8")
    vits = params.tts.model_copy(update={"engine": "vits", "model": str(voice)})
    (tmp_path / "vits").mkdir()
    write_bundle(tmp_path / "vits", vits)
    copied = read_bundle(tmp_path / "vits").model_dir
    assert copied is not None and (copied / "config.json").is_file() and (copied / "vocab.json").is_file()


def test_bundle_errors_name_the_directory(params, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=str(tmp_path)):
        read_bundle(tmp_path)
    vits = params.tts.model_copy(update={"engine": "vits", "model": str(tmp_path / "nowhere")})
    with pytest.raises(BundleError, match="nowhere"):
        write_bundle(tmp_path, vits)


@pytest.mark.slow
def test_packaged_vits_bundle_speaks_from_its_own_copy(params, tiny_vits: Path, tmp_path: Path) -> None:
    """The Bento's voice is the bundle's copy: the original directory may be gone when it serves."""
    source = tmp_path / "source"
    shutil.copytree(tiny_vits, source)
    vits = params.tts.model_copy(update={"engine": "vits", "model": str(source)})
    (tmp_path / "bundle").mkdir()
    write_bundle(tmp_path / "bundle", vits)
    shutil.rmtree(source)
    bundle = read_bundle(tmp_path / "bundle")
    speech = load_synthesizer(bundle.tts, bundle.model_dir).synthesize("상담원을 연결합니다")
    assert speech.samples.size > 0 and speech.sample_rate == params.tts.sample_rate
