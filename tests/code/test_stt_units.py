"""STT building blocks without training: tokenizer ids, VAD windows, segmentation, export mapping."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from callbot.contracts import Gate, GateExclusion, write_gate
from callbot.stt.infer import SAMPLE_RATE, merge_overlap, plan_windows
from callbot.stt.model import ModelSourceError, TinyWhisperShape, build_tiny_whisper, resolve_base_model
from callbot.stt.segment import SegmentRules, phrase_word_bounds, segment_utterance, split_phrases

KOREAN = [
    "안녕하세요",
    "저는 대학에서 컴퓨터 공학을 전공했습니다.",
    "네, 1339에 전화하세요!",
    "Hello 세계 ABC 123.45 %",
    "  여러  공백\n줄바꿈\t탭",
    "질병관리청 콜센터입니다. 무엇을 도와드릴까요?",
    "(70%)/(칠십 퍼센트) 어/ 음/ 그러니까+",
    "ㄱㄴㄷ ㅏㅑㅓ 한글 자모",
    "emoji 😀 그리고 漢字 섞임",
    "초과근무 수당은 월 30만 원입니다",
    "",
    " ",
    "'s 't 're I'm you'll 그건 아니에요",
]


def tone(seconds: float, freq: float = 220.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (level * np.sin(2 * np.pi * freq * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)


@pytest.fixture(scope="module")
def tokenizer():
    from callbot.stt.tokenizer import load_tokenizer

    return load_tokenizer()


def test_tokenizer_ids_equal_openai_whisper(tokenizer) -> None:
    import random

    from whisper.tokenizer import get_tokenizer

    reference = get_tokenizer(multilingual=True, language="ko", task="transcribe")
    rng = random.Random(0)
    syllables = [chr(c) for c in range(0xAC00, 0xD7A4, 37)]
    generated = [
        "".join(rng.choice([*syllables, " ", ".", "1", "a"]) for _ in range(rng.randint(1, 40)))
        for _ in range(200)
    ]
    for text in [*KOREAN, *generated]:
        assert tokenizer(text, add_special_tokens=False).input_ids == reference.encode(text), text


def test_tokenizer_special_ids_and_prefix(tokenizer) -> None:
    from whisper.tokenizer import get_tokenizer

    reference = get_tokenizer(multilingual=True, language="ko", task="transcribe")
    ids = tokenizer("안녕").input_ids
    assert tuple(ids[:4]) == reference.sot_sequence_including_notimestamps
    assert ids[-1] == reference.eot
    assert tokenizer.convert_tokens_to_ids("<|0.00|>") == reference.timestamp_begin
    assert len(tokenizer) == reference.encoding.n_vocab
    assert tokenizer.decode(ids, skip_special_tokens=True) == "안녕"


def test_plan_windows_fit_and_cut_in_pauses() -> None:
    audio = np.concatenate(
        [silence(0.7), tone(2.5), silence(0.4), tone(2.8), silence(0.4), tone(1.5), silence(1.0)]
    )
    windows = plan_windows(audio, window_s=4.0, overlap_s=1.0)
    assert all(w.end - w.start <= 4.0 * SAMPLE_RATE for w in windows)
    assert not any(w.overlaps_next for w in windows)  # every seam found a pause
    seams = [w.end / SAMPLE_RATE for w in windows[:-1]]
    assert all(abs(s - 3.4) < 0.25 or abs(s - 6.6) < 0.25 for s in seams), seams
    assert windows[0].start / SAMPLE_RATE == pytest.approx(0.6, abs=0.03)  # leading silence trimmed
    assert windows[-1].end / SAMPLE_RATE == pytest.approx(8.4, abs=0.05)  # speech ends at 8.3 s + margin


def test_plan_windows_overlap_where_speech_runs_on() -> None:
    audio = tone(10.0)
    windows = plan_windows(audio, window_s=4.0, overlap_s=1.0)
    assert [w.overlaps_next for w in windows] == [True, True, False]  # 0-4, 3-7, 6-10
    for a, b in itertools.pairwise(windows):
        assert a.end - b.start == 1.0 * SAMPLE_RATE
    assert windows[0].start == 0 and windows[-1].end == len(audio)


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("가 나 다 라", "다 라 마 바", "가 나 다 라 마 바"),
        ("가 나 다", "나 다 라", "가 나 다 라"),
        ("가 나", "다 라", "가 나 다 라"),  # nothing shared: nothing dropped
        ("가 나 다 라 마", "라 마", "가 나 다 라 마"),
        ("", "가 나", "가 나"),
    ],
)
def test_merge_overlap_keeps_shared_words_once(left: str, right: str, joined: str) -> None:
    assert merge_overlap(left.split(), right.split()) == joined.split()


def test_phrases_map_onto_normalised_words() -> None:
    raw = "저는 3년 일했습니다. 그리고, 이직했어요!"
    assert split_phrases(raw) == ["저는 3년 일했습니다.", "그리고,", "이직했어요!"]
    words = ["저는", "삼", "년", "일했습니다", "그리고", "이직했어요"]
    assert phrase_word_bounds(split_phrases(raw), words) == [4, 5, 6]


RULES = SegmentRules(SAMPLE_RATE, window_s=4.0, min_pause_s=0.1, silence_db=35.0, duration_tolerance=1.8)


def test_segments_follow_pauses_and_split_text() -> None:
    # three phrases of 9, 6 and 9 letters spoken at a constant rate, a pause after each
    audio = np.concatenate(
        [silence(0.3), tone(2.7), silence(0.3), tone(1.8), silence(0.3), tone(2.7), silence(0.3)]
    )
    text_raw = "가나다 라마바 사아자. 차카타 파하가. 나다라 마바사 아자차."
    words = "가나다 라마바 사아자 차카타 파하가 나다라 마바사 아자차"
    segments, quarantined = segment_utterance("u1", audio, words, text_raw, RULES)
    assert not quarantined
    assert [s.text for s in segments] == ["가나다 라마바 사아자", "차카타 파하가", "나다라 마바사 아자차"]
    assert all(s.end - s.start <= 4.0 * SAMPLE_RATE for s in segments)
    assert segments[1].start / SAMPLE_RATE == pytest.approx(3.3, abs=0.15)


def test_segment_quarantines_with_a_reason() -> None:
    audio = np.concatenate([tone(3.0), silence(0.3), tone(3.0)])
    _, too_few = segment_utterance("u2", audio, "가 나 다", "가. 나. 다.", RULES)
    assert [q.reason for q in too_few] == ["too_few_pauses"]
    # one pause at the middle, but the text puts 1 letter before it and 20 after
    _, mismatch = segment_utterance("u3", audio, "가 " + "나" * 20, "가. " + "나" * 20 + ".", RULES)
    assert [q.reason for q in mismatch] == ["rate_mismatch"]
    short, none = segment_utterance("u4", tone(2.0), "짧은 말", "짧은 말.", RULES)
    assert len(short) == 1 and not none


def test_model_source_rules(tmp_path: Path) -> None:
    shape = TinyWhisperShape()
    with pytest.raises(ModelSourceError, match="allow_hub is false"):
        resolve_base_model("openai/whisper-small", allow_hub=False, shape=shape, build_dir=tmp_path, seed=0)
    with pytest.raises(ModelSourceError, match="build:tiny"):
        resolve_base_model("build:huge", allow_hub=False, shape=shape, build_dir=tmp_path, seed=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelSourceError, match=r"config\.json"):
        resolve_base_model(str(tmp_path / "empty"), allow_hub=False, shape=shape, build_dir=tmp_path, seed=0)
    assert resolve_base_model("openai/whisper-small", allow_hub=True, shape=shape, build_dir=tmp_path, seed=0)


def test_collator_masks_padding_and_drops_start_token() -> None:
    from callbot.stt.train import SpeechCollator

    batch = SpeechCollator(decoder_start_token_id=9)(
        [
            {"input_features": np.zeros((2, 4), np.float32), "labels": [9, 1, 2, 3]},
            {"input_features": np.ones((2, 4), np.float32), "labels": [9, 5]},
        ]
    )
    assert batch["labels"].tolist() == [[1, 2, 3], [5, -100, -100]]
    assert tuple(batch["input_features"].shape) == (2, 2, 4)


def test_export_maps_every_weight_and_loads_in_openai_whisper(tmp_path: Path) -> None:
    import torch
    import whisper
    from transformers import WhisperForConditionalGeneration

    from callbot.stt.export import to_openai_checkpoint

    shape = TinyWhisperShape(
        d_model=32, encoder_layers=1, decoder_layers=1, heads=2, ffn_dim=128, window_s=2.0
    )
    model_dir = build_tiny_whisper(tmp_path / "model", shape, seed=1)
    checkpoint = to_openai_checkpoint(model_dir, tmp_path / "whisper.pt")
    loaded = whisper.load_model(str(checkpoint), device="cpu")
    hf = WhisperForConditionalGeneration.from_pretrained(str(model_dir))
    assert loaded.dims.n_audio_ctx == 100 and loaded.dims.n_text_state == 32
    assert torch.equal(loaded.decoder.token_embedding.weight, hf.model.decoder.embed_tokens.weight)
    assert torch.equal(loaded.encoder.blocks[0].mlp[2].weight, hf.model.encoder.layers[0].fc2.weight)
    assert torch.isfinite(loaded.decoder.positional_embedding).all()


def test_export_refuses_a_shape_openai_whisper_cannot_hold(tmp_path: Path) -> None:
    from callbot.stt.export import to_openai_checkpoint

    shape = TinyWhisperShape(
        d_model=32, encoder_layers=1, decoder_layers=1, heads=2, ffn_dim=64, window_s=2.0
    )
    model_dir = build_tiny_whisper(tmp_path / "model", shape, seed=1)
    with pytest.raises(ValueError, match="4 x d_model"):
        to_openai_checkpoint(model_dir, tmp_path / "whisper.pt")
    assert not (tmp_path / "whisper.pt").exists()


def _prepared_with_two_rows(root: Path) -> Path:
    import soundfile as sf
    from datasets import Audio, Dataset, DatasetDict

    rows = []
    for i in range(2):
        path = root / f"u{i}.wav"
        sf.write(path, tone(0.5), SAMPLE_RATE, subtype="PCM_16")
        rows.append(
            {
                "utterance_id": f"u{i}",
                "audio": {"path": str(path), "bytes": None},
                "text": "가",
                "text_raw": "가.",
                "duration_s": 0.5,
                "role": "answer",
                "occupation": "BM",
                "gender": "MALE",
                "age_range": "-34",
                "experience": "NEW",
            }
        )
    split = Dataset.from_list(rows).cast_column("audio", Audio(decode=False))
    DatasetDict(train=split, validation=split, test=split).save_to_disk(str(root / "stt"))
    return root


def test_load_split_honours_the_validation_gate(tmp_path: Path) -> None:

    from callbot.stt.data import load_split, read_audio

    prepared = _prepared_with_two_rows(tmp_path)
    rows, excluded = load_split(prepared, "train")
    assert [r.utterance_id for r in rows] == ["u0", "u1"] and excluded == 0
    excluded = [GateExclusion(utterance_id="u1", interview_id="i1", expectations=["x"])]
    write_gate(prepared / "gate.json", Gate(passed=True, reasons=[], excluded=excluded, summary="s.json"))
    rows, excluded = load_split(prepared, "train")
    assert [r.utterance_id for r in rows] == ["u0"] and excluded == 1
    audio = read_audio(rows[0].audio_path, rows[0].audio_bytes)
    assert audio.dtype == np.float32 and len(audio) == SAMPLE_RATE // 2


def test_load_split_refuses_a_failed_gate_unless_overridden(tmp_path: Path) -> None:

    from callbot.stt.data import STTDataError, load_split

    prepared = _prepared_with_two_rows(tmp_path)
    excluded = [GateExclusion(utterance_id="u1", interview_id="i1", expectations=["x"])]
    gate = Gate(passed=False, reasons=["audio.not_silent failed"], excluded=excluded, summary="s.json")
    write_gate(prepared / "gate.json", gate)
    with pytest.raises(STTDataError, match=r"gate FAILED \(audio.not_silent failed\).*stt.allow_failed_gate"):
        load_split(prepared, "train")
    rows, excluded = load_split(prepared, "train", allow_failed_gate=True)
    assert [r.utterance_id for r in rows] == ["u0"] and excluded == 1


def test_cli_evaluate_without_a_model_says_what_to_run(tmp_path: Path, repo: Path) -> None:
    from typer.testing import CliRunner

    from callbot.cli import app

    prepared = _prepared_with_two_rows(tmp_path)
    args = ["--params", str(repo / "params.yaml"), "evaluate-stt", "--prepared", str(prepared)]
    result = CliRunner().invoke(
        app, [*args, "--out", str(tmp_path / "none"), "--report", str(tmp_path / "r")]
    )
    assert result.exit_code == 1
    assert "callbot train-stt" in result.output and str(tmp_path / "none") in result.output


def test_spread_covers_the_split_evenly() -> None:
    from callbot.subset import spread

    assert spread(10, 0) == list(range(10)) == spread(10, 10) == spread(10, 50)
    assert spread(600, 4) == [0, 150, 300, 450]
    picked = spread(7, 3)
    assert len(set(picked)) == 3 and picked[0] == 0 and max(picked) < 7
