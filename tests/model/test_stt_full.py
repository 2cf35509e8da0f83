"""The full profile's STT path on real weights: pretrained whisper-base, full-vocabulary loss, no CTC
head, LoRA, then ``generate(language='ko')`` through the project's transcriber.

The smoke profile trains a tiny Whisper from scratch; this is the only place the full profile's
settings (params.yaml ``profiles.full.stt``) run end to end. Only the base (the hub id there becomes
``package:whisper-base``) and the step budget are changed, so the run takes well under a minute.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.model.test_stt import PHRASES, speak, write_prepared

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def full_stt(repo: Path):
    from callbot.config import load_params

    stt = load_params(repo / "params.yaml", "full").stt
    return stt.model_validate(
        {
            **stt.model_dump(),
            "base_model": "package:whisper-base",
            "allow_hub": False,
            "threads": 2,
            "batch_size": 2,
            "grad_accum": 1,
            "max_steps": 2,
            "warmup_steps": 0,
            "save_steps": 1000,
            "logging_steps": 1,
            "export_bench_clips": 1,
        }
    )


def test_full_profile_trains_lora_on_whisper_base_and_transcribes_korean(
    full_stt, whisper_base: Path, package_bases: Path, tmp_path: Path
) -> None:
    import json

    import torch
    from safetensors.torch import load_file

    from callbot.stt.infer import load_transcriber
    from callbot.stt.train import train_stt
    from callbot.text.metrics import cer

    assert (full_stt.method, full_stt.loss_vocab, full_stt.ctc_weight, full_stt.window_s) == (
        "lora",
        "full",
        0.0,
        30.0,
    )
    prepared = write_prepared(tmp_path / "prepared", PHRASES[2:])
    result = train_stt(full_stt, prepared, tmp_path / "models", tmp_path / "reports", export=False)
    assert result.global_step == 2
    assert torch.isfinite(torch.tensor(result.train_loss))
    train = json.loads((tmp_path / "models" / "train.json").read_text())
    assert train["base_model"] == str(whisper_base) and train["method"] == "lora"

    # LoRA was merged into the targets it names and nowhere else; no CTC head was kept
    base = load_file(str(whisper_base / "model.safetensors"))
    tuned = load_file(str(result.model_dir / "model.safetensors"))
    assert set(tuned) == set(base)
    q = "model.decoder.layers.0.self_attn.q_proj.weight"
    k = "model.decoder.layers.0.self_attn.k_proj.weight"
    assert not torch.equal(base[q], tuned[q]) and torch.equal(base[k], tuned[k])
    assert not (result.model_dir / "ctc_head.safetensors").exists()

    transcriber = load_transcriber(tmp_path / "models", backend="hf")
    assert transcriber.ctc is None and transcriber.window_s == 30.0
    assert transcriber.model.generation_config.language == "ko"  # generate(language='ko') by default
    text = transcriber.transcribe(speak(PHRASES[2])).text
    print(f"whisper-base after 2 LoRA steps heard {PHRASES[2]!r} as {text!r}")
    assert cer(PHRASES[2], text, spaces=False) <= 0.5  # it reads this one almost right zero-shot

    # evaluate-stt's zero-shot reference (stt.reference_model) on the same utterances
    from callbot.stt.evaluate import reference_report

    audios = [speak(p) for p in PHRASES[2:]]
    refs = [p.rstrip(".?") for p in PHRASES[2:]]
    reference = reference_report(
        full_stt.model_copy(update={"reference_max_utterances": 1}),
        audios,
        refs,
        [text, "x"],
        {},
        [False, True],
    )
    assert reference["unseen"]["utterances"] == 1  # both models on the unseen sentences alone, side by side
    assert reference["unseen"]["zero_shot_cer"] == reference["zero_shot"]["cer"]
    assert reference["unseen"]["fine_tuned_cer"] == reference["fine_tuned_same_utterances"]["cer"]
    assert reference["model"] == "package:whisper-base" and reference["utterances"] == 1
    assert reference["fine_tuned_same_utterances"]["cer"] == pytest.approx(
        cer(refs[:1], [text], spaces=False), abs=1e-4
    )
    assert 0.0 <= reference["zero_shot"]["cer"] <= 0.5, reference
