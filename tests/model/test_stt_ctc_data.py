"""The CTC recipe's data paths on real espeak-ng audio: long clips cut at pauses into pieces that keep
their text (instead of being skipped), and vocal-tract-length perturbation moving formants in Hz."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

PHRASES = ["오늘 병원 예약을 하고 싶어요", "내일 보건소에 전화 주세요", "서류가 필요한지 확인 부탁드려요"]


def _speak(text: str) -> np.ndarray:
    from callbot.tts.channel import to_rate
    from callbot.tts.espeak import synthesize

    samples, sr = synthesize(text, rate=170, pitch=40, voice="ko")
    return to_rate(samples, sr, 16_000).astype(np.float32)


@pytest.fixture(scope="module")
def long_answer(tmp_path_factory) -> tuple[Path, float]:
    """Three spoken phrases with 0.6 s pauses between them, as one WAV: a long interview answer."""
    import soundfile as sf

    gap = np.zeros(int(0.6 * 16_000), np.float32)
    parts = [_speak(p) for p in PHRASES]
    audio = np.concatenate([parts[0], gap, parts[1], gap, parts[2]])
    path = tmp_path_factory.mktemp("long") / "answer.wav"
    sf.write(path, audio, 16_000, subtype="PCM_16")
    return path, len(audio) / 16_000


def _utterance(path: Path, duration: float):
    from callbot.stt.data import Utterance

    return Utterance(
        utterance_id="answer",
        audio_path=str(path),
        audio_bytes=None,
        text=" ".join(PHRASES),
        text_raw=", ".join(PHRASES) + ".",  # the label's commas are where the speaker pauses
        duration_s=duration,
        slices={},
        meta={"dataset": "interview"},
    )


def _settings(params, duration: float, how: str):
    """STT params whose max_clip_s sits below the clip but above each phrase."""
    ctc = params.stt.ctc.model_copy(
        update={"max_clip_s": duration * 0.6, "long_clips": how, "line_share": 0.0}
    )
    return params.stt.model_copy(update={"ctc": ctc})


def test_a_long_clip_is_cut_into_pieces_that_keep_its_text(params, long_answer) -> None:
    from callbot.stt.ctc_train import cut_rules, load_training_set
    from callbot.stt.jamo import build_alphabet, compose

    path, duration = long_answer
    utt = _utterance(path, duration)
    alphabet = build_alphabet([utt.text])
    stt = _settings(params, duration, "cut")
    data = load_training_set([utt], alphabet, stt.ctc, 0, 1, cut_rules(stt))
    assert data.counts["cut"] == 1 and data.counts["too_long"] == 0
    assert len(data.examples) >= 2, data.counts
    assert all(len(e.features) <= stt.ctc.max_clip_s * 100 + 1 for e in data.examples)
    # the pieces, in order, spell the whole answer: no word lost or given to the wrong piece
    spelt = " ".join(compose(alphabet.symbol(t) for t in e.labels) for e in data.examples)
    assert spelt.split() == utt.text.split()


def test_without_cutting_a_long_clip_is_skipped_and_counted(params, long_answer) -> None:
    from callbot.stt.ctc_train import cut_rules, load_training_set
    from callbot.stt.jamo import build_alphabet

    path, duration = long_answer
    utt = _utterance(path, duration)
    stt = _settings(params, duration, "skip")
    assert cut_rules(stt) is None
    data = load_training_set([utt], build_alphabet([utt.text]), stt.ctc, 0, 1, cut_rules(stt))
    assert data.examples == [] and data.counts["too_long"] == 1


def _centroid(feats: np.ndarray, bins: slice) -> float:
    """Energy-weighted mean mel bin of the speech frames within ``bins``."""
    band = np.exp(feats[:, bins] * 4 * np.log(10))  # Whisper's scaling back to power
    loud = band.sum(1) > np.percentile(band.sum(1), 50)
    weights = band[loud].sum(0)
    return float((weights * np.arange(bins.start, bins.stop)).sum() / weights.sum())


def test_vtlp_moves_formants_up_or_down_and_keeps_the_band_edges(params) -> None:
    from callbot.stt.ctc_model import log_mel
    from callbot.stt.ctc_train import _interpolate, perturb, vtlp_positions

    feats = log_mel(_speak(PHRASES[0]), 80)
    assert np.allclose(vtlp_positions(80, 1.0), np.arange(80))
    assert vtlp_positions(80, 1.1)[-1] == pytest.approx(79, abs=0.5)  # the top band stays put
    formants = slice(5, 60)  # about 200 Hz to 4 kHz
    up = _centroid(_interpolate(feats, vtlp_positions(80, 1.12), axis=1), formants)
    down = _centroid(_interpolate(feats, vtlp_positions(80, 0.88), axis=1), formants)
    assert down + 1.0 < _centroid(feats, formants) < up - 1.0
    # off ([1, 1]) it draws nothing: the same generator state gives the same features as before
    off = params.stt.ctc.model_copy(update={"vtlp": [1.0, 1.0]})
    on = params.stt.ctc.model_copy(update={"vtlp": [0.9, 1.1]})
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    perturb(feats, off, a)
    perturb(feats, on, b)
    assert a.random() != b.random()
